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
:data:`N_NODES` ``+ 1`` Chebyshev extrema on ``[0, sqrt(T)]``; starting from the
Barone-Adesi–Whaley exponential guess, :data:`N_ITER` Jacobi sweeps of FP-B update the
nodes. Where ``r - q > FP_A_ABOVE * vol^2`` (low vol, rate well above the yield) the sweeps of
FP-B oscillate: there the paper's FP-A (value matching alone,
``B = K e^{-r tau} Phi(d_-) + r int ... Phi(d_-) / (e^{-q tau} Phi(d_+) + q int ... Phi(d_+))``)
is swept ``2 N_ITER`` times instead. The integrals use the substitution
``u = tau sin^2(theta)``, under which both ``sqrt(u)`` (the interpolation variable) and
``sqrt(tau - u)`` (the kernel's singularity) are smooth in ``theta``, and Gauss–Legendre in
``theta``: :data:`N_FP` points for the boundary integrals, :data:`N_PRICE` for the premium.
Calls by put–call symmetry,
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
their own (five boundaries per option with greeks, one without).

Inputs and outputs (float64, shape ``(n,)``) as :mod:`xiphpc.pricing.kernels.black_scholes`:
``spot, strike, tau, rate, carry_yield, vol, cp`` in; ``greeks`` (0: ``pv`` alone, the other
outputs left unwritten; 1: all); ``pv, delta, gamma, vega`` (per 1.0), ``theta`` (per year),
``rho`` (per 1.0) out.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._targets import serial_and_parallel
from .barrier import fd_spot_step
from .rates import norm_cdf

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")
_DAY = 1.0 / 365.0
_H_VOL = 1e-6
_H_RATE = 1e-6
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)

#: Chebyshev degree of the boundary interpolant (``N_NODES + 1`` collocation nodes).
N_NODES = 8
#: Jacobi sweeps of the fixed-point equation FP-B.
N_ITER = 6
#: Gauss–Legendre points of each boundary integral.
N_FP = 8
#: Gauss–Legendre points of the early-exercise premium.
N_PRICE = 24
#: FP-A (twice the sweeps) replaces FP-B where ``r - q > FP_A_ABOVE * vol^2``: there (low vol,
#: rate well above the yield) the Jacobi sweeps of FP-B oscillate, those of FP-A converge
#: (slower).
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
    # The Chebyshev basis there times the DCT: boundary values -> H at the points.
    basis = np.cos(np.arange(n + 1)[None, None, :] * np.arccos(np.clip(x_fp, -1, 1))[..., None])
    interp = basis @ dct
    return (
        frac,
        dct,
        np.sin(theta),
        np.cos(theta),
        0.25 * np.pi * wy,
        interp,
        np.sin(theta_p),
        np.cos(theta_p),
        0.25 * np.pi * wp,
    )


(_FRAC, _DCT, _SIN_FP, _COS_FP, _W_FP, _INTERP, _SIN_P, _COS_P, _W_P) = _tables(
    N_NODES, N_FP, N_PRICE
)


@nb.njit(**_INLINE)
def _norm_pdf(x):
    return _INV_SQRT2PI * math.exp(-0.5 * x * x)


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


#: Lowest boundary kept, as a fraction of ``B(0+)`` (see :func:`exercise_boundary`).
BOUNDARY_FLOOR = 1e-12


