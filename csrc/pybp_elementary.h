/*
 * pybp_elementary.h - pybp's own exp, log, log1p and tanh, without libm.
 *
 * Each function is a fixed sequence of IEEE-754 double operations (rounded
 * + - * /, comparisons, exact scaling by powers of two built from their
 * bits), the same sequence as pybp/_kernels/elementary.py, which defines
 * them; so they give the same bits on every platform.  docs/exactness.md
 * describes the algorithms and their measured errors.  Compile without
 * contraction (-ffp-contract=off) or fast-math, like the rest of pybp.
 *
 * The float versions are the double ones applied to the (exact) widening
 * of the argument, rounded once to float.
 *
 * The text between the export-c markers is also emitted, verbatim, by
 * pybp/export_c.py into exported models (tests/test_export_c.py checks it).
 */
#ifndef PYBP_ELEMENTARY_H_INCLUDED
#define PYBP_ELEMENTARY_H_INCLUDED

#include <math.h>     /* INFINITY and NAN only */
#include <stdint.h>
#include <string.h>

/* pybp elementary begin */
static inline double pybp__from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t pybp__to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* 2^k for -1022 <= k <= 1023. */
static inline double pybp__pow2(int k)
{
    return pybp__from_bits((uint64_t)(k + 1023) << 52);
}

/* 1.5 * 2^52: (x + SHIFT) - SHIFT is x rounded to the nearest integer. */
#define PYBP__SHIFT 6755399441055744.0
/* ln 2 = LN2_HI + LN2_LO; k * LN2_HI is exact for |k| < 2^21. */
#define PYBP__LN2_HI 6.93147180369123816490e-01
#define PYBP__LN2_LO 1.90821492927058770002e-10
#define PYBP__INV_LN2 1.44269504088896338700e+00

/* exp's polynomial in r (rr = r * r), one term at a time; the vector exp
 * of the C core's kernels computes the same expression. */
#define PYBP__EXP_POLY(r, rr)                                            \
    ((r) - (rr) * (1.66666666666666019037e-01                            \
                 + (rr) * (-2.77777777770155933842e-03                   \
                 + (rr) * (6.61375632143793436117e-05                    \
                 + (rr) * (-1.65339022054652515390e-06                   \
                 + (rr) * 4.13813679705723846039e-08)))))

/* e^x: x = k*ln2 + r, e^x = 2^k * e^r. */
static inline double pybp__exp(double x)
{
    double kd, hi, lo, r, rr, c, y;
    int k;
    if (x != x)
        return x;
    if (x > 7.09782712893383973096e+02)
        return INFINITY;
    if (x < -7.45133219101941108420e+02)
        return 0.0;
    kd = x * PYBP__INV_LN2 + PYBP__SHIFT - PYBP__SHIFT;
    hi = x - kd * PYBP__LN2_HI;
    lo = kd * PYBP__LN2_LO;
    r = hi - lo;
    rr = r * r;
    c = PYBP__EXP_POLY(r, rr);
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    k = (int)kd;
    if (k >= -1021) {
        if (k <= 1023)
            return y * pybp__pow2(k);
        return y * 2.0 * pybp__pow2(1023);
    }
    return y * pybp__pow2(k + 54) * pybp__pow2(-54);
}

/* Natural logarithm: x = 2^e * m, sqrt(1/2) <= m < sqrt(2), f = m - 1. */
static inline double pybp__log(double x)
{
    uint64_t u;
    int e;
    double m, f, s, z, w, t1, t2, R, hfsq, dk;
    if (x > 0.0) {
        if (x > 1.7976931348623157e+308)
            return x;
        u = pybp__to_bits(x);
        e = (int)(u >> 52);
        if (e == 0) {                      /* subnormal: scale by 2^54 */
            u = pybp__to_bits(x * pybp__pow2(54));
            e = (int)(u >> 52) - 54;
        }
        e = e - 1022;
        m = pybp__from_bits((u & 0x000fffffffffffffULL)
                            | 0x3fe0000000000000ULL);   /* 0.5 <= m < 1 */
        if (m < 0.7071067811865476) {
            m = m + m;
            e = e - 1;
        }
        f = m - 1.0;
        s = f / (2.0 + f);
        z = s * s;
        w = z * z;
        t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01
                + w * 1.531383769920937332e-01));
        t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
                + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
        R = t2 + t1;
        hfsq = 0.5 * f * f;
        dk = (double)e;
        return dk * PYBP__LN2_HI
            - ((hfsq - (s * (hfsq + R) + dk * PYBP__LN2_LO)) - f);
    }
    if (x == 0.0)
        return -INFINITY;
    if (x != x)
        return x;
    return NAN;
}

