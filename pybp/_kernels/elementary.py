"""pybp's own exp, log, log1p and tanh: fixed sequences of IEEE-754 double operations.

Python's ``math.exp``, ``math.log`` and ``math.tanh`` are the platform's libm,
and libms differ (glibc with and without FMA, musl, macOS, Windows) in the
last bit of a few results in a thousand.  The functions below use only
rounded ``+ - * /``, comparisons, multiplication by powers of two and
``math.frexp`` (which is exact: it only splits a double into its significand
and exponent), so every IEEE-754 platform computes the same bits.  The C
core's csrc/pybp_elementary.h performs the same operations in the same
order, and the tests compare both bit for bit.

The algorithms are the classic table-free ones (as in Sun's fdlibm), and the
polynomial coefficients are the published minimax ones for these reduced
ranges; docs/exactness.md describes each function and its measured error.
Every expression is written so that Python's left-to-right evaluation is the
order the C code uses; do not "simplify" one without the other.

Special values follow C99 Annex F: exp(-inf) = +0, exp(+inf) = +inf, exp
overflows to +inf and underflows gradually to subnormal numbers and +0;
log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf (and log1p likewise at
x = -1, below and at +inf); tanh keeps the sign of
zero, tanh(+-inf) = +-1; a NaN argument is returned as it came.
"""

import math
from struct import pack, unpack

__all__ = ["exp", "log", "log1p", "tanh", "expm1_reduced"]

_INF = math.inf
_NAN = math.nan


def _bits_to_float(u):
    return unpack("<d", pack("<Q", u))[0]


# 2**k for k = -1022 .. 1023, built from their bits: _POW2[k + 1022].
_POW2 = [_bits_to_float((k + 1023) << 52) for k in range(-1022, 1024)]
_TWO_M54 = _bits_to_float((1023 - 54) << 52)   # 2**-54

# 1.5 * 2**52: x + _SHIFT - _SHIFT rounds x to the nearest integer (ties to
# even) for |x| < 2**51, with the same two rounded additions in C.
_SHIFT = 6755399441055744.0

# ln 2 = _LN2_HI + _LN2_LO.  _LN2_HI has 32 significant bits (its last 21 are
# zero), so k * _LN2_HI is exact for |k| < 2**21.
_LN2_HI = 6.93147180369123816490e-01     # 0x3FE62E42FEE00000
_LN2_LO = 1.90821492927058770002e-10     # 0x3DEA39EF35793C76
_INV_LN2 = 1.44269504088896338700e+00    # 0x3FF71547652B82FE

# exp: above _EXP_OVER the result overflows, below _EXP_UNDER it is +0.
_EXP_OVER = 7.09782712893383973096e+02    # 0x40862E42FEFA39EF
_EXP_UNDER = -7.45133219101941108420e+02  # 0xC0874910D52D3051

# exp(r) on |r| <= ln2/2: r*(exp(r)+1)/(exp(r)-1) = 2 + r^2*P(r^2) (minimax).
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08


