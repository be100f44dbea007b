"""Credit default swap kernel: premium leg with accrual on default, protection leg, PV and
par spread, on piecewise-flat hazard curves (conventions in :mod:`xiphpc.market.curves.credit`).

The kernel takes its arrays in groups as :mod:`xiphpc.pricing.kernels.rates` does. Hazard
curves come packed (:class:`~xiphpc.market.curve_states.HazardCurves`): ``ht`` pillar times,
``ho`` offsets per curve, and per curve state ``hh`` hazard rates and ``hc`` integrated hazard
at each pillar, both shape ``(pillars, states)``; trade ``i`` (:class:`CdsTerms`) uses hazard
curve ``credit[i]`` and discount curve ``disc[i]`` of the packed yield curves, whose zero rates
``cz`` have the same states. Premium periods are CSR (:class:`PremiumPeriods`).

Per unit notional, from the protection buyer's side when ``sign = +1`` (seller ``-1``), the
value under each move ``(vh[j], vb[j])`` in each state ``s`` into ``values[i, j, s]``, as in
:mod:`xiphpc.pricing.kernels.rates`; the parallel shift ``vb`` moves zero rates only. The log
survival probability is linear in the state's hazards (:func:`survival_weights`), so every
state is valued in a vectorized inner loop. ``par_spread`` and ``annuity`` (risky annuity,
accrual on default included) are those of move 0 in state 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from . import vmath
from ._targets import serial_and_parallel
from .rates import READS_ARRAYS, log_df, move_weights


class CdsTerms(NamedTuple):
    """Per CDS, shape ``(n,)``: discount curve and hazard curve (int64 indices into the
    packed curves), ``recovery`` rate, contractual ``spread`` (decimal per year) and
    ``sign`` (+1 protection buyer, -1 seller)."""

    disc: np.ndarray
    credit: np.ndarray
    recovery: np.ndarray
    spread: np.ndarray
    sign: np.ndarray


class PremiumPeriods(NamedTuple):
    """Premium periods, CSR: ``offsets`` shape ``(n + 1,)``; ``start``, ``end``, ``pay`` and
    ``mid`` (default) times in years and the ``accrual`` and ``accrual_mid`` fractions, shape
    ``(m,)``, as :class:`~xiphpc.market.curves.credit.CdsPeriods`."""

    offsets: np.ndarray
    start: np.ndarray
    end: np.ndarray
    pay: np.ndarray
    mid: np.ndarray
    accrual: np.ndarray
    accrual_mid: np.ndarray

    @classmethod
    def of(cls, periods) -> PremiumPeriods:
        """The arrays of a :class:`~xiphpc.market.curves.credit.CdsPeriods`."""
        p = periods
        return cls(p.offsets, p.start, p.end, p.pay, p.mid, p.accrual, p.accrual_mid)


class CdsOutputs(NamedTuple):
    """``values`` (``(n, J, V)``), and the ``par_spread`` and risky ``annuity`` of move 0 in
    state 0 (``(n,)``); allocated by :func:`~xiphpc.pricing.kernels.rates.allocate_outputs`."""

    values: np.ndarray
    par_spread: np.ndarray
    annuity: np.ndarray


@nb.njit(**READS_ARRAYS)
def survival_weights(ht, ho, c, t):
    """Pillars and time of packed hazard curve ``c`` at ``t``: ``log S(t) = -(hc[jp] [if
    jp >= 0] + hh[j] * dt)`` in any state; ``j = -1`` for ``t <= 0`` (``S = 1``)."""
    if t <= 0.0:
        return -1, -1, 0.0
    a = ho[c]
    last = ho[c + 1] - 1
    j = a
    while j < last and ht[j] < t:
        j += 1
    if j > a:
        return j - 1, j, t - ht[j - 1]
    return -1, j, t


@nb.njit(**READS_ARRAYS)
def log_survival(hh, hc, jp, j, dt, s):
    """Log survival probability in state ``s`` from :func:`survival_weights`."""
    if j < 0:
        return 0.0
    prior = hc[jp, s] if jp >= 0 else 0.0
    return -(prior + hh[j, s] * dt)


def _cds_loop(curves, hazards, terms, periods, mv, out):
    # curves: YieldCurves; hazards: HazardCurves; terms: CdsTerms; periods: PremiumPeriods;
    # mv: Moves; out: CdsOutputs.
    ct, cz, ck, co = curves
    ht, hh, hc, ho = hazards
    disc, credit, recovery, spread, sign = terms
    off, start, end, pay, mid, acc, acc_mid = periods
    vh, vb = mv
    values = out.values
    par_spread = out.par_spread
    annuity = out.annuity
    n_s = cz.shape[1]
    for i in nb.prange(disc.shape[0]):
        prot = np.empty(n_s)
        ann = np.empty(n_s)
        c = credit[i]
        lgd = 1.0 - recovery[i]
        for j in range(vh.shape[0]):
            h = vh[j]
            b = vb[j]
            for s in range(n_s):
                prot[s] = 0.0
                ann[s] = 0.0
            for k in range(off[i], off[i + 1]):
                p0, q0, t0 = survival_weights(ht, ho, c, start[k] - h)
                p1, q1, t1 = survival_weights(ht, ho, c, end[k] - h)
                p2, q2, t2 = survival_weights(ht, ho, c, pay[k] - h)
                m1, m2, mw1, mw2, me = move_weights(ct, ck, co, disc[i], mid[k], h, b)
                d1, d2, dw1, dw2, de = move_weights(ct, ck, co, disc[i], pay[k], h, b)
                a_k = acc[k]
                a_mid = acc_mid[k]
                for s in range(n_s):
                    default = vmath.exp(log_survival(hh, hc, p0, q0, t0, s)) - vmath.exp(
                        log_survival(hh, hc, p1, q1, t1, s)
                    )
                    d_mid = vmath.exp(log_df(cz, m1, m2, mw1, mw2, me, s))
                    prot[s] += lgd * default * d_mid
                    ann[s] += a_k * vmath.exp(
                        log_survival(hh, hc, p2, q2, t2, s) + log_df(cz, d1, d2, dw1, dw2, de, s)
                    )
                    ann[s] += a_mid * default * d_mid
            for s in range(n_s):
                values[i, j, s] = sign[i] * (prot[s] - spread[i] * ann[s])
            if j == 0:
                par_spread[i] = prot[0] / ann[0]
                annuity[i] = ann[0]


cds_serial, cds_parallel = serial_and_parallel(_cds_loop)
