"""Interest-rate kernels: curve lookup, swaps, FRAs, cash-flow streams, bond yields,
caps/floors and European swaptions (Black and Bachelier).

Kernels take their arrays in groups, one tuple per meaning: the curves, the trades' terms,
the schedules, the moves and the outputs (the named tuples below; an input may be any tuple
of the same fields in the same order, outputs are written by field name). Curves come packed
(:class:`~xiphpc.market.curve_states.YieldCurves`, from
:meth:`~xiphpc.market.curve_states.CurveStates.yield_curves`): ``ct`` pillar times (years),
``ck`` interpolation code per curve (0 linear on zero rates, flat outside; 1 log-linear on
discount factors from the node ``(0, 1)``, flat forward after the last pillar), ``co`` pillar
offsets per curve, and ``cz`` the continuous zero rates at the pillars in every curve *state*,
shape ``(pillars, states)``: today's curves, or today's under each scenario or each bucketed
bump (:class:`xiphpc.market.curve_states.CurveStates`). Each trade names its discount curve
``disc[i]`` and projection curve ``proj[i]`` by index.

Under both interpolations the log discount factor to a time is linear in the zero rates of
at most two pillars, with weights that depend on the time alone
(:func:`curve_weights`). The kernels find those weights once per cash flow and then value
every state in an inner loop over contiguous memory, which vectorizes
(:func:`xiphpc.pricing.kernels.vmath.exp`).

Ragged schedules are CSR (:class:`FixedPeriods`, :class:`FloatPeriods`, :class:`IndexPeriods`,
:class:`Cashflows`):
period ``k`` of trade ``i`` lies in ``offsets[i]:offsets[i + 1]``. All times are years ACT/365F
from the valuation date; accrual fractions come precomputed in each period's own day count.

Every pricing kernel values each trade, per unit notional (per 1 of face for cash-flow
streams), under *moves* ``j`` and states ``s`` into ``values[i, j, s]`` (the first field of
its outputs, :func:`allocate_outputs`): move ``j`` (:class:`Moves`) is a horizon ``vh[j]`` in
years (every time shortens by it; curves and vols held fixed as
functions of time from today, a flow falling due within the horizon counted at its
undiscounted amount) and a parallel shift ``vb[j]`` added to the zero rates of every curve.
Today's measures use :data:`STANDARD_MOVES` (PV, +-1bp for rho, one day on for theta) on one
state; a scenario set uses one unshifted move on many states.

Option kernels read each trade's vol in each state, ``vol[i, s]`` (rate vol grids are factors
too). Quantities besides the values (annuity, par rate, forward, vega: dPV/dvol per 1.0 of
the quoted vol, lognormal or normal) are those of move 0 in state 0.
"""

from __future__ import annotations

import math
from typing import NamedTuple, TypeVar

import numba as nb
import numpy as np

from . import vmath
from ._targets import KERNEL_OPTIONS, serial_and_parallel

_BP = 1e-4
_DAY = 1.0 / 365.0
_INV_SQRT2 = 0.7071067811865475244
_INV_SQRT2PI = 0.3989422804014326779
_INLINE = dict(inline="always", fastmath=False, error_model="numpy")
# Helpers that take arrays. numba reference-counts every array a jitted function receives,
# on entry and exit, even once inlined: two atomic operations per array per call, the
# larger part of a swap's time when the helpers run per coupon and per move. These helpers
# (here and in the credit kernels) neither keep nor allocate arrays: the caller holds every
# array they read or write, so they are compiled without reference counting and left for
# LLVM to inline.
READS_ARRAYS = dict(fastmath=False, error_model="numpy", _nrt=False)


class Moves(NamedTuple):
    """Moves ``j`` under which the kernels value every trade, each shape ``(J,)``.

    Attributes
    ----------
    horizon : ndarray
        ``vh``: years every time shortens by (curves and vols held as functions of time).
    shift : ndarray
        ``vb``: parallel shift added to the zero rates of every curve.
    """

    horizon: np.ndarray
    shift: np.ndarray


