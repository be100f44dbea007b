"""Elementary functions in plain float64 arithmetic that LLVM can vectorize.

numba >= 0.62 builds on LLVM 20 without Intel SVML, so a loop that calls
``math.exp``, ``math.log`` or ``math.erfc`` runs one libm call per element. The
functions here are written as range reduction plus polynomial or rational
approximations, with ``select``-style conditionals instead of data-dependent
branches, and are inlined into the caller (``inline="always"``): a loop over
arrays that calls them compiles to AVX-512 (zmm) or AVX2 (ymm) code.

Accuracy, measured against 50-digit mpmath in ``tests/test_vmath.py``:

==============  ==============================  ==============
function        range tested                    max error
==============  ==============================  ==============
``exp``         [-745, 709.78] (+ over/under)   1 ulp
``log``         [1e-323, 1e308]                 1 ulp
``erfc``        [-6, 27.3] (underflow beyond)   3 ulp
``ncdf``        [-38.5, 8.3]                    4 ulp
``npdf``        [-38.5, 38.5]                   4 ulp
``sincos2pi``   [0, 1)                          2e-16 absolute
==============  ==============================  ==============

The module is compiled with ``fastmath=False``: results must not depend on
which products the compiler chooses to fuse, and reassociation would break the
error-free splittings below. Fused multiply-adds are requested explicitly with
:func:`fma` (the ``llvm.fma`` intrinsic, one ``vfmadd`` on x86-64 with FMA),
which is both faster and more accurate than a separate multiply and add.

Coefficients were fitted in 60-digit mpmath by weighted least squares at
Chebyshev nodes (close to minimax) and checked after rounding to float64.

numba's on-disk cache is keyed by the source file of each kernel, not by the
modules it inlines: after editing this file, delete the cached kernels of the
modules that use it (``xiphpc/pricing/kernels/__pycache__/*.nbi`` and ``*.nbc``).
"""

from __future__ import annotations

import numba as nb
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

_JIT = dict(inline="always", error_model="numpy", fastmath=False, nogil=True, cache=True)
_INF = float("inf")
_NAN = float("nan")
# Adding and subtracting 1.5 * 2**52 rounds a float64 of magnitude < 2**51 to
# the nearest integer (ties to even) in two vectorizable additions.
_ROUND_SHIFT = 6755399441055744.0


# ---------------------------------------------------------------------------
# Bit-level helpers (LLVM instructions numba does not expose for scalars)
# ---------------------------------------------------------------------------


@intrinsic
def f64_as_i64(typingctx, x):
    """Reinterpret a float64 as its int64 bit pattern."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def i64_as_f64(typingctx, i):
    """Reinterpret an int64 bit pattern as a float64."""
    if i not in (types.int64, types.uint64):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(i), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with a single rounding (``llvm.fma.f64``); float64 only."""
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@nb.njit(**_JIT)
def _pow2(k):
    # 2**k for an integer -1022 <= k <= 1023, built from the exponent field.
    return i64_as_f64((k + 1023) << 52)


# ---------------------------------------------------------------------------
# exp
# ---------------------------------------------------------------------------

_LOG2E = 1.4426950408889634074
# ln 2 split so that k * _LN2_HI is exact for |k| < 2**11.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_MAX = 709.782712893384  # exp(x) overflows above
_EXP_MIN = -745.1332191019412  # exp(x) rounds to zero below

# exp(r) on |r| <= ln(2)/2, degree 11, relative error 1.2e-16.
_E2 = 0.5000000000000018
_E3 = 0.16666666666666147
_E4 = 0.04166666666649316
_E5 = 0.008333333333569098
_E6 = 0.0013888888951133485
_E7 = 0.00019841269413815112
_E8 = 2.480148660775664e-05
_E9 = 2.7557638344026344e-06
_E10 = 2.763226447373137e-07
_E11 = 2.4989491355772434e-08


@nb.njit(**_JIT)
def _exp_reduced(r):
    # exp(r) for |r| <= ln(2)/2 (Horner with explicit FMA).
    p = fma(_E11, r, _E10)
    p = fma(p, r, _E9)
    p = fma(p, r, _E8)
    p = fma(p, r, _E7)
    p = fma(p, r, _E6)
    p = fma(p, r, _E5)
    p = fma(p, r, _E4)
    p = fma(p, r, _E3)
    p = fma(p, r, _E2)
    p = fma(p, r, 1.0)
    return fma(p, r, 1.0)


