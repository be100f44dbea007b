"""Credit default swap kernel: premium leg with accrual on default, protection leg, PV and
par spread, on piecewise-flat hazard curves (conventions in :mod:`xiphpc.curves.credit`).

Hazard curves come packed: ``ht`` pillar times, ``hh`` hazard rates, ``hc`` integrated hazard
at each pillar, ``ho`` offsets per curve; trade ``i`` uses curve ``credit[i]`` and discount
curve ``disc[i]`` of the packed yield curves (see :mod:`xiphpc.kernels.rates`). Premium
periods are CSR as :class:`~xiphpc.curves.credit.CdsPeriods`.

Per unit notional, from the protection buyer's side when ``sign = +1`` (seller ``-1``), the
value under each valuation of a table ``(vh, vb, vs)`` as in :mod:`xiphpc.kernels.rates`; a
curve state ``vs[j]`` selects a row of the zero rates ``cz`` and of the hazard rates ``hh`` and
integrated hazards ``hc`` (each shape ``(states, pillars)``), and the parallel shift ``vb``
moves zero rates only. ``par_spread`` and ``annuity`` (risky annuity, accrual on default
included) are those of valuation 0.
"""

from __future__ import annotations

import math

import numba as nb

from ._targets import serial_and_parallel
from .rates import shifted_df

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")


@nb.njit(**_INLINE)
def survival(ht, hh, hc, ho, c, t):
    """Survival probability of packed hazard curve ``c`` to time ``t``."""
    if t <= 0.0:
        return 1.0
    a = ho[c]
    last = ho[c + 1] - 1
    j = a
    while j < last and ht[j] < t:
        j += 1
    prev_t = ht[j - 1] if j > a else 0.0
    prev_c = hc[j - 1] if j > a else 0.0
    return math.exp(-(prev_c + hh[j] * (t - prev_t)))


@nb.njit(**_INLINE)
def _legs(
    ct,
    cz,
    ck,
    co,
    ht,
    hh,
    hc,
    ho,
    dc,
    cc,
    recovery,
    p0,
    p1,
    start,
    end,
    pay,
    mid,
    acc,
    acc_mid,
    h,
    b,
):
    protection = 0.0
    annuity = 0.0
    for k in range(p0, p1):
        s_start = survival(ht, hh, hc, ho, cc, start[k] - h)
        s_end = survival(ht, hh, hc, ho, cc, end[k] - h)
        d_mid = shifted_df(ct, cz, ck, co, dc, mid[k], h, b)
        default = s_start - s_end
        protection += (1.0 - recovery) * default * d_mid
        annuity += (
            acc[k]
            * survival(ht, hh, hc, ho, cc, pay[k] - h)
            * shifted_df(ct, cz, ck, co, dc, pay[k], h, b)
        )
        annuity += acc_mid[k] * default * d_mid
    return protection, annuity


def _cds_loop(
    ct,
    cz,
    ck,
    co,
    ht,
    hh,
    hc,
    ho,
    disc,
    credit,
    recovery,
    spread,
    sign,
    off,
    start,
    end,
    pay,
    mid,
    acc,
    acc_mid,
    vh,
    vb,
    vs,
    values,
    par_spread,
    annuity,
):
    for i in nb.prange(disc.shape[0]):
        for j in range(vh.shape[0]):
            state = vs[j]
            prot, ann = _legs(
                ct,
                cz[state],
                ck,
                co,
                ht,
                hh[state],
                hc[state],
                ho,
                disc[i],
                credit[i],
                recovery[i],
                off[i],
                off[i + 1],
                start,
                end,
                pay,
                mid,
                acc,
                acc_mid,
                vh[j],
                vb[j],
            )
            values[i, j] = sign[i] * (prot - spread[i] * ann)
            if j == 0:
                par_spread[i] = prot / ann
                annuity[i] = ann


cds_serial, cds_parallel = serial_and_parallel(_cds_loop)
