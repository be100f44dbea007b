"""Credit default swap kernel of the ISDA CDS Standard Model (conventions in
:mod:`xiphpc.market.curves.isda`).

Arguments come in groups as in :mod:`xiphpc.pricing.kernels.credit`: packed yield curves,
packed hazard curves, the trades' terms (:class:`IsdaTerms`), the premium periods
(:class:`IsdaPeriods`, CSR), the moves and the outputs (:class:`IsdaOutputs`).

Between two consecutive dates of the union of the discount curve's pillars, the hazard curve's
pillars and the period dates, the hazard rate ``h`` and the forward rate ``f`` are taken flat
(exactly so for piecewise-flat hazards and log-linear discount factors), and the integrals of
the protection leg and of the premium accrued at default are computed exactly there: with
``F = f dt + h dt`` and ``H = h dt`` the log drops of discount factor and survival over
``[t0, t1]``,

- protection: ``int P Q h dt = H / F (P0 Q0 - P1 Q1)``;
- accrual on default: ``int (t - ts) P Q h dt = H / F ((t1 - t0) ((P0 Q0 - P1 Q1) / F -
  P1 Q1) + (t0 - ts) (P0 Q0 - P1 Q1))``, ``ts`` the accrual start (the day before it, as
  every date here is observed at the start of the next day);

for ``|F| < 1e-4`` both are replaced by their Taylor series in ``F`` (to ``F^4`` and ``F^3``:
the truncation is below ``1e-16`` of the term), which avoids dividing one rounding error by a
small ``F`` (QuantLib's ``IsdaCdsEngine`` tests ``F < 1e-4``, so that with rates below minus
the hazard rate it takes the series far from zero; the test here is on ``|F|``). One sweep
over the intervals gives both legs: the protection leg up to the maturity, and each period's
default accrual from the step-in date (periods are contiguous: each starts the day after the
last one's last protected day). Per unit notional, protection buyer's side for ``sign = +1``:
``values[i, j, s] = sign ((1 - R) protection - spread annuity)``, the *dirty* value (every
premium of a period counted whole, accrued premium included), protection from the step-in
date. ``annuity`` is the clean risky annuity (premium leg per unit spread less the accrued
premium paid back at cash settlement), ``par_spread`` the spread of zero upfront
(protection over the clean annuity), and ``settlement_df`` the discount factor to the cash
settlement, all of move 0 in state 0.

The moves (:mod:`xiphpc.pricing.kernels.rates`) shorten every period time by ``vh[j]``
with the step-in date one day after the (moved) valuation date: one day on, a premium paid
on the step-in date has gone.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from . import vmath
from ._targets import serial_and_parallel
from .credit import log_survival, survival_weights
from .rates import READS_ARRAYS, curve_weights, log_df, move_weights

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")
_DAY = 1.0 / 365.0
#: Below this ``|F|`` the integrals use their Taylor series (the ISDA model's threshold).
_TAYLOR = 1e-4


class IsdaTerms(NamedTuple):
    """Per CDS, shape ``(n,)``: discount and hazard curve (int64 indices into the packed
    curves), ``recovery`` rate, contractual ``spread`` (decimal per year), ``sign`` (+1
    protection buyer, -1 seller), ``maturity`` (end of protection, years) and ``accrued``
    (ACT/360 fraction accrued at the step-in date)."""

    disc: np.ndarray
    credit: np.ndarray
    recovery: np.ndarray
    spread: np.ndarray
    sign: np.ndarray
    maturity: np.ndarray
    accrued: np.ndarray


class IsdaPeriods(NamedTuple):
    """Premium periods, CSR: ``offsets`` shape ``(n + 1,)``; ``start`` (accrual start),
    ``end`` (last protected day), ``pay`` (years) and ``accrual`` (ACT/360) shape ``(m,)``;
    ``step_in`` and ``settlement`` times (float), as
    :class:`~xiphpc.market.curves.isda.IsdaPeriods`."""

    offsets: np.ndarray
    start: np.ndarray
    end: np.ndarray
    pay: np.ndarray
    accrual: np.ndarray
    step_in: float
    settlement: float

    @classmethod
    def of(cls, p) -> IsdaPeriods:
        """The arrays of a :class:`~xiphpc.market.curves.isda.IsdaPeriods`."""
        return cls(p.offsets, p.start, p.end, p.pay, p.accrual, p.step_in, p.settlement)


class IsdaOutputs(NamedTuple):
    """``values`` (``(n, J, V)``), and the ``par_spread``, clean risky ``annuity`` and
    ``settlement_df`` of move 0 in state 0 (``(n,)``); allocated by
    :func:`~xiphpc.pricing.kernels.rates.allocate_outputs`."""

    values: np.ndarray
    par_spread: np.ndarray
    annuity: np.ndarray
    settlement_df: np.ndarray


@nb.njit(**_INLINE)
def interval_integrals(lp0, lq0, pq0, lp1, lq1, pq1, t0, t1, ts):
    """``int P Q h dt`` and ``int (t - ts) P Q h dt`` over ``[t0, t1]`` of flat ``f`` and
    ``h``, from the log discount factors ``lp``, log survivals ``lq`` and ``pq = P Q`` at
    its ends."""
    big_h = lq0 - lq1
    big_f = (lp0 - lp1) + big_h
    dt = t1 - t0
    if abs(big_f) < _TAYLOR:
        f2 = big_f * big_f
        e1 = 1.0 - big_f / 2.0 + f2 / 6.0 - f2 * big_f / 24.0
        prot = pq0 * big_h * (e1 + f2 * f2 / 120.0)
        e2 = 0.5 - big_f / 3.0 + f2 / 8.0 - f2 * big_f / 30.0
        return prot, big_h * pq0 * ((t0 - ts) * e1 + dt * e2)
    drop = pq0 - pq1
    ratio = big_h / big_f
    return ratio * drop, ratio * (dt * (drop / big_f - pq1) + (t0 - ts) * drop)


@nb.njit(**READS_ARRAYS)
def next_node(ct, c_lo, c_hi, ht, h_lo, h_hi, t, stop):
    """The first pillar of ``ct[c_lo:c_hi]`` or ``ht[h_lo:h_hi]`` after ``t``, or ``stop``
    when none comes before it."""
    out = stop
    for k in range(c_lo, c_hi):
        if ct[k] > t:
            if ct[k] < out:
                out = ct[k]
            break
    for k in range(h_lo, h_hi):
        if ht[k] > t:
            if ht[k] < out:
                out = ht[k]
            break
    return out


@nb.njit(**READS_ARRAYS)
def logs_at(ct, cz, ck, co, dc, ht, hh, hc, ho, c, t, b, lp, lq):
    """Log discount factor (zero rates shifted by ``b``) and log survival at time ``t`` in
    every state, into ``lp`` and ``lq`` (shape ``(states,)``)."""
    i1, i2, w1, w2 = curve_weights(ct, ck, co, dc, t)
    e = -b * t if t > 0.0 else 0.0
    p0, q0, t0 = survival_weights(ht, ho, c, t)
    for s in range(lp.shape[0]):
        lp[s] = log_df(cz, i1, i2, w1, w2, e, s)
        lq[s] = log_survival(hh, hc, p0, q0, t0, s)


def _isda_loop(curves, hazards, terms, periods, mv, out):
    # curves: YieldCurves; hazards: HazardCurves; terms: IsdaTerms; periods: IsdaPeriods;
    # mv: Moves; out: IsdaOutputs.
    ct, cz, ck, co = curves
    ht, hh, hc, ho = hazards
    disc, credit, recovery, spread, sign, maturity, accrued = terms
    off, start, end, pay, acc, step_in, settlement = periods
    vh, vb = mv
    values = out.values
    par_spread = out.par_spread
    annuity = out.annuity
    settlement_df = out.settlement_df
    n_s = cz.shape[1]
    # Dates are whole days: half a day decides "on or before" against rounding.
    half = 0.5 * _DAY
    for i in nb.prange(disc.shape[0]):
        prot = np.empty(n_s)
        ann = np.empty(n_s)
        aod = np.empty(n_s)
        lp0 = np.empty(n_s)
        lq0 = np.empty(n_s)
        pq0 = np.empty(n_s)
        lp1 = np.empty(n_s)
        lq1 = np.empty(n_s)
        c = credit[i]
        dc = disc[i]
        c_lo, c_hi = co[dc], co[dc + 1]
        h_lo, h_hi = ho[c], ho[c + 1]
        first, last = off[i], off[i + 1]
        for j in range(vh.shape[0]):
            h = vh[j]
            b = vb[j]
            for s in range(n_s):
                prot[s] = 0.0
                ann[s] = 0.0
                aod[s] = 0.0
            # Premiums, paid if the name survives the period's last protected day.
            for k in range(first, last):
                if pay[k] - h > step_in + half:
                    d1, d2, dw1, dw2, de = move_weights(ct, ck, co, dc, pay[k], h, b)
                    p0, q0, u0 = survival_weights(ht, ho, c, end[k] - h)
                    for s in range(n_s):
                        ann[s] += acc[k] * vmath.exp(
                            log_df(cz, d1, d2, dw1, dw2, de, s)
                            + log_survival(hh, hc, p0, q0, u0, s)
                        )
            # One sweep from the start of the step-in date over the pillars of both curves,
            # the maturity and the period ends: protection up to the maturity, and the
            # premium accrued at default in each period still accruing on the step-in date
            # (periods are contiguous: each starts the day after the last one's end).
            k = first
            while k < last and end[k] - h + _DAY <= step_in + half:
                k += 1
            t_mat = maturity[i] - h
            t0 = step_in - _DAY
            t_stop = t_mat
            if k < last and end[last - 1] - h > t_stop:
                t_stop = end[last - 1] - h
            if t_stop > t0 + half:
                logs_at(ct, cz, ck, co, dc, ht, hh, hc, ho, c, t0, b, lp0, lq0)
                for s in range(n_s):
                    pq0[s] = vmath.exp(lp0[s] + lq0[s])
            # Boundaries are reached exactly: next_node returns the bound it is given.
            while t0 < t_stop:
                bound = t_stop
                if t0 < t_mat:
                    bound = t_mat
                if k < last and end[k] - h < bound:
                    bound = end[k] - h
                t1 = next_node(ct, c_lo, c_hi, ht, h_lo, h_hi, t0, bound)
                logs_at(ct, cz, ck, co, dc, ht, hh, hc, ho, c, t1, b, lp1, lq1)
                in_prot = t1 <= t_mat
                ts = start[k] - h - _DAY if k < last else 0.0
                for s in range(n_s):
                    pq1 = vmath.exp(lp1[s] + lq1[s])
                    dp, da = interval_integrals(
                        lp0[s], lq0[s], pq0[s], lp1[s], lq1[s], pq1, t0, t1, ts
                    )
                    if in_prot:
                        prot[s] += dp
                    if k < last:
                        aod[s] += da
                    lp0[s] = lp1[s]
                    lq0[s] = lq1[s]
                    pq0[s] = pq1
                t0 = t1
                if k < last and t1 >= end[k] - h:
                    for s in range(n_s):
                        ann[s] += aod[s] * (365.0 / 360.0)
                        aod[s] = 0.0
                    k += 1
            lgd = 1.0 - recovery[i]
            for s in range(n_s):
                values[i, j, s] = sign[i] * (lgd * prot[s] - spread[i] * ann[s])
            if j == 0:
                i1, i2, w1, w2 = curve_weights(ct, ck, co, dc, settlement)
                df = vmath.exp(log_df(cz, i1, i2, w1, w2, 0.0, 0))
                clean = ann[0] - accrued[i] * df
                annuity[i] = clean
                par_spread[i] = lgd * prot[0] / clean
                settlement_df[i] = df


isda_serial, isda_parallel = serial_and_parallel(_isda_loop)