@nb.njit(**_JIT)
def exp(x):
    """Exponential of a float64.

    Parameters
    ----------
    x : float
        Any float64, including ``±inf`` and ``nan``.

    Returns
    -------
    float
        ``e**x``; ``inf`` above 709.78, gradual underflow to subnormals and then
        ``0.0`` below -745.13, ``nan`` for ``nan``. Max error 1 ulp for normal
        results.
    """
    # Clamp so that the integer conversion is always defined (nan -> lower
    # bound); the out-of-range results come from the final scaling itself.
    xc = x if x > -746.0 else -746.0
    xc = xc if xc < 710.0 else 710.0
    kf = (xc * _LOG2E + _ROUND_SHIFT) - _ROUND_SHIFT
    r = fma(-kf, _LN2_HI, xc)
    r = fma(-kf, _LN2_LO, r)
    p = _exp_reduced(r)
    k = int(kf)
    # Two factors keep each power of two normal for k in [-1076, 1024]; the
    # second multiply does the only rounding into the subnormal range.
    k1 = k >> 1
    y = p * _pow2(k1) * _pow2(k - k1)
    return y if x == x else x


# ---------------------------------------------------------------------------
# log
# ---------------------------------------------------------------------------

# log(1+f) = f - f^2/2 + s*(f^2/2 + R(s^2)), s = f/(2+f) (Sun's fdlibm e_log.c).
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_TWO54 = 1.8014398509481984e16
_MIN_NORMAL = 2.2250738585072014e-308
# Bit pattern offset that puts the mantissa in [sqrt(2)/2, sqrt(2)).
_SQRT_HALF_BITS = 0x3FE6A09E00000000
_ONE_BITS = 0x3FF0000000000000
_MANT_MASK = 0x000FFFFFFFFFFFFF


@nb.njit(**_JIT)
def log(x):
    """Natural logarithm of a float64.

    Parameters
    ----------
    x : float
        Any float64.

    Returns
    -------
    float
        ``ln x``; ``-inf`` at 0, ``nan`` for ``x < 0`` or ``nan``, ``inf`` at
        ``inf``. Max error 1 ulp (subnormal inputs are scaled first).
    """
    tiny = x < _MIN_NORMAL
    xs = x * _TWO54 if tiny else x
    ix = f64_as_i64(xs) + (_ONE_BITS - _SQRT_HALF_BITS)
    k = (ix >> 52) - 1023
    k = k - 54 if tiny else k
    m = i64_as_f64((ix & _MANT_MASK) + _SQRT_HALF_BITS)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * fma(w, fma(w, _LG6, _LG4), _LG2)
    t2 = z * fma(w, fma(w, fma(w, _LG7, _LG5), _LG3), _LG1)
    rr = t2 + t1
    hfsq = 0.5 * f * f
    dk = float(k)
    y = dk * _LN2_HI - ((hfsq - fma(s, hfsq + rr, dk * _LN2_LO)) - f)
    # Special values: the arithmetic above is only meaningful for finite x > 0.
    y = y if x > 0.0 else (-_INF if x == 0.0 else _NAN)
    return y if x < _INF else x


# ---------------------------------------------------------------------------
# erfc and the normal distribution
# ---------------------------------------------------------------------------