#: Moves of today's measures: PV, +1bp, -1bp and one day on (see
#: :func:`measures_from_values`).
STANDARD_MOVES = Moves(
    np.array([0.0, 0.0, 0.0, _DAY]),
    np.array([0.0, _BP, -_BP, 0.0]),
)


def moves(standard: bool = False, pv_only: bool = False) -> Moves:
    """The standard four moves (the PV alone when ``pv_only``), or the single unshifted one
    under which curve states are valued."""
    if standard:
        m = 1 if pv_only else 4
        return Moves(STANDARD_MOVES.horizon[:m].copy(), STANDARD_MOVES.shift[:m].copy())
    return Moves(np.zeros(1), np.zeros(1))


class FixedPeriods(NamedTuple):
    """A fixed leg's periods, CSR: ``offsets`` shape ``(n + 1,)``; ``pay`` (payment time,
    years) and ``accrual`` (year fraction), shape ``(m,)``."""

    offsets: np.ndarray
    pay: np.ndarray
    accrual: np.ndarray

    @classmethod
    def of(cls, leg) -> FixedPeriods:
        """The arrays of a :class:`~xiphpc.market.curves.legs.FixedLeg`."""
        return cls(leg.offsets, leg.pay, leg.accrual)


class FloatPeriods(NamedTuple):
    """A floating leg's periods, CSR: ``offsets`` shape ``(n + 1,)``; ``start`` and ``end``
    of the forward (years), its year fraction ``tau`` in the index's day count, the
    ``accrual`` fraction and the ``pay`` time, shape ``(m,)``."""

    offsets: np.ndarray
    start: np.ndarray
    end: np.ndarray
    tau: np.ndarray
    accrual: np.ndarray
    pay: np.ndarray

    @classmethod
    def of(cls, leg) -> FloatPeriods:
        """The arrays of a :class:`~xiphpc.market.curves.legs.FloatLeg`."""
        return cls(leg.offsets, leg.start, leg.end, leg.tau, leg.accrual, leg.pay)


class IndexPeriods(NamedTuple):
    """A floating leg's coupons as products of growth factors, CSR.

    Coupon ``k`` of trade ``i`` (``offsets[i] <= k < offsets[i + 1]``, ``offsets`` shape
    ``(n + 1,)``) pays ``(rate + spread) * accrual[k]`` at ``pay[k]`` (years), with::

        rate = (known[k] * prod_q g_q - 1) / tau[k]
        g_q = 1 + ratio[q] * (P(start[q]) / P(end[q]) - 1)

    over its factors ``q`` in ``sub_offsets[k]:sub_offsets[k + 1]``, ``P`` the projection
    curve. A term (IBOR) coupon has one factor over its index period with ratio 1 and
    ``tau`` the index fraction: ``rate`` is then the forward ``(P(s) / P(e) - 1) / tau``. A
    compounded overnight coupon has ``tau`` its accrual fraction, ``known`` the product of
    its past daily factors ``1 + fixing * span`` and one factor per run of future days
    whose product telescopes (ratio 1: ``prod (1 + r_d d_d) = P(start) / P(end)``), or per
    single day whose accrual span ``w`` differs from its rate's index fraction ``delta``
    (ratio ``w / delta``). A coupon fixed in full has no factors.

    Attributes
    ----------
    offsets : ndarray of int64, shape ``(n + 1,)``
    known, tau, accrual, pay : ndarray of float64, shape ``(m,)``
    sub_offsets : ndarray of int64, shape ``(m + 1,)``
    sub_start, sub_end, sub_ratio : ndarray of float64, shape ``(q,)``
        Times (years) and ratio of every factor.
    """

    offsets: np.ndarray
    known: np.ndarray
    tau: np.ndarray
    accrual: np.ndarray
    pay: np.ndarray
    sub_offsets: np.ndarray
    sub_start: np.ndarray
    sub_end: np.ndarray
    sub_ratio: np.ndarray

    @classmethod
    def of(cls, leg) -> IndexPeriods:
        """Coupons of a :class:`~xiphpc.market.curves.legs.FloatLeg`: one forward each over
        ``leg.start`` to ``leg.end``, none known."""
        m = leg.tau.shape[0]
        return cls(
            leg.offsets,
            np.ones(m),
            leg.tau,
            leg.accrual,
            leg.pay,
            np.arange(m + 1, dtype=np.int64),
            leg.start,
            leg.end,
            np.ones(m),
        )


