/* The arithmetic peak of one core, in GFLOP/s, float64 and float32.
 *
 *   cc -O2 -march=native -ffp-contract=off bench/peak.c -o peak && ./peak [seconds]
 *
 * bench/grid.py compiles and runs it to put pybp's GFLOP/s in proportion.
 * The loop updates 12 independent vectors as x = x * m + a: enough
 * chains to cover the latency of a multiply followed by an add, so the
 * time is set by how many vector operations the core issues per cycle.
 * Built with -ffp-contract=off it is a multiply, then an add (2 flops in
 * 2 instructions), the arithmetic of pybp's exact kernels; with
 * -ffp-contract=fast the compiler fuses them (2 flops in 1 instruction)
 * where the CPU can.  m and a keep x near 1: no overflow, no subnormals.
 *
 * The vectors are GCC/Clang vector extensions as wide as the widest
 * registers -march=native enables.  Prints "float64 G" and "float32 G",
 * each the best of 5 timings of about `seconds` (default 0.2) each.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX__)
#define VBYTES 32
#else
#define VBYTES 16
#endif

typedef double vd __attribute__((vector_size(VBYTES)));
typedef float vf __attribute__((vector_size(VBYTES)));

/* Read at run time so that the compiler cannot fold the loop away. */
static volatile double mul_value = 0.999, add_value = 0.001;

#define CHAINS 12

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One kernel per element type: `iters` rounds of x_k = x_k * m + a over
 * CHAINS vectors; returns the sum of every lane so the work is used. */
#define STEP(k) x##k = x##k * m + a
#define KERNEL(NAME, V, T)                                                   \
    static double NAME(long iters)                                           \
    {                                                                        \
        V m = (V){0} + (T)mul_value, a = (V){0} + (T)add_value;              \
        V x0 = (V){0} + (T)0.10, x1 = (V){0} + (T)0.11;                      \
        V x2 = (V){0} + (T)0.12, x3 = (V){0} + (T)0.13;                      \
        V x4 = (V){0} + (T)0.14, x5 = (V){0} + (T)0.15;                      \
        V x6 = (V){0} + (T)0.16, x7 = (V){0} + (T)0.17;                      \
        V x8 = (V){0} + (T)0.18, x9 = (V){0} + (T)0.19;                      \
        V x10 = (V){0} + (T)0.20, x11 = (V){0} + (T)0.21;                    \
        for (long i = 0; i < iters; i++) {                                   \
            STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5);            \
            STEP(6); STEP(7); STEP(8); STEP(9); STEP(10); STEP(11);          \
        }                                                                    \
        V s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;  \
        double total = 0.0;                                                  \
        for (unsigned j = 0; j < sizeof(V) / sizeof(T); j++)                 \
            total += (double)s[j];                                           \
        return total;                                                        \
    }

KERNEL(run_f64, vd, double)
KERNEL(run_f32, vf, float)

/* GFLOP/s of the best of 5 runs of about `seconds`: 2 flops per lane per
 * update. */
static double measure(double (*run)(long), unsigned lanes, double seconds, double *sink)
{
    long iters = 1000;
    double took;
    for (;;) { /* grow the count until one run takes a tenth of the target */
        double t = now();
        *sink += run(iters);
        took = now() - t;
        if (took > seconds / 10 || iters > (1L << 40))
            break;
        iters *= 4;
    }
    iters = (long)((double)iters * seconds / (took > 1e-9 ? took : 1e-9)) + 1;
    double best = 1e300;
    for (int r = 0; r < 5; r++) {
        double t = now();
        *sink += run(iters);
        t = now() - t;
        if (t < best)
            best = t;
    }
    return 2.0 * CHAINS * lanes * (double)iters / best / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.2;
    if (!(seconds > 0 && seconds < 60)) {
        fprintf(stderr, "peak: seconds must be in (0, 60)\n");
        return 2;
    }
    double sink = 0.0;
    double g64 = measure(run_f64, sizeof(vd) / sizeof(double), seconds, &sink);
    double g32 = measure(run_f32, sizeof(vf) / sizeof(float), seconds, &sink);
    printf("float64 %.2f\nfloat32 %.2f\n", g64, g32);
    /* The sums are printed where nobody looks, so that they are computed. */
    fprintf(stderr, "peak: vector width %d bytes, checksum %g\n", VBYTES, sink);
    return 0;
}