# (1 + 2a) * exp(a^2) * erfc(a) - 1 as a polynomial in q = (a - 4) / (a + 4),
# a in [0, 27.3] <=> q in [-1, 0.745]; degree 22, relative error 1.4e-16 on
# (1 + p). One polynomial over the whole range (after Schonfelder 1978 and
# Shepherd & Laframboise 1981) needs no region selection and so vectorizes.
_ERFCX_K = 4.0
_ERFC_UNDERFLOW = 27.3  # erfc(a) < 2**-1075 beyond: the result is 0
_NCDF_UNDERFLOW = 38.6  # _ERFC_UNDERFLOW * sqrt(2)
_P = (
    0.2329951186255525,
    -0.139621116840563,
    0.015379652102620904,
    0.0680970542547489,
    -0.10103906603637113,
    0.09373283499644948,
    -0.06633036581098181,
    0.03716751556728251,
    -0.01619773406600353,
    0.005031969718085954,
    -0.0007577732954840211,
    -0.00019925532023619804,
    0.00015062206890459584,
    -2.440377951088812e-05,
    -1.1224409495691277e-05,
    5.719202639486679e-06,
    3.009447887665133e-07,
    -8.369718566922844e-07,
    6.274390813048865e-08,
    1.1678811853589329e-07,
    -7.388758662870743e-09,
    -1.4172474941367695e-08,
    -2.0359969061043516e-09,
)
(
    _P0,
    _P1,
    _P2,
    _P3,
    _P4,
    _P5,
    _P6,
    _P7,
    _P8,
    _P9,
    _P10,
    _P11,
    _P12,
    _P13,
    _P14,
    _P15,
    _P16,
    _P17,
    _P18,
    _P19,
    _P20,
    _P21,
    _P22,
) = _P
ERFCX_SHIFT = _ERFCX_K
"""``K`` of the variable ``q = (a - K) / (a + K)`` of the erfcx polynomial."""
ERFCX_COEFFICIENTS = _P
"""Coefficients (constant term first) of ``(1 + 2a) erfcx(a) - 1`` in ``q``."""


@nb.njit(**_JIT)
def _erfcx_poly(q):
    # Second-order Horner (even and odd powers in q^2) halves the dependency
    # chain of the degree-22 polynomial.
    q2 = q * q
    e = fma(_P22, q2, _P20)
    o = fma(_P21, q2, _P19)
    e = fma(e, q2, _P18)
    o = fma(o, q2, _P17)
    e = fma(e, q2, _P16)
    o = fma(o, q2, _P15)
    e = fma(e, q2, _P14)
    o = fma(o, q2, _P13)
    e = fma(e, q2, _P12)
    o = fma(o, q2, _P11)
    e = fma(e, q2, _P10)
    o = fma(o, q2, _P9)
    e = fma(e, q2, _P8)
    o = fma(o, q2, _P7)
    e = fma(e, q2, _P6)
    o = fma(o, q2, _P5)
    e = fma(e, q2, _P4)
    o = fma(o, q2, _P3)
    e = fma(e, q2, _P2)
    o = fma(o, q2, _P1)
    e = fma(e, q2, _P0)
    return fma(o, q, e)


@nb.njit(**_JIT)
def erfcx_pos(a):
    """Scaled complementary error function ``exp(a**2) * erfc(a)`` for ``a >= 0``.

    Parameters
    ----------
    a : float
        ``0 <= a <= 27.3`` for the stated accuracy (3 ulp); finite larger
        values return a finite, inaccurate number (callers multiply it by an
        ``exp(-a**2)`` that has underflowed to 0).

    Returns
    -------
    float
        ``erfcx(a)``, in ``(0, 1]``.
    """
    # One division gives both 1/(a+K) and 1/(1+2a).
    den_q = a + _ERFCX_K
    den_c = fma(2.0, a, 1.0)
    inv = 1.0 / (den_q * den_c)
    q = (a - _ERFCX_K) * (inv * den_c)
    # Correct q by its residual (a - K) - q (a + K), computed as
    # a - K (1 + q) - q a so that no cancellation of rounded terms occurs.
    t = fma(q + 1.0, -_ERFCX_K, a)
    res = fma(q, -a, t)
    q = fma(inv * den_c, res, q)
    p = _erfcx_poly(q)
    # (1 + p) / (1 + 2a), refined by one residual step.
    rc = inv * den_q
    y = fma(p, rc, rc)
    res = (p - y) + fma(-2.0 * y, a, 1.0)
    return fma(res, rc, y)


@nb.njit(**_JIT)
def _exp_neg_sq(x, scale):
    # exp(-scale * x * x) for scale in {0.5, 1}, with the rounding error of
    # x * x carried as a first-order correction (x * x is not exact, and its
    # error would be multiplied by x**2 in the result).
    s = x * x
    e = fma(x, x, -s)
    return exp(-scale * s) * fma(-scale, e, 1.0)


@nb.njit(**_JIT)
def erfc(x):
    """Complementary error function.

    Parameters
    ----------
    x : float
        Any float64.

    Returns
    -------
    float
        ``erfc(x)`` with full relative accuracy in the upper tail down to
        underflow (``x`` up to 27.3, 0 beyond); ``2`` for ``x = -inf``,
        ``nan`` for ``nan``. Max error 3 ulp.
    """
    a = abs(x)
    r = erfcx_pos(a) * _exp_neg_sq(a, 1.0)
    r = r if a < _ERFC_UNDERFLOW else 0.0
    r = 2.0 - r if x < 0.0 else r
    return r if x == x else x