@nb.njit(**KERNEL_OPTIONS)
def place_factors(period, start, end, ratio, free, out_start, out_end, out_ratio):
    """Put factors into CSR order (:class:`IndexPeriods`): factor ``q`` of coupon
    ``period[q]`` goes to the coupon's next free slot ``free[period[q]]``, which then moves
    on. Called once per group of factors with ``free`` starting at the CSR offsets, it lays
    a coupon's factors out in the order of the groups, then of their place in each group
    (a stable sort by coupon of all factors).

    Parameters
    ----------
    period : ndarray of int64, shape ``(q,)``
    start, end, ratio : ndarray of float64, shape ``(q,)``
    free : ndarray of int64, shape ``(m,)``
        Next slot of every coupon, updated.
    out_start, out_end, out_ratio : ndarray of float64
        The CSR arrays, written at the slots.
    """
    for q in range(period.shape[0]):
        p = period[q]
        k = free[p]
        free[p] = k + 1
        out_start[k] = start[q]
        out_end[k] = end[q]
        out_ratio[k] = ratio[q]


class Cashflows(NamedTuple):
    """Known amounts, CSR: ``offsets`` shape ``(n + 1,)``; ``pay`` time (years) and
    ``amount`` per unit of face, shape ``(m,)``."""

    offsets: np.ndarray
    pay: np.ndarray
    amount: np.ndarray


class SwapTerms(NamedTuple):
    """Per swap, shape ``(n,)``: discount and projection curve (int64 indices into the packed
    curves), ``fixed_rate`` and float-leg ``spread`` (decimal per year), and ``sign`` (+1
    payer of fixed, -1 receiver)."""

    disc: np.ndarray
    proj: np.ndarray
    fixed_rate: np.ndarray
    spread: np.ndarray
    sign: np.ndarray


class FraTerms(NamedTuple):
    """Per FRA, shape ``(n,)``: discount and projection curve, contract rate ``strike``,
    ``sign`` (+1 payer); the forward's period ``start`` and ``end`` (years) and its year
    fraction ``tau`` in the index's day count; the ``known`` rate of a FRA fixed before the
    valuation date (NaN: projected); the settlement period's ``accrual`` fraction and the
    settlement (``pay``) time.

    The payer receives ``(F - K) a / (1 + F a)`` at ``pay``, ``a`` the accrual. A par FRA
    has the forward's period for its own (``accrual == tau``, ``pay == start``).
    """

    disc: np.ndarray
    proj: np.ndarray
    strike: np.ndarray
    sign: np.ndarray
    start: np.ndarray
    end: np.ndarray
    tau: np.ndarray
    known: np.ndarray
    accrual: np.ndarray
    pay: np.ndarray


class RateOptionTerms(NamedTuple):
    """Per cap/floor or swaption, shape ``(n,)`` but ``vol``: discount and projection curve,
    ``strike`` (decimal per year), ``omega`` (+1 cap or payer, -1 floor or receiver), the vol
    in each state ``vol`` (shape ``(n, V)``) and ``normal`` (int64: 1 Bachelier, 0 Black)."""

    disc: np.ndarray
    proj: np.ndarray
    strike: np.ndarray
    omega: np.ndarray
    vol: np.ndarray
    normal: np.ndarray


class SwapOutputs(NamedTuple):
    """``values`` (``(n, J, V)``), and the fixed-leg ``annuity`` and ``par_rate`` (``(n,)``)."""

    values: np.ndarray
    annuity: np.ndarray
    par_rate: np.ndarray


class CashflowOutputs(NamedTuple):
    """``values`` (``(n, J, V)``)."""

    values: np.ndarray


