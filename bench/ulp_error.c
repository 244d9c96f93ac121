/*
 * ulp_error.c - the largest error, in ulps, of pybp's exp, log and tanh
 * (csrc/pybp_elementary.h) over 10^7 arguments per range, against libm's
 * long double functions (x86's 64-bit significand: 11 bits beyond double,
 * so the reference's own error is about 0.0005 ulp).  Ranges cover each
 * domain, the points near 0, the overflow and underflow thresholds and the
 * ends of the reduced ranges.  tests/test_elementary.py checks a smaller
 * sample against decimal at 50 digits.
 *
 *   cc -std=c99 -O2 -ffp-contract=off -Icsrc bench/ulp_error.c -lm -o ulp_error
 *   ./ulp_error [count]
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

#include "pybp_elementary.h"

static uint64_t state = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)        /* xorshift64* */
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ULL;
}

static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(next() >> 11) * 0x1p-53);
}

/* |got - exact| in ulps of the double nearest exact (subnormal ulp below). */
static double ulps(double got, long double exact)
{
    double near = (double)exact;
    int e;
    long double unit;
    if (isinf(near) || isinf(got))
        return (got == near) ? 0.0 : INFINITY;
    if (near == 0.0) {
        unit = 0x1p-1074L;
    } else {
        frexp(near, &e);
        unit = ldexpl(1.0L, e - 53 < -1074 ? -1074 : e - 53);
    }
    return (double)(fabsl((long double)got - exact) / unit);
}

static long double ref_tanh(double x) { return tanhl((long double)x); }
static long double ref_exp(double x) { return expl((long double)x); }
static long double ref_log(double x) { return logl((long double)x); }

typedef struct {
    const char *name;
    double (*f)(double);
    long double (*ref)(double);
    double lo, hi;
    int logscale;   /* x = 2^uniform(lo, hi) * uniform(1, 2) */
} range_t;

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 10000000L;
    static const range_t ranges[] = {
        {"exp", pybp__exp, ref_exp, -745.13, 709.78, 0},
        {"exp", pybp__exp, ref_exp, -0.35, 0.35, 0},
        {"exp", pybp__exp, ref_exp, -1e-10, 1e-10, 0},
        {"exp", pybp__exp, ref_exp, 700.0, 709.7827128933839, 0},
        {"exp", pybp__exp, ref_exp, -745.1332191019411, -700.0, 0},
        {"exp", pybp__exp, ref_exp, -40.0, 40.0, 0},
        {"log", pybp__log, ref_log, -1075.0, 1024.0, 1},
        {"log", pybp__log, ref_log, 0.70710678, 1.41421357, 0},
        {"log", pybp__log, ref_log, 0.999, 1.001, 0},
        {"log", pybp__log, ref_log, 1e-300, 1e-290, 0},
        {"tanh", pybp__tanh, ref_tanh, -23.0, 23.0, 0},
        {"tanh", pybp__tanh, ref_tanh, -1.2, 1.2, 0},
        {"tanh", pybp__tanh, ref_tanh, 0.5, 0.6, 0},
        {"tanh", pybp__tanh, ref_tanh, -60.0, 0.0, 1},
        {"tanh", pybp__tanh, ref_tanh, 18.0, 23.0, 0},
    };
    size_t r;
    for (r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        const range_t *g = &ranges[r];
        double worst = 0.0, at = 0.0;
        long i;
        for (i = 0; i < count; i++) {
            double x, err;
            if (g->logscale)
                x = ldexp(uniform(1.0, 2.0), (int)floor(uniform(g->lo, g->hi)));
            else
                x = uniform(g->lo, g->hi);
            if (x == 0.0 && g->f == pybp__log)
                continue;
            err = ulps(g->f(x), g->ref(x));
            if (err > worst) {
                worst = err;
                at = x;
            }
        }
        printf("%-4s [%.17g, %.17g]%s: %ld arguments, max %.4f ulp at %.17g\n",
               g->name, g->lo, g->hi, g->logscale ? " (log scale)" : "",
               count, worst, at);
    }
    return 0;
}