_INV_SQRT2 = 0.7071067811865475244
_INV_SQRT2PI = 0.3989422804014326779


@nb.njit(**_JIT)
def ncdf_npdf(x):
    """Standard normal CDF and density at one point, sharing one ``exp``.

    Parameters
    ----------
    x : float
        Any float64.

    Returns
    -------
    (float, float)
        ``(N(x), phi(x))``. ``N`` keeps full relative accuracy in the lower
        tail down to underflow (``x > -38.6``), max error 4 ulp; ``phi`` max
        error 4 ulp.
    """
    g = _exp_neg_sq(x, 0.5)  # exp(-x^2 / 2), exact square correction included
    t = 0.5 * erfcx_pos(abs(x) * _INV_SQRT2) * g  # N(-|x|)
    t = t if abs(x) < _NCDF_UNDERFLOW else 0.0
    cdf = t if x < 0.0 else 1.0 - t
    cdf = cdf if x == x else x
    return cdf, _INV_SQRT2PI * g


@nb.njit(**_JIT)
def ncdf(x):
    """Standard normal cumulative distribution function ``N(x)``; see :func:`ncdf_npdf`."""
    return ncdf_npdf(x)[0]


@nb.njit(**_JIT)
def npdf(x):
    """Standard normal density ``exp(-x**2/2) / sqrt(2 pi)``; max error 4 ulp."""
    return _INV_SQRT2PI * _exp_neg_sq(x, 0.5)


# ---------------------------------------------------------------------------
# sin and cos of 2 pi u (for Box-Muller)
# ---------------------------------------------------------------------------

_TWO_PI = 6.283185307179586477
# (sin x - x) / x^3 and (cos x - 1 + x^2/2) / x^4 as polynomials in z = x^2,
# |x| <= pi/4.
_S0, _S1, _S2, _S3, _S4, _S5 = (
    -0.16666666666666666,
    0.008333333333330924,
    -0.00019841269836726584,
    2.755731608805071e-06,
    -2.5051129160919358e-08,
    1.591795537970186e-10,
)
_C0, _C1, _C2, _C3, _C4, _C5 = (
    0.041666666666666664,
    -0.0013888888888887387,
    2.480158729875255e-05,
    -2.75573172657712e-07,
    2.0876145165228382e-09,
    -1.1382560929416054e-11,
)


@nb.njit(**_JIT)
def sincos2pi(u):
    """``(sin(2 pi u), cos(2 pi u))`` for a finite ``u`` (turns).

    Parameters
    ----------
    u : float
        Angle in turns; ``|u| < 2**50`` so that the quadrant split is exact.

    Returns
    -------
    (float, float)
        Sine and cosine, absolute error below 2e-16 for ``u`` in ``[0, 1)``.
    """
    nq = (4.0 * u + _ROUND_SHIFT) - _ROUND_SHIFT
    v = u - 0.25 * nq  # exact, |v| <= 1/8
    x = _TWO_PI * v
    z = x * x
    ps = fma(fma(fma(fma(fma(_S5, z, _S4), z, _S3), z, _S2), z, _S1), z, _S0)
    pc = fma(fma(fma(fma(fma(_C5, z, _C4), z, _C3), z, _C2), z, _C1), z, _C0)
    s = fma(x * z, ps, x)
    c = fma(z * z, pc, fma(-0.5, z, 1.0))
    # Rotate by nq quarter turns with integer bit operations on the results:
    # compare-and-select on the quadrant number turns into a jump table, which
    # does not vectorize.
    n = int(nq)
    bs = f64_as_i64(s)
    bc = f64_as_i64(c)
    swap = (bs ^ bc) & -(n & 1)  # odd quadrant: sin <-> cos
    sin_bits = (bs ^ swap) ^ ((n & 2) << 62)  # quadrants 2, 3: negate sin
    cos_bits = (bc ^ swap) ^ (((n + 1) & 2) << 62)  # quadrants 1, 2: negate cos
    return i64_as_f64(sin_bits), i64_as_f64(cos_bits)
