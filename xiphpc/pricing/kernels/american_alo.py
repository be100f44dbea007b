"""American options by the Andersen–Lake–Offengenden (2016) fixed-point method.

Method: L. Andersen, M. Lake and D. Offengenden, "High-performance American option pricing",
Journal of Computational Finance 20(1) (2016) 39-87. A put's value is the European value plus
the early-exercise premium, an integral over the exercise boundary ``B(u)``
(``u`` = time to expiry)::

    V(T, S) = v(T, S) + int_0^T [ r K e^{-r t} Phi(-d_-(t, S/B(u)))
                                 - q S e^{-q t} Phi(-d_+(t, S/B(u))) ] du,   t = T - u,
    d_+-(t, z) = (log z + (r - q) t +- sigma^2 t / 2) / (sigma sqrt t).

The boundary solves the fixed point of the paper's equation (FP-B), from value matching and
smooth pasting at ``S = B``::

    B(tau) = K N(tau) / D(tau),
    N = e^{-r tau} phi(d_-(tau, B/K)) / (sigma sqrt tau)
        + r int_0^tau e^{-r t} phi(d_-(t, B(tau)/B(u))) / (sigma sqrt t) du,
    D = e^{-q tau} [phi(d_+(tau, B/K)) / (sigma sqrt tau) + Phi(d_+(tau, B/K))]
        + q int_0^tau e^{-q t} [Phi(d_+(t, B(tau)/B(u)))
                               + phi(d_+(t, B(tau)/B(u))) / (sigma sqrt t)] du.

Discretisation, as the paper: ``H = log(B / X)^2`` with ``X = B(0+) = K min(1, r/q)``
(``K`` for ``q <= 0``) is interpolated in ``sqrt(tau)`` by a Chebyshev polynomial through
:data:`N_NODES` ``+ 1`` Chebyshev extrema on ``[0, sqrt(T)]``; starting from Li's QD+
approximation of the boundary at each node (the paper's choice, :func:`qd_plus_boundary`),
:data:`N_ITER` Jacobi sweeps of FP-B update the nodes. Where ``r - q > FP_A_ABOVE * vol^2``
(low vol, rate well above the yield) the sweeps of FP-B oscillate: there the paper's FP-A
(value matching alone,
``B = K e^{-r tau} Phi(d_-) + r int ... Phi(d_-) / (e^{-q tau} Phi(d_+) + q int ... Phi(d_+))``)
is swept :data:`N_ITER_A` times instead. The integrals use the substitution
``u = tau sin^2(theta)``, under which both ``sqrt(u)`` (the interpolation variable) and
``sqrt(tau - u)`` (the kernel's singularity) are smooth in ``theta``, and Gauss–Legendre in
``theta``: :data:`N_FP` points for the boundary integrals, :data:`N_PRICE` for the premium.
The loops over integration points are branch-free and use :mod:`.vmath` (the normal CDF and
density from one ``exp``), so that they vectorize. Calls by put–call symmetry,
``C(S, K, r, q) = P(K, S, q, r)``.

Domain (``tau > 0``, ``vol > 0``, ``spot, strike > 0``), in terms of the put after the call
transformation (rate ``r``, yield ``q``):

- ``r > 0``, any ``q``: one exercise boundary, the method above;
- ``r <= 0`` and ``q >= r``: early exercise never pays, the European value;
- ``q < r <= 0`` (calls with ``r < q <= 0``): two exercise boundaries, outside the method;
  the European value floored by the exercise value, a lower bound (as
  :mod:`xiphpc.pricing.kernels.american`).

Every value is floored by the exercise value.

Accuracy: within ``1e-5`` of the strike of QuantLib's ``QdFpAmericanEngine`` with its
high-precision scheme for expiries 0.05-10 years, vols 5-90%, rates and yields 0-10% and
spot/strike 0.5-2 (``tests/test_american_alo.py``, which states the derivation).

Greeks are central finite differences with the steps of
:mod:`xiphpc.pricing.kernels.barrier` (:func:`~xiphpc.pricing.kernels.barrier.fd_point`).
The boundary does not depend on the spot, and the boundary up to ``T`` holds the boundary up
to ``T - 1 day``: the spot bumps and the one-day-later value reuse the base boundary, so that
delta, gamma and theta are differences of one discretisation; the vol and rate bumps solve
their own (five boundaries per option with greeks, one without), from their own QD+ start and
with the base's choice of FP-A or FP-B. (Starting them from the base boundary instead needs
4 sweeps for vega and rho within 1e-6 of the strike of those of fresh solves, no cheaper.)

Throughput (one core, 20,000 options of the test's ranges, CPU time): about 240,000 options/s
for the value alone, 46,000/s with greeks.

Inputs and outputs (float64, shape ``(n,)``) as :mod:`xiphpc.pricing.kernels.black_scholes`:
``spot, strike, tau, rate, carry_yield, vol, cp`` in; ``greeks`` (0: ``pv`` alone, the other
outputs left unwritten; 1: all); ``pv, delta, gamma, vega`` (per 1.0), ``theta`` (per year),
``rho`` (per 1.0) out.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from . import vmath
from ._targets import serial_and_parallel
from .barrier import fd_spot_step
from .rates import norm_cdf

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")
_DAY = 1.0 / 365.0
_H_VOL = 1e-6
_H_RATE = 1e-6

#: Chebyshev degree of the boundary interpolant (``N_NODES + 1`` collocation nodes).
N_NODES = 8
#: Jacobi sweeps of the fixed-point equation FP-B from the QD+ boundary.
N_ITER = 3
#: Jacobi sweeps of FP-A where it replaces FP-B (see :data:`FP_A_ABOVE`).
N_ITER_A = 6
#: Halley steps of the QD+ equation per node (the initial boundary).
N_HALLEY = 4
#: Gauss–Legendre points of each boundary integral.
N_FP = 8
#: Gauss–Legendre points of the early-exercise premium.
N_PRICE = 24
#: Lowest boundary kept, as a fraction of ``B(0+)`` (see :func:`fixed_point_sweeps`).
BOUNDARY_FLOOR = 1e-12
#: FP-A replaces FP-B where ``r - q > FP_A_ABOVE * vol^2``: there (low vol, rate well above
#: the yield) the Jacobi sweeps of FP-B oscillate, those of FP-A converge (slower).
FP_A_ABOVE = 2.0


def _tables(n: int, l_fp: int, p: int):
    # Chebyshev extrema x_j = cos(j pi / n) on [-1, 1]: node j sits at
    # sqrt(tau_j / T) = (1 + x_j) / 2, so j = 0 is the expiry and j = n is tau = 0.
    j = np.arange(n + 1)
    x = np.cos(j * np.pi / n)
    frac = 0.5 * (1.0 + x)
    # Values -> coefficients of p(x) = sum_k a_k T_k(x) (discrete cosine transform, type I),
    # the end terms halved in both sums.
    w = np.ones(n + 1)
    w[0] = w[-1] = 0.5
    dct = (2.0 / n) * w[:, None] * w[None, :] * np.cos(np.outer(j, j) * np.pi / n)
    y, wy = np.polynomial.legendre.leggauss(l_fp)
    theta = 0.25 * np.pi * (1.0 + y)
    yp, wp = np.polynomial.legendre.leggauss(p)
    theta_p = 0.25 * np.pi * (1.0 + yp)
    # Interpolation variable of the integration points of node i: 2 sqrt(u / T) - 1.
    x_fp = 2.0 * frac[:, None] * np.sin(theta)[None, :] - 1.0
    # The Chebyshev basis there times the DCT: boundary values -> H at the points; nodes
    # 0 .. n-1 (node n, tau = 0, has no integral), flattened to point j = i * l_fp + k and
    # transposed so that the sum over the values runs outermost (the points vectorize).
    basis = np.cos(np.arange(n + 1)[None, None, :] * np.arccos(np.clip(x_fp, -1, 1))[..., None])
    interp = (basis @ dct)[:n].reshape(n * l_fp, n + 1).T.copy()
    return (
        frac,
        dct,
        np.sin(theta),
        np.cos(theta),
        0.25 * np.pi * wy,
        interp,
        np.sin(theta_p),
        np.cos(theta_p),
        # du = 2 tau sin cos dtheta folded into the weights of the premium.
        0.5 * np.pi * wp * np.sin(theta_p) * np.cos(theta_p),
    )


(_FRAC, _DCT, _SIN_FP, _COS_FP, _W_FP, _INTERP, _SIN_P, _COS_P, _W_P) = _tables(
    N_NODES, N_FP, N_PRICE
)


@nb.njit(**_INLINE)
def _chebyshev(coef, x):
    # Clenshaw's recurrence for sum_k coef[k] T_k(x).
    b1 = 0.0
    b2 = 0.0
    for k in range(coef.shape[0] - 1, 0, -1):
        b1, b2 = 2.0 * x * b1 - b2 + coef[k], b1
    return x * b1 - b2 + coef[0]


@nb.njit(**_INLINE)
def european_put(x, tau, r, q, vol):
    """Black–Scholes put of spot ``x`` and strike 1."""
    sd = vol * math.sqrt(tau)
    dp = (math.log(x) + (r - q) * tau) / sd + 0.5 * sd
    return math.exp(-r * tau) * norm_cdf(-(dp - sd)) - x * math.exp(-q * tau) * norm_cdf(-dp)


@nb.njit(fastmath=False, error_model="numpy")
def qd_plus_boundary(big_t, r, q, vol, x0, h_nodes):
    """Initial boundary: Li's QD+ approximation at each node, as ``H = log(B / X)^2``.

    M. Li, "Analytical approximations for the critical stock prices of American options: a
    performance comparison", Review of Derivatives Research 13 (2010) 75-99, the QD+ equation
    for a put of strike 1 (written without the ``c_0`` division, which cancels)::

        (1 - e^{-q tau} Phi(-d_+)) B - beta (1 - B - p(B)) + alpha theta(B) / (r e^{-r tau}) = 0

    with ``p`` and ``theta`` the European put's value and time decay at spot ``B``; solved by
    :data:`N_HALLEY` Halley steps from ``X``, all nodes at once (the node loop vectorizes).
    """
    n = _FRAC.shape[0] - 1
    v2 = vol * vol
    omega = 2.0 * (r - q) / v2
    x_min = 1e-4 * x0
    par = np.empty((10, n))
    s, tau, v, dr, dq, alpha, beta, c_th, c_ch, c_co = (
        par[0],
        par[1],
        par[2],
        par[3],
        par[4],
        par[5],
        par[6],
        par[7],
        par[8],
        par[9],
    )
    for i in range(n):
        tau[i] = big_t * _FRAC[i] * _FRAC[i]
        v[i] = vol * math.sqrt(tau[i])
        dr[i] = math.exp(-r * tau[i])
        dq[i] = math.exp(-q * tau[i])
        h = -math.expm1(-r * tau[i])
        disc = math.sqrt((omega - 1.0) ** 2 + 8.0 * r / (v2 * h))
        lam = 0.5 * (-(omega - 1.0) - disc)
        lam_p = 2.0 * r / (v2 * h * h * disc)
        # 2 lambda + omega - 1 = -disc.
        alpha[i] = -2.0 * dr[i] * r / (v2 * disc)
        beta[i] = alpha[i] * (1.0 / h - lam_p / disc) - lam
        c_th[i] = alpha[i] / (r * dr[i])
        c_ch[i] = (r - q) / v[i]
        c_co[i] = 0.5 / tau[i]
        s[i] = x0
    for _ in range(N_HALLEY):
        for i in range(n):
            si = s[i]
            vi = v[i]
            dp = (vmath.log(si) + (r - q) * tau[i]) / vi + 0.5 * vi
            dm = dp - vi
            cdf_p, pdf_p = vmath.ncdf_npdf(-dp)
            cdf_m = vmath.ncdf(-dm)
            qp = dq[i] * cdf_p
            npv = dr[i] * cdf_m - si * qp
            theta = r * dr[i] * cdf_m - q * si * qp - 0.5 * v2 * si / vi * dq[i] * pdf_p
            charm = -dq[i] * (pdf_p * (c_ch[i] - dm * c_co[i]) + q * cdf_p)
            f = (1.0 - qp) * si - beta[i] * (1.0 - si - npv) + c_th[i] * theta
            f1 = 1.0 - qp + dq[i] * pdf_p / vi + beta[i] * (1.0 - qp) + c_th[i] * charm
            gamma = pdf_p * dq[i] / (vi * si)
            colour = gamma * (q + c_ch[i] * dp + (1.0 - dp * dm) * c_co[i])
            f2 = dq[i] * pdf_p / (si * vi) * (1.0 - dp / vi) + beta[i] * gamma + c_th[i] * colour
            lf = f * f2 / (f1 * f1)
            step = si - f / f1 / (1.0 - 0.5 * lf)
            # Below the floor, or NaN where the terms underflow (r far below q): the floor.
            s[i] = step if step > x_min else x_min
    for i in range(n):
        lg = math.log(min(s[i], x0) / x0)
        h_nodes[i] = lg * lg
    h_nodes[n] = 0.0


@nb.njit(**_INLINE)
def _x0(r, q):
    # B(0+) of a put of strike 1: min(1, r / q).
    return 1.0 if q <= r else r / q


@nb.njit(**_INLINE)
def _fp_a(r, q, vol):
    return r - q > FP_A_ABOVE * vol * vol


@nb.njit(fastmath=False, error_model="numpy")
def fixed_point_sweeps(big_t, r, q, vol, fp_a, n_sweeps, h_nodes):
    """``n_sweeps`` Jacobi sweeps of FP-A (``fp_a``) or FP-B on the node values ``h_nodes``
    (``H = log(B / X)^2``, shape ``(N_NODES + 1,)``, updated in place) of the boundary of a put
    of strike 1 (``r > 0``) up to ``big_t`` years."""
    n1 = _FRAC.shape[0]
    n = n1 - 1
    n_fp = _SIN_FP.shape[0]
    n_pt = n * n_fp
    x0 = _x0(r, q)
    log_x0 = math.log(x0)
    v2 = vol * vol
    sq_big = math.sqrt(big_t)
    # Per node (rows: sqrt(H), sigma sqrt(tau), e^{-q tau}, e^{-r tau}, numerator,
    # denominator) and per integration point (the rest): the point loops are branch-free
    # and inline vmath, so that they vectorize.
    node = np.empty((7, n1))
    sq_h, tau_n, sd_n, eq_n, er_n, num, den = (
        node[0],
        node[1],
        node[2],
        node[3],
        node[4],
        node[5],
        node[6],
    )
    work = np.empty((9, n_pt))
    inv_sd, drift, sd_t, w_a, w_b, hu, sq_hj, ta, tb = (
        work[0],
        work[1],
        work[2],
        work[3],
        work[4],
        work[5],
        work[6],
        work[7],
        work[8],
    )
    for i in range(n):
        sq_tau = sq_big * _FRAC[i]
        tau = sq_tau * sq_tau
        tau_n[i] = tau
        sd_n[i] = vol * sq_tau
        eq_n[i] = vmath.exp(-q * tau)
        er_n[i] = vmath.exp(-r * tau)
    for i in range(n):
        sq_tau = sq_big * _FRAC[i]
        for k in range(n_fp):
            j = i * n_fp + k
            sq_t = sq_tau * _COS_FP[k]
            t = sq_t * sq_t
            inv_sd[j] = 1.0 / (vol * sq_t)
            drift[j] = (r - q + 0.5 * v2) * t
            sd_t[j] = vol * sq_t
            # du = 2 tau sin cos dtheta, and 1/(sigma sqrt t) = 1/(sigma sqrt(tau) cos):
            # FP-B weighs phi / (sigma sqrt t) (w_a) and Phi (w_b), both with e^{-q t};
            # FP-A weighs Phi(d_-) with e^{-r t} (w_a) and Phi(d_+) with e^{-q t} (w_b).
            base = _W_FP[k] * 2.0 * sq_tau * _SIN_FP[k]
            e_q = vmath.exp(-q * t)
            if fp_a:
                w_a[j] = base * sq_t * vmath.exp(-r * t)
                w_b[j] = base * sq_t * e_q
            else:
                w_a[j] = base / vol * e_q
                w_b[j] = base * sq_t * e_q
    for _ in range(n_sweeps):
        for i in range(n1):
            sq_h[i] = math.sqrt(max(h_nodes[i], 0.0))
        for i in range(n):
            log_b = log_x0 - sq_h[i]
            sd = sd_n[i]
            dp = (log_b + (r - q) * tau_n[i]) / sd + 0.5 * sd
            if fp_a:
                num[i] = er_n[i] * vmath.ncdf(dp - sd)
                den[i] = eq_n[i] * vmath.ncdf(dp)
            else:
                # e^{-r tau} phi(d_-) = e^{-q tau} phi(d_+) B / K with K = 1.
                cdf, pdf = vmath.ncdf_npdf(dp)
                num[i] = eq_n[i] * pdf * vmath.exp(log_b) / sd
                den[i] = eq_n[i] * (pdf / sd + cdf)
            for k in range(n_fp):
                sq_hj[i * n_fp + k] = sq_h[i]
        # H at the integration points; h_nodes[n] = 0 adds nothing.
        for j in range(n_pt):
            hu[j] = 0.0
        for m in range(n):
            hm = h_nodes[m]
            for j in range(n_pt):
                hu[j] += _INTERP[m, j] * hm
        if fp_a:
            for j in range(n_pt):
                d = (math.sqrt(max(hu[j], 0.0)) - sq_hj[j] + drift[j]) * inv_sd[j]
                ta[j] = w_a[j] * vmath.ncdf(d - sd_t[j])
                tb[j] = w_b[j] * vmath.ncdf(d)
        else:
            for j in range(n_pt):
                log_ratio = math.sqrt(max(hu[j], 0.0)) - sq_hj[j]
                cdf, pdf = vmath.ncdf_npdf((log_ratio + drift[j]) * inv_sd[j])
                pdf_k = w_a[j] * pdf
                ta[j] = pdf_k * vmath.exp(log_ratio)
                tb[j] = pdf_k + w_b[j] * cdf
        for i in range(n):
            n_int = 0.0
            d_int = 0.0
            for k in range(n_fp):
                n_int += ta[i * n_fp + k]
                d_int += tb[i * n_fp + k]
            b_new = (num[i] + r * n_int) / (den[i] + q * d_int)
            # Where r is far below q the boundary B(0+) = r / q is small, and with a small
            # vol * sqrt(tau) every term of the update can underflow (0 / 0). The early
            # exercise premium is then at most 1 - exp(-r tau) of the strike, below what a
            # boundary could add: the boundary is held at the floor instead of taking the
            # log of 0 or NaN.
            if not b_new > BOUNDARY_FLOOR * x0:
                b_new = BOUNDARY_FLOOR * x0
            lg = math.log(min(b_new, x0) / x0)
            h_nodes[i] = lg * lg


@nb.njit(**_INLINE)
def _coefficients(h_nodes, coef):
    # Node values -> Chebyshev coefficients (the DCT).
    n1 = h_nodes.shape[0]
    for k in range(n1):
        a = 0.0
        for j in range(n1):
            a += _DCT[k, j] * h_nodes[j]
        coef[k] = a


@nb.njit(fastmath=False, error_model="numpy")
def exercise_boundary(big_t, r, q, vol, coef, h_nodes, fp_a):
    """Solve the exercise boundary of a put of strike 1 (``r > 0``) up to ``big_t`` years,
    with FP-A (``fp_a``, :data:`N_ITER_A` sweeps) or FP-B (:data:`N_ITER` sweeps).

    Writes the node values ``H = log(B / X)^2`` into ``h_nodes`` and their Chebyshev
    coefficients, ``x = 2 sqrt(tau / big_t) - 1``, into ``coef`` (both shape
    ``(N_NODES + 1,)``), and returns ``X = B(0+)``.
    """
    x0 = _x0(r, q)
    qd_plus_boundary(big_t, r, q, vol, x0, h_nodes)
    fixed_point_sweeps(big_t, r, q, vol, fp_a, N_ITER_A if fp_a else N_ITER, h_nodes)
    _coefficients(h_nodes, coef)
    return x0


@nb.njit(fastmath=False, error_model="numpy")
def put_value(x, tau, r, q, vol, coef, x0, big_t):
    """American put of spot ``x`` and strike 1, ``0 < tau <= big_t``, from the boundary of
    :func:`exercise_boundary` solved up to ``big_t``."""
    ratio = 2.0 * math.sqrt(tau / big_t)
    b_tau = x0 * math.exp(-math.sqrt(max(_chebyshev(coef, ratio - 1.0), 0.0)))
    if x <= b_tau:
        return 1.0 - x
    n_p = _SIN_P.shape[0]
    buf = np.empty((4, n_p))
    xk, t_prev, t_cur, hk = buf[0], buf[1], buf[2], buf[3]
    # H at the points by the three-term recurrence of T_m, points innermost (vectorizes).
    for k in range(n_p):
        xk[k] = ratio * _SIN_P[k] - 1.0
        t_prev[k] = 1.0
        t_cur[k] = xk[k]
        hk[k] = coef[0] + coef[1] * xk[k]
    for m in range(2, coef.shape[0]):
        c = coef[m]
        for k in range(n_p):
            t_next = 2.0 * xk[k] * t_cur[k] - t_prev[k]
            t_prev[k] = t_cur[k]
            t_cur[k] = t_next
            hk[k] += c * t_next
    log_x = math.log(x / x0)
    sq_tau = math.sqrt(tau)
    for k in range(n_p):
        sq_t = sq_tau * _COS_P[k]
        t = sq_t * sq_t
        sd = vol * sq_t
        dp = (log_x + math.sqrt(max(hk[k], 0.0)) + (r - q) * t) / sd + 0.5 * sd
        f = r * vmath.exp(-r * t) * vmath.ncdf(sd - dp) - q * x * vmath.exp(-q * t) * vmath.ncdf(
            -dp
        )
        hk[k] = _W_P[k] * tau * f
    premium = 0.0
    for k in range(n_p):
        premium += hk[k]
    return max(european_put(x, tau, r, q, vol) + premium, 1.0 - x)


@nb.njit(**_INLINE)
def _regime(r, q):
    # 0: one boundary (the method); 1: never exercised early; 2: two boundaries (lower bound).
    if r > 0.0:
        return 0
    if q >= r:
        return 1
    return 2


@nb.njit(**_INLINE)
def _put_terms(spot, strike, rate, carry_yield, cp):
    # The put of the symmetry (call: P(K, S, q, r)) as (x = spot / strike, scale, r, q).
    if cp < 0.0:
        return spot / strike, strike, rate, carry_yield
    return strike / spot, spot, carry_yield, rate


@nb.njit(fastmath=False, error_model="numpy")
def alo_value(spot, strike, tau, rate, carry_yield, vol, cp):
    """Value of one American call (``cp = 1``) or put (``cp = -1``)."""
    if tau <= 0.0:
        return max(cp * (spot - strike), 0.0)
    x, scale, r, q = _put_terms(spot, strike, rate, carry_yield, cp)
    regime = _regime(r, q)
    if regime != 0:
        return scale * max(european_put(x, tau, r, q, vol), 1.0 - x)
    buf = np.empty((2, _FRAC.shape[0]))
    x0 = exercise_boundary(tau, r, q, vol, buf[0], buf[1], _fp_a(r, q, vol))
    return scale * put_value(x, tau, r, q, vol, buf[0], x0, tau)


@nb.njit(**_INLINE)
def _bumped(spot, strike, tau, rate, carry_yield, vol, cp, fp_a, work):
    # Value with its own boundary (the vol and rate bumps), solved with the base's choice of
    # equation: a bump across r - q = FP_A_ABOVE vol^2 would otherwise difference two
    # discretisations.
    x, scale, r, q = _put_terms(spot, strike, rate, carry_yield, cp)
    if _regime(r, q) != 0:
        return scale * max(european_put(x, tau, r, q, vol), 1.0 - x)
    x0 = exercise_boundary(tau, r, q, vol, work[0], work[1], fp_a)
    return scale * put_value(x, tau, r, q, vol, work[0], x0, tau)


@nb.njit(**_INLINE)
def _on_base(spot, strike, tau, rate, carry_yield, vol, cp, coef, x0, big_t, regime):
    # Value on the base boundary (solved up to big_t >= tau): the spot and time bumps.
    if tau <= 0.0:
        return max(cp * (spot - strike), 0.0)
    x, scale, r, q = _put_terms(spot, strike, rate, carry_yield, cp)
    if regime != 0:
        return scale * max(european_put(x, tau, r, q, vol), 1.0 - x)
    return scale * put_value(x, tau, r, q, vol, coef, x0, big_t)


def _alo_loop(
    spot, strike, tau, rate, carry_yield, vol, cp, greeks, pv, delta, gamma, vega, theta, rho
):
    for i in nb.prange(spot.shape[0]):
        s, k, t, rt, cy, sig, w = spot[i], strike[i], tau[i], rate[i], carry_yield[i], vol[i], cp[i]
        if t <= 0.0:
            pv[i] = max(w * (s - k), 0.0)
            if greeks:
                delta[i] = 0.0
                gamma[i] = 0.0
                vega[i] = 0.0
                theta[i] = 0.0
                rho[i] = 0.0
            continue
        # Rows: base coefficients and node values, then a bumped boundary's.
        buf = np.empty((4, _FRAC.shape[0]))
        coef, h_base = buf[0], buf[1]
        _, _, r, q = _put_terms(s, k, rt, cy, w)
        regime = _regime(r, q)
        fp_a = _fp_a(r, q, sig)
        x0 = exercise_boundary(t, r, q, sig, coef, h_base, fp_a) if regime == 0 else 1.0
        v0 = _on_base(s, k, t, rt, cy, sig, w, coef, x0, t, regime)
        pv[i] = v0
        if not greeks:
            continue
        hs = fd_spot_step(s, math.nan)
        up = _on_base(s + hs, k, t, rt, cy, sig, w, coef, x0, t, regime)
        dn = _on_base(s - hs, k, t, rt, cy, sig, w, coef, x0, t, regime)
        later = _on_base(s, k, t - _DAY, rt, cy, sig, w, coef, x0, t, regime)
        delta[i] = (up - dn) / (2.0 * hs)
        gamma[i] = (up - 2.0 * v0 + dn) / (hs * hs)
        theta[i] = (later - v0) / _DAY
        work = buf[2:]
        vega[i] = (
            _bumped(s, k, t, rt, cy, sig + _H_VOL, w, fp_a, work)
            - _bumped(s, k, t, rt, cy, sig - _H_VOL, w, fp_a, work)
        ) / (2.0 * _H_VOL)
        rho[i] = (
            _bumped(s, k, t, rt + _H_RATE, cy, sig, w, fp_a, work)
            - _bumped(s, k, t, rt - _H_RATE, cy, sig, w, fp_a, work)
        ) / (2.0 * _H_RATE)


american_alo_serial, american_alo_parallel = serial_and_parallel(_alo_loop)