/* e^x - 1 for finite |x| <= 64 (what tanh needs). */
static inline double pybp__expm1_reduced(double x)
{
    double kd, hi, lo, r, c, hfx, hxs, r1, t, e, y, two_k;
    int k;
    kd = x * PYBP__INV_LN2 + PYBP__SHIFT - PYBP__SHIFT;
    hi = x - kd * PYBP__LN2_HI;
    lo = kd * PYBP__LN2_LO;
    r = hi - lo;
    c = (hi - r) - lo;
    k = (int)kd;
    hfx = 0.5 * r;
    hxs = r * hfx;
    r1 = 1.0 + hxs * (-3.33333333333331316428e-02
            + hxs * (1.58730158725481460165e-03
            + hxs * (-7.93650757867487942473e-05
            + hxs * (4.00821782732936239552e-06
            + hxs * -2.01099218183624371326e-07))));
    t = 3.0 - r1 * hfx;
    e = hxs * ((r1 - t) / (6.0 - r * t));
    if (k == 0)
        return r - (r * e - hxs);
    e = r * (e - c) - c;
    e = e - hxs;
    if (k == -1)
        return 0.5 * (r - e) - 0.5;
    if (k == 1) {
        if (r < -0.25)
            return -2.0 * (e - (r + 0.5));
        return 1.0 + 2.0 * (r - e);
    }
    two_k = pybp__pow2(k);
    if (k <= -2 || k > 56) {
        y = 1.0 - (e - r);
        return y * two_k - 1.0;
    }
    if (k < 20) {
        y = (1.0 - pybp__pow2(-k)) - (e - r);
        return y * two_k;
    }
    y = r - (e + pybp__pow2(-k));
    y = y + 1.0;
    return y * two_k;
}

/* tanh: x + x*(z*T(z)) (Taylor, x^3 .. x^39) below 0.55, else
 * 1 - 2/(expm1(2|x|) + 2); odd. */
static inline double pybp__tanh(double x)
{
    static const double T[19] = {
        -0.3333333333333333, 0.13333333333333333, -0.05396825396825397,
        0.021869488536155203, -0.008863235529902197, 0.003592128036572481,
        -0.0014558343870513183, 0.000590027440945586, -0.00023912911424355248,
        9.691537956929451e-05, -3.927832388331683e-05, 1.5918905069328964e-05,
        -6.451689215655431e-06, 2.6147711512907546e-06, -1.0597268320104654e-06,
        4.294911078273806e-07, -1.7406618963571648e-07, 7.054636946400968e-08,
        -2.859136662305254e-08
    };
    double a, z, p, y, t;
    int i;
    if (x != x)
        return x;
    a = x < 0.0 ? -x : x;
    if (a < 0.55) {
        if (a < 3.725290298461914e-09)
            return x;
        z = x * x;
        p = T[18];
        for (i = 17; i >= 0; i--)
            p = T[i] + z * p;
        return x + x * (z * p);
    }
    if (a >= 22.0) {
        y = 1.0;
    } else {
        t = pybp__expm1_reduced(a + a);
        y = 1.0 - 2.0 / (t + 2.0);
    }
    return x < 0.0 ? -y : y;
}
/* pybp elementary end */

/* ln(1 + x): log(u) corrected for the rounding of u = 1 + x (see
 * elementary.py's log1p); x itself when u rounds to 1. */
static inline double pybp__log1p(double x)
{
    double u = 1.0 + x;
    if (u == 1.0)
        return x;
    if (u <= 0.0 || u > 1.7976931348623157e+308)
        return pybp__log(u);
    return pybp__log(u) - ((u - 1.0) - x) / u;
}

static inline float pybp__expf(float x)
{
    return (float)pybp__exp((double)x);
}

static inline float pybp__logf(float x)
{
    return (float)pybp__log((double)x);
}

static inline float pybp__log1pf(float x)
{
    return (float)pybp__log1p((double)x);
}

static inline float pybp__tanhf(float x)
{
    return (float)pybp__tanh((double)x);
}

#endif /* PYBP_ELEMENTARY_H_INCLUDED */