class FraOutputs(NamedTuple):
    """``values`` (``(n, J, V)``) and the projected ``forward`` (``(n,)``)."""

    values: np.ndarray
    forward: np.ndarray


class CapOutputs(NamedTuple):
    """``values`` (``(n, J, V)``) and ``vega`` per 1.0 of the quoted vol (``(n,)``)."""

    values: np.ndarray
    vega: np.ndarray


class SwaptionOutputs(NamedTuple):
    """``values`` (``(n, J, V)``), and ``vega`` per 1.0 of the quoted vol, the ``forward``
    swap rate and the ``annuity`` (``(n,)``)."""

    values: np.ndarray
    vega: np.ndarray
    forward: np.ndarray
    annuity: np.ndarray


_Outputs = TypeVar("_Outputs", bound=tuple)


def allocate_outputs(kind: type[_Outputs], n: int, mv: Moves, n_states: int) -> _Outputs:
    """Uninitialised outputs of a kernel for ``n`` trades: ``values`` of shape
    ``(n, J, n_states)``, ``J`` the moves of ``mv``, then every other field of ``kind``
    shape ``(n,)``."""
    rest = (np.empty(n) for _ in kind._fields[1:])
    return kind(np.empty((n, mv.horizon.size, n_states)), *rest)


def measures_from_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PV, central-difference rho per bp and one-day theta from the values of the standard
    moves in one state (shape ``(n, 4)``, or ``(n, 1)``: rho and theta are then 0)."""
    pv = values[:, 0].copy()
    if values.shape[1] < 4:
        return pv, np.zeros_like(pv), np.zeros_like(pv)
    return pv, 0.5 * (values[:, 1] - values[:, 2]), values[:, 3] - values[:, 0]


@nb.njit(**_INLINE)
def norm_cdf(x):
    """Standard normal CDF via erfc, accurate in the lower tail."""
    return 0.5 * math.erfc(-x * _INV_SQRT2)


@nb.njit(**_INLINE)
def norm_pdf(x):
    """Standard normal density."""
    return _INV_SQRT2PI * math.exp(-0.5 * x * x)


@nb.njit(**READS_ARRAYS)
def _bracket(ct, a, last, t):
    # Pillars lo < hi with ct[lo] <= t < ct[hi], for ct[a] < t < ct[last].
    lo = a
    hi = last
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if ct[mid] <= t:
            lo = mid
        else:
            hi = mid
    return lo, hi


@nb.njit(**READS_ARRAYS)
def curve_weights(ct, ck, co, c, t):
    """Pillars and weights of packed curve ``c`` at time ``t``: ``log P(t) = -(w1 z[i1] + w2
    z[i2])`` for the pillar zero rates ``z`` of any state; all zero for ``t <= 0``."""
    a = co[c]
    last = co[c + 1] - 1
    if t <= 0.0:
        return a, a, 0.0, 0.0
    if t <= ct[a]:
        return a, a, t, 0.0
    if ck[c] == 0:
        if t >= ct[last]:
            return last, last, t, 0.0
        lo, hi = _bracket(ct, a, last, t)
        w = (t - ct[lo]) / (ct[hi] - ct[lo])
        return lo, hi, t * (1.0 - w), t * w
    # Log-linear on discount factors; log P(t_j) = -z_j t_j.
    if t >= ct[last]:
        if last == a:
            return a, a, t, 0.0
        # The last segment's forward continued: log P = (1 + u) l_last - u l_prev.
        u = (t - ct[last]) / (ct[last] - ct[last - 1])
        return last - 1, last, -u * ct[last - 1], (1.0 + u) * ct[last]
    lo, hi = _bracket(ct, a, last, t)
    w = (t - ct[lo]) / (ct[hi] - ct[lo])
    return lo, hi, (1.0 - w) * ct[lo], w * ct[hi]


@nb.njit(**READS_ARRAYS)
def shift_exponent(b, t):
    """Exponent of a parallel shift ``b`` of the zero rates at time ``t`` (years): ``-b t``,
    0 for a flow already due (:func:`move_weights`)."""
    return -b * t if t > 0.0 else 0.0


@nb.njit(**READS_ARRAYS)
def move_weights(ct, ck, co, c, t, h, b):
    """:func:`curve_weights` of the time ``t - h`` and the exponent of the parallel shift
    ``b``: ``log P = e - (w1 z[i1] + w2 z[i2])``; 1 when the flow falls due within ``h``."""
    tt = t - h
    i1, i2, w1, w2 = curve_weights(ct, ck, co, c, tt)
    return i1, i2, w1, w2, shift_exponent(b, tt)


@nb.njit(**READS_ARRAYS)
def log_df(cz, i1, i2, w1, w2, e, s):
    """Log discount factor in state ``s`` from :func:`move_weights`."""
    return e - (w1 * cz[i1, s] + w2 * cz[i2, s])


def _discount_factors(ct, cz, ck, co, curve, t, out):
    """Discount factors of packed curve ``curve[i]`` to ``t[i]`` into ``out`` (shape ``(n,)``),
    zero rates ``cz`` of one state, shape ``(pillars,)``."""
    for i in nb.prange(t.shape[0]):
        i1, i2, w1, w2 = curve_weights(ct, ck, co, curve[i], t[i])
        out[i] = math.exp(-(w1 * cz[i1] + w2 * cz[i2]))


@nb.njit(**_INLINE)
def sub_growth(log_start, log_end, r):
    """Growth factor of one factor of a coupon (:class:`IndexPeriods`) from the log
    discount factors at its start and end: ``P(a) / P(b)`` for a whole span (``r == 1``),
    ``1 + r (P(a) / P(b) - 1)`` for a day whose span differs from its value period."""
    g = vmath.exp(log_start - log_end)
    return g if r == 1.0 else 1.0 + r * (g - 1.0)


@nb.njit(**READS_ARRAYS)
def _growth(curves, pc, floating, k, h, b, grow):
    # Coupon k's growth factor known[k] * prod_q g_q (IndexPeriods) on projection curve pc
    # in every state, into grow (shape (states,)).
    ct, cz, ck, co = curves
    known = floating[1]
    sub_off, sub_start, sub_end, sub_ratio = floating[5], floating[6], floating[7], floating[8]
    n_s = grow.shape[0]
    for s in range(n_s):
        grow[s] = known[k]
    for q in range(sub_off[k], sub_off[k + 1]):
        a1, a2, u1, u2, e1 = move_weights(ct, ck, co, pc, sub_start[q], h, b)
        b1, b2, v1, v2, e2 = move_weights(ct, ck, co, pc, sub_end[q], h, b)
        r = sub_ratio[q]
        for s in range(n_s):
            grow[s] *= sub_growth(
                log_df(cz, a1, a2, u1, u2, e1, s), log_df(cz, b1, b2, v1, v2, e2, s), r
            )


@nb.njit(**READS_ARRAYS)
def first_of_horizon(vh, j):
    """Whether move ``j`` is the first of the moves ``vh`` (shape ``(J,)``) with its
    horizon."""
    for k in range(j):
        if vh[k] == vh[j]:
            return False
    return True


@nb.njit(**READS_ARRAYS)
def _legs(curves, dc, pc, spread, fixed, floating, i, mv, h, ann, flt, grow):
    # Fixed-leg annuity and float-leg PV (coupon rates plus spread) of trade i per unit
    # notional under every move j of horizon h (mv.horizon[j] == h), in every state, into
    # ann[j] and flt[j] (shape (J, states)); grow is scratch of that shape for each coupon's
    # product of growth factors. Moves of one horizon differ in their shift alone, which
    # enters the exponent only (move_weights): they share every flow's curve weights, and
    # each value is the same arithmetic as when the move is valued on its own.
    ct, cz, ck, co = curves
    vh, vb = mv
    fix_off, fix_pay, fix_acc = fixed
    flt_off, _, flt_tau, flt_acc, flt_pay = floating[:5]
    n_j, n_s = ann.shape
    for j in range(n_j):
        if vh[j] == h:
            for s in range(n_s):
                ann[j, s] = 0.0
                flt[j, s] = 0.0
    for k in range(fix_off[i], fix_off[i + 1]):
        t = fix_pay[k] - h
        i1, i2, w1, w2 = curve_weights(ct, ck, co, dc, t)
        acc = fix_acc[k]
        for j in range(n_j):
            if vh[j] != h:
                continue
            e = shift_exponent(vb[j], t)
            for s in range(n_s):
                ann[j, s] += acc * vmath.exp(log_df(cz, i1, i2, w1, w2, e, s))
    known = floating[1]
    sub_off, sub_start, sub_end, sub_ratio = floating[5], floating[6], floating[7], floating[8]
    for k in range(flt_off[i], flt_off[i + 1]):
        # Coupon k's growth factor (as _growth), written out: a call per coupon passing the
        # coupons' arrays costs more than the coupon's arithmetic.
        for j in range(n_j):
            if vh[j] == h:
                for s in range(n_s):
                    grow[j, s] = known[k]
        for q in range(sub_off[k], sub_off[k + 1]):
            ta = sub_start[q] - h
            tb = sub_end[q] - h
            a1, a2, u1, u2 = curve_weights(ct, ck, co, pc, ta)
            b1, b2, v1, v2 = curve_weights(ct, ck, co, pc, tb)
            r = sub_ratio[q]
            for j in range(n_j):
                if vh[j] != h:
                    continue
                e1 = shift_exponent(vb[j], ta)
                e2 = shift_exponent(vb[j], tb)
                for s in range(n_s):
                    grow[j, s] *= sub_growth(
                        log_df(cz, a1, a2, u1, u2, e1, s), log_df(cz, b1, b2, v1, v2, e2, s), r
                    )
        tp = flt_pay[k] - h
        d1, d2, x1, x2 = curve_weights(ct, ck, co, dc, tp)
        tau = flt_tau[k]
        acc = flt_acc[k]
        for j in range(n_j):
            if vh[j] != h:
                continue
            ed = shift_exponent(vb[j], tp)
            for s in range(n_s):
                fwd = (grow[j, s] - 1.0) / tau
                flt[j, s] += (fwd + spread) * acc * vmath.exp(log_df(cz, d1, d2, x1, x2, ed, s))


def _swap_loop(curves, terms, fixed, floating, mv, out):
    # curves: YieldCurves; terms: SwapTerms; fixed, floating: FixedPeriods, IndexPeriods;
    # mv: Moves; out: SwapOutputs.
    disc, proj, fixed_rate, spread, sign = terms
    vh = mv[0]
    values = out.values
    annuity = out.annuity
    par_rate = out.par_rate
    n_s = curves[1].shape[1]
    n_j = vh.shape[0]
    for i in nb.prange(disc.shape[0]):
        ann = np.empty((n_j, n_s))
        flt = np.empty((n_j, n_s))
        grow = np.empty((n_j, n_s))
        for j in range(n_j):
            if first_of_horizon(vh, j):
                _legs(
                    curves,
                    disc[i],
                    proj[i],
                    spread[i],
                    fixed,
                    floating,
                    i,
                    mv,
                    vh[j],
                    ann,
                    flt,
                    grow,
                )
        for j in range(n_j):
            for s in range(n_s):
                values[i, j, s] = sign[i] * (flt[j, s] - fixed_rate[i] * ann[j, s])
        annuity[i] = ann[0, 0]
        # The fixed rate that makes the swap worth zero (spread in the float leg).
        par_rate[i] = flt[0, 0] / ann[0, 0]


def _fra_loop(curves, terms, mv, out):
    # curves: YieldCurves; terms: FraTerms; mv: Moves; out: FraOutputs.
    ct, cz, ck, co = curves
    disc, proj, strike, sign, t_start, t_end, tau, known, acc, t_pay = terms
    vh, vb = mv
    values = out.values
    forward = out.forward
    n_s = cz.shape[1]
    for i in nb.prange(disc.shape[0]):
        fixed = not math.isnan(known[i])
        for j in range(vh.shape[0]):
            a1, a2, u1, u2, e1 = move_weights(ct, ck, co, proj[i], t_start[i], vh[j], vb[j])
            b1, b2, v1, v2, e2 = move_weights(ct, ck, co, proj[i], t_end[i], vh[j], vb[j])
            d1, d2, x1, x2, ed = move_weights(ct, ck, co, disc[i], t_pay[i], vh[j], vb[j])
            for s in range(n_s):
                if fixed:
                    f = known[i]
                else:
                    growth = vmath.exp(
                        log_df(cz, a1, a2, u1, u2, e1, s) - log_df(cz, b1, b2, v1, v2, e2, s)
                    )
                    f = (growth - 1.0) / tau[i]
                d = vmath.exp(log_df(cz, d1, d2, x1, x2, ed, s))
                # Settled at the start of its period, discounted at the rate for the period.
                a = acc[i]
                values[i, j, s] = sign[i] * (f - strike[i]) * a / (1.0 + f * a) * d
                if j == 0 and s == 0:
                    forward[i] = f


def _cashflow_loop(curves, disc, flows, mv, out):
    # curves: YieldCurves; disc: discount curve per trade; flows: Cashflows; mv: Moves;
    # out: CashflowOutputs.
    ct, cz, ck, co = curves
    off, pay, amount = flows
    vh, vb = mv
    values = out.values
    n_s = cz.shape[1]
    for i in nb.prange(disc.shape[0]):
        for j in range(vh.shape[0]):
            for s in range(n_s):
                values[i, j, s] = 0.0
            for k in range(off[i], off[i + 1]):
                i1, i2, w1, w2, e = move_weights(ct, ck, co, disc[i], pay[k], vh[j], vb[j])
                a = amount[k]
                for s in range(n_s):
                    values[i, j, s] += a * vmath.exp(log_df(cz, i1, i2, w1, w2, e, s))


@nb.njit(**READS_ARRAYS)
def _price_at_yield(off0, off1, times, amount, y, freq):
    # Price and dPrice/dy with compounding ``freq`` times a year.
    base = 1.0 + y / freq
    p = 0.0
    dp = 0.0
    for k in range(off0, off1):
        d = base ** (-freq * times[k])
        p += amount[k] * d
        dp -= amount[k] * times[k] * d / base
    return p, dp


def _bond_yield_loop(off, times, amount, dirty, freq, tol, ytm, mod_duration):
    for i in nb.prange(dirty.shape[0]):
        f = freq[i]
        lo = -0.99 * f
        hi = 10.0
        y = 0.05
        for _ in range(200):
            p, dp = _price_at_yield(off[i], off[i + 1], times, amount, y, f)
            err = p - dirty[i]
            # Price falls with the yield: keep a bracket for the Newton steps.
            if err > 0.0:
                lo = y
            else:
                hi = y
            step = err / dp if dp != 0.0 else 0.0
            y_new = y - step
            if not (lo < y_new < hi):
                y_new = 0.5 * (lo + hi)
            if abs(y_new - y) <= tol:
                y = y_new
                break
            y = y_new
        p, dp = _price_at_yield(off[i], off[i + 1], times, amount, y, f)
        ytm[i] = y
        mod_duration[i] = -dp / p


@nb.njit(**_INLINE)
def option_value(fwd, strike, sd, omega, normal):
    """Undiscounted option value and its derivative in ``sd`` (std dev of the forward).

    Black (``normal == 0``: ``sd = vol * sqrt(T)`` lognormal) or Bachelier (``normal == 1``:
    ``sd`` in rate units). ``sd <= 0`` gives the intrinsic value.
    """
    if sd <= 0.0:
        return max(omega * (fwd - strike), 0.0), 0.0
    if normal == 1:
        d = (fwd - strike) / sd
        return omega * (fwd - strike) * norm_cdf(omega * d) + sd * norm_pdf(d), norm_pdf(d)
    if fwd <= 0.0 or strike <= 0.0:
        # Black is undefined for non-positive rates; fall back to the intrinsic value.
        return max(omega * (fwd - strike), 0.0), 0.0
    d1 = math.log(fwd / strike) / sd + 0.5 * sd
    d2 = d1 - sd
    value = omega * (fwd * norm_cdf(omega * d1) - strike * norm_cdf(omega * d2))
    return value, fwd * norm_pdf(d1)


def _cap_loop(curves, terms, periods, fix_t, mv, out):
    # curves: YieldCurves; terms: RateOptionTerms; periods: IndexPeriods of the caplets, whose
    # fixing times are fix_t (shape (m,)); mv: Moves; out: CapOutputs.
    ct, cz, ck, co = curves
    disc, proj, strike, omega, vol, normal = terms
    off, _, tau, acc, pay_t = periods[:5]
    vh, vb = mv
    values = out.values
    vega = out.vega
    n_s = cz.shape[1]
    for i in nb.prange(disc.shape[0]):
        fwd = np.empty(n_s)
        dfs = np.empty(n_s)
        for j in range(vh.shape[0]):
            h = vh[j]
            b = vb[j]
            g = 0.0
            for s in range(n_s):
                values[i, j, s] = 0.0
            for k in range(off[i], off[i + 1]):
                _growth(curves, proj[i], periods, k, h, b, fwd)
                d1, d2, x1, x2, ed = move_weights(ct, ck, co, disc[i], pay_t[k], h, b)
                for s in range(n_s):
                    fwd[s] = (fwd[s] - 1.0) / tau[k]
                    dfs[s] = acc[k] * vmath.exp(log_df(cz, d1, d2, x1, x2, ed, s))
                t_fix = fix_t[k] - h
                sq = math.sqrt(t_fix) if t_fix > 0.0 else 0.0
                for s in range(n_s):
                    v, dv = option_value(fwd[s], strike[i], vol[i, s] * sq, omega[i], normal[i])
                    values[i, j, s] += dfs[s] * v
                    if s == 0:
                        g += dfs[s] * dv * sq
            if j == 0:
                vega[i] = g


def _swaption_loop(curves, terms, expiry, fixed, floating, mv, out):
    # curves: YieldCurves; terms: RateOptionTerms; expiry (years, shape (n,)); fixed,
    # floating: the underlying swap's FixedPeriods and IndexPeriods; mv: Moves;
    # out: SwaptionOutputs.
    disc, proj, strike, omega, vol, normal = terms
    vh = mv[0]
    values = out.values
    vega = out.vega
    forward = out.forward
    annuity = out.annuity
    n_s = curves[1].shape[1]
    n_j = vh.shape[0]
    for i in nb.prange(disc.shape[0]):
        ann = np.empty((n_j, n_s))
        flt = np.empty((n_j, n_s))
        grow = np.empty((n_j, n_s))
        for j in range(n_j):
            if first_of_horizon(vh, j):
                _legs(curves, disc[i], proj[i], 0.0, fixed, floating, i, mv, vh[j], ann, flt, grow)
        for j in range(n_j):
            t_e = expiry[i] - vh[j]
            sq = math.sqrt(t_e) if t_e > 0.0 else 0.0
            for s in range(n_s):
                a = ann[j, s]
                rate = flt[j, s] / a
                v, dv = option_value(rate, strike[i], vol[i, s] * sq, omega[i], normal[i])
                values[i, j, s] = a * v
                if j == 0 and s == 0:
                    vega[i] = a * dv * sq
                    forward[i] = rate
                    annuity[i] = a


swap_serial, swap_parallel = serial_and_parallel(_swap_loop)
fra_serial, fra_parallel = serial_and_parallel(_fra_loop)
cashflows_serial, cashflows_parallel = serial_and_parallel(_cashflow_loop)
bond_yield_serial, bond_yield_parallel = serial_and_parallel(_bond_yield_loop)
cap_serial, cap_parallel = serial_and_parallel(_cap_loop)
swaption_serial, swaption_parallel = serial_and_parallel(_swaption_loop)
discount_factors = serial_and_parallel(_discount_factors)[0]