@nb.njit(fastmath=False, error_model="numpy")
def exercise_boundary(big_t, r, q, vol, coef):
    """Solve the exercise boundary of a put of strike 1 (``r > 0``) up to ``big_t`` years.

    Writes into ``coef`` (shape ``(N_NODES + 1,)``) the Chebyshev coefficients of
    ``H(x) = log(B / X)^2``, ``x = 2 sqrt(tau / big_t) - 1``, and returns ``X = B(0+)``.
    """
    n1 = _FRAC.shape[0]
    x0 = 1.0 if q <= r else r / q
    v2 = vol * vol
    # Perpetual boundary (negative root of the characteristic equation) for the initial guess.
    mu = r - q - 0.5 * v2
    disc = math.sqrt(mu * mu + 2.0 * v2 * r)
    # The root's two forms: each free of cancellation on its own side of mu = 0 (for r far
    # below q, -mu - disc would lose every digit).
    lam = (-mu - disc) / v2 if mu >= 0.0 else -2.0 * r / (disc - mu)
    b_inf = lam / (lam - 1.0)
    h_nodes = np.empty(n1)
    sq_h = np.empty(n1)
    for i in range(n1):
        tau = big_t * _FRAC[i] * _FRAC[i]
        h = min(((r - q) * tau - 2.0 * vol * math.sqrt(tau)) / (x0 - b_inf), 0.0)
        b = b_inf + (x0 - b_inf) * math.exp(h)
        lg = math.log(b / x0)
        h_nodes[i] = lg * lg
    h_nodes[n1 - 1] = 0.0
    n_fp = _SIN_FP.shape[0]
    # Per (node, point) quantities that the sweeps share.
    inv_sd = np.empty((n1, n_fp))
    drift = np.empty((n1, n_fp))
    w_cdf = np.empty((n1, n_fp))
    w_pdf = np.empty((n1, n_fp))
    w_cdf_r = np.empty((n1, n_fp))
    sd_t = np.empty((n1, n_fp))
    for i in range(n1 - 1):
        sq_tau = math.sqrt(big_t) * _FRAC[i]
        for k in range(n_fp):
            sq_t = sq_tau * _COS_FP[k]
            t = sq_t * sq_t
            e_q = math.exp(-q * t)
            inv_sd[i, k] = 1.0 / (vol * sq_t)
            drift[i, k] = (r - q + 0.5 * v2) * t
            # du = 2 tau sin cos dtheta, and 1/(sigma sqrt t) = 1/(sigma sqrt(tau) cos):
            # the weights of the Phi and of the phi / (sigma sqrt t) terms.
            w_cdf[i, k] = _W_FP[k] * 2.0 * sq_tau * sq_t * _SIN_FP[k] * e_q
            w_pdf[i, k] = _W_FP[k] * 2.0 * sq_tau * _SIN_FP[k] / vol * e_q
            w_cdf_r[i, k] = w_cdf[i, k] * math.exp((q - r) * t)
            sd_t[i, k] = vol * sq_t
    new = np.empty(n1)
    fp_a = r - q > FP_A_ABOVE * v2
    for _ in range(2 * N_ITER if fp_a else N_ITER):
        for i in range(n1):
            sq_h[i] = math.sqrt(max(h_nodes[i], 0.0))
        for i in range(n1 - 1):
            sq_tau = math.sqrt(big_t) * _FRAC[i]
            tau = sq_tau * sq_tau
            log_b = math.log(x0) - sq_h[i]
            sd = vol * sq_tau
            dp = (log_b + (r - q) * tau) / sd + 0.5 * sd
            pdf = _norm_pdf(dp)
            eqt = math.exp(-q * tau)
            b = math.exp(log_b)
            # e^{-r tau} phi(d_-) = e^{-q tau} phi(d_+) B / K with K = 1.
            if fp_a:
                num = math.exp(-r * tau) * norm_cdf(dp - sd)
                den = eqt * norm_cdf(dp)
            else:
                num = eqt * pdf * b / sd
                den = eqt * (pdf / sd + norm_cdf(dp))
            n_int = 0.0
            d_int = 0.0
            for k in range(n_fp):
                hu = 0.0
                for m in range(n1):
                    hu += _INTERP[i, k, m] * h_nodes[m]
                log_ratio = math.sqrt(max(hu, 0.0)) - sq_h[i]
                d = (log_ratio + drift[i, k]) * inv_sd[i, k]
                if fp_a:
                    n_int += w_cdf_r[i, k] * norm_cdf(d - sd_t[i, k])
                    d_int += w_cdf[i, k] * norm_cdf(d)
                else:
                    pdf_k = w_pdf[i, k] * _norm_pdf(d)
                    n_int += pdf_k * math.exp(log_ratio)
                    d_int += pdf_k + w_cdf[i, k] * norm_cdf(d)
            b_new = (num + r * n_int) / (den + q * d_int)
            # Where r is far below q the boundary B(0+) = r / q is small, and with a small
            # vol * sqrt(tau) every term of the update can underflow (0 / 0). The early
            # exercise premium is then at most 1 - exp(-r tau) of the strike, below what a
            # boundary could add: the boundary is held at the floor instead of taking the
            # log of 0 or NaN.
            if not b_new > BOUNDARY_FLOOR * x0:
                b_new = BOUNDARY_FLOOR * x0
            lg = math.log(min(b_new, x0) / x0)
            new[i] = lg * lg
        for i in range(n1 - 1):
            h_nodes[i] = new[i]
    for k in range(n1):
        a = 0.0
        for j in range(n1):
            a += _DCT[k, j] * h_nodes[j]
        coef[k] = a
    return x0