def exp(x):
    """e**x.  x = k*ln2 + r, |r| <= ln2/2 (about); e**x = 2**k * e**r."""
    if x != x:
        return x
    if x > _EXP_OVER:
        return _INF
    if x < _EXP_UNDER:
        return 0.0
    kd = x * _INV_LN2 + _SHIFT - _SHIFT     # the nearest integer to x/ln2
    hi = x - kd * _LN2_HI                   # exact
    lo = kd * _LN2_LO
    r = hi - lo
    rr = r * r
    c = r - rr * (_P1 + rr * (_P2 + rr * (_P3 + rr * (_P4 + rr * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)   # e**r, about 0.7 .. 1.42
    k = int(kd)
    if k >= -1021:
        if k <= 1023:
            return y * _POW2[k + 1022]
        return y * 2.0 * _POW2[1023 + 1022]      # k = 1024
    return y * _POW2[k + 54 + 1022] * _TWO_M54   # one rounding, gradual underflow


# log(1+f) = f - f^2/2 + s*(f^2/2 + R(s^2)), s = f/(2+f), on
# sqrt(1/2) <= 1+f < sqrt(2); R(z) = z*(Lg1 + Lg2*z + ... + Lg7*z^6) (minimax).
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_SQRT_HALF = 0.7071067811865476         # 0x3FE6A09E667F3BCD, sqrt(1/2) rounded

_frexp = math.frexp


def log(x):
    """The natural logarithm.  x = 2**e * m, sqrt(1/2) <= m < sqrt(2)."""
    if x > 0.0:
        if x == _INF:
            return x
        m, e = _frexp(x)          # exact: x = m * 2**e, 0.5 <= m < 1
        if m < _SQRT_HALF:
            m = m + m             # exact
            e = e - 1
        f = m - 1.0               # exact (Sterbenz)
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
        t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
        R = t2 + t1
        hfsq = 0.5 * f * f
        dk = float(e)
        return dk * _LN2_HI - ((hfsq - (s * (hfsq + R) + dk * _LN2_LO)) - f)
    if x == 0.0:
        return -_INF
    if x != x:
        return x
    return _NAN


def log1p(x):
    """ln(1 + x), accurate for tiny x: log(u) corrected for the rounding of u = 1 + x.

    When 1 + x rounds to 1, x itself is ln(1 + x) correctly rounded (|x| <
    2**-53).  Otherwise u - 1 is exact for u <= 2 (Sterbenz) and (u - 1) - x
    is then exactly the rounding error d of u; ln(1 + x) = ln(u) + ln(1 - d/u)
    = ln(u) - d/u to within |d/u|**2 < 2**-106.  For u > 2 the correction is
    below half an ulp of ln(u) and harmless.
    """
    u = 1.0 + x
    if u == 1.0:
        return x                  # keeps -0.0, tiny and subnormal x
    if u <= 0.0 or u == _INF:
        return log(u)             # -inf at x = -1, NaN below, +inf at +inf
    return log(u) - ((u - 1.0) - x) / u


# expm1(r) on |r| <= ln2/2: with h = r/2, r*h*(1 + h*r*Q(r*h)) (minimax).
_Q1 = -3.33333333333331316428e-02
_Q2 = 1.58730158725481460165e-03
_Q3 = -7.93650757867487942473e-05
_Q4 = 4.00821782732936239552e-06
_Q5 = -2.01099218183624371326e-07


def expm1_reduced(x):
    """e**x - 1 for finite |x| <= 64 (the range tanh needs; no overflow).

    x = k*ln2 + (r + c), r = hi - lo rounded and c its rounding error; then
    e**x - 1 = 2**k * (expm1(r + c) + 1) - 1, arranged per k so that the
    final subtraction is exact or harmless.
    """
    kd = x * _INV_LN2 + _SHIFT - _SHIFT
    hi = x - kd * _LN2_HI
    lo = kd * _LN2_LO
    r = hi - lo
    c = (hi - r) - lo
    k = int(kd)
    hfx = 0.5 * r
    hxs = r * hfx
    r1 = 1.0 + hxs * (_Q1 + hxs * (_Q2 + hxs * (_Q3 + hxs * (_Q4 + hxs * _Q5))))
    t = 3.0 - r1 * hfx
    e = hxs * ((r1 - t) / (6.0 - r * t))
    if k == 0:
        return r - (r * e - hxs)
    e = r * (e - c) - c
    e = e - hxs
    if k == -1:
        return 0.5 * (r - e) - 0.5
    if k == 1:
        if r < -0.25:
            return -2.0 * (e - (r + 0.5))
        return 1.0 + 2.0 * (r - e)
    two_k = _POW2[k + 1022]
    if k <= -2 or k > 56:
        y = 1.0 - (e - r)
        return y * two_k - 1.0
    if k < 20:
        y = (1.0 - _POW2[1022 - k]) - (e - r)
        return y * two_k
    y = r - (e + _POW2[1022 - k])
    y = y + 1.0
    return y * two_k


# tanh(x) = x + x*(z*T(z)), z = x*x, on |x| < 0.55: T holds the Taylor
# coefficients 2^2n (2^2n - 1) B_2n / (2n)! of x^3 .. x^39 (B = Bernoulli
# numbers), each rounded to the nearest double; the first neglected term is
# below 2**-58 relative.
_T = (
    -0.3333333333333333, 0.13333333333333333, -0.05396825396825397,
    0.021869488536155203, -0.008863235529902197, 0.003592128036572481,
    -0.0014558343870513183, 0.000590027440945586, -0.00023912911424355248,
    9.691537956929451e-05, -3.927832388331683e-05, 1.5918905069328964e-05,
    -6.451689215655431e-06, 2.6147711512907546e-06, -1.0597268320104654e-06,
    4.294911078273806e-07, -1.7406618963571648e-07, 7.054636946400968e-08,
    -2.859136662305254e-08,
)
_T_REV = _T[-2::-1]                      # x^37 .. x^3, the Horner order
_T_LAST = _T[-1]
_TANH_TINY = 3.725290298461914e-09      # 2**-28: below it tanh(x) rounds to x


def tanh(x):
    """tanh(x): a polynomial below 0.55, 1 - 2/(expm1(2|x|) + 2) above; odd."""
    if x != x:
        return x
    a = -x if x < 0.0 else x
    if a < 0.55:
        if a < _TANH_TINY:
            return x              # keeps -0.0 and subnormals
        z = x * x
        p = _T_LAST
        for c in _T_REV:
            p = c + z * p
        return x + x * (z * p)    # odd: exact sign symmetry
    if a >= 22.0:
        y = 1.0                   # 1 - tanh(22) < 2**-63
    else:
        t = expm1_reduced(a + a)
        y = 1.0 - 2.0 / (t + 2.0)
    return -y if x < 0.0 else y