@nb.njit(fastmath=False, error_model="numpy")
def put_value(x, tau, r, q, vol, coef, x0, big_t):
    """American put of spot ``x`` and strike 1, ``0 < tau <= big_t``, from the boundary of
    :func:`exercise_boundary` solved up to ``big_t``."""
    sq_big = math.sqrt(big_t)
    sq_tau = math.sqrt(tau)
    b_tau = x0 * math.exp(-math.sqrt(max(_chebyshev(coef, 2.0 * sq_tau / sq_big - 1.0), 0.0)))
    if x <= b_tau:
        return 1.0 - x
    premium = 0.0
    log_x = math.log(x / x0)
    for k in range(_SIN_P.shape[0]):
        sq_u = sq_tau * _SIN_P[k]
        sq_t = sq_tau * _COS_P[k]
        t = sq_t * sq_t
        sq_h = math.sqrt(max(_chebyshev(coef, 2.0 * sq_u / sq_big - 1.0), 0.0))
        sd = vol * sq_t
        dp = (log_x + sq_h + (r - q) * t) / sd + 0.5 * sd
        f = r * math.exp(-r * t) * norm_cdf(-(dp - sd)) - q * x * math.exp(-q * t) * norm_cdf(-dp)
        premium += _W_P[k] * 2.0 * tau * _SIN_P[k] * _COS_P[k] * f
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
    coef = np.empty(_FRAC.shape[0])
    x0 = exercise_boundary(tau, r, q, vol, coef)
    return scale * put_value(x, tau, r, q, vol, coef, x0, tau)


@nb.njit(**_INLINE)
def _bumped(spot, strike, tau, rate, carry_yield, vol, cp, coef):
    # Value with its own boundary (the vol and rate bumps).
    x, scale, r, q = _put_terms(spot, strike, rate, carry_yield, cp)
    if _regime(r, q) != 0:
        return scale * max(european_put(x, tau, r, q, vol), 1.0 - x)
    x0 = exercise_boundary(tau, r, q, vol, coef)
    return scale * put_value(x, tau, r, q, vol, coef, x0, tau)


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
        coef = np.empty(_FRAC.shape[0])
        _, _, r, q = _put_terms(s, k, rt, cy, w)
        regime = _regime(r, q)
        x0 = exercise_boundary(t, r, q, sig, coef) if regime == 0 else 1.0
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
        vega[i] = (
            _bumped(s, k, t, rt, cy, sig + _H_VOL, w, coef)
            - _bumped(s, k, t, rt, cy, sig - _H_VOL, w, coef)
        ) / (2.0 * _H_VOL)
        rho[i] = (
            _bumped(s, k, t, rt + _H_RATE, cy, sig, w, coef)
            - _bumped(s, k, t, rt - _H_RATE, cy, sig, w, coef)
        ) / (2.0 * _H_RATE)


american_alo_serial, american_alo_parallel = serial_and_parallel(_alo_loop)
