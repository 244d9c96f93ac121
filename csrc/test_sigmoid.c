/*
 * test_sigmoid - every instruction set's K->sigmoid against the scalar
 * pybp__sigmoid, bit for bit: a dense sweep of [-750, 750], finer sweeps
 * where exp's scaling of 2^k changes, random bit patterns (all exponents,
 * NaNs with payloads, subnormals), the special values and the thresholds of
 * exp with their neighbours, and every length 0 .. 33 at every offset in a
 * 64-byte line (for the scalar tails).  Includes pybp.c for its internals.
 */
#include "pybp.c"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static long failures;

/* Applies K->sigmoid to v[0..n-1] in a copy at element offset off and
 * compares with the scalar function; the elements around stay untouched. */
static void check(const pybp__kern *K, const char *isa, const double *v,
                  size_t n, size_t off)
{
    double *buf = malloc((n + off + 8) * sizeof *buf);
    size_t i;
    if (buf == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < n + off + 8; i++)
        buf[i] = -1.25;
    for (i = 0; i < n; i++)
        buf[off + i] = v[i];
    K->sigmoid(buf + off, n);
    for (i = 0; i < n + off + 8; i++) {
        double want = i >= off && i < off + n ? pybp__sigmoid(v[i - off])
                                              : -1.25;
        if (pybp__to_bits(buf[i]) != pybp__to_bits(want)) {
            if (failures < 20)
                fprintf(stderr,
                        "%s n=%zu off=%zu i=%zu: sigmoid(%a) = %a, "
                        "scalar %a\n", isa, n, off, i,
                        i >= off && i < off + n ? v[i - off] : 0.0, buf[i],
                        want);
            failures++;
        }
    }
    free(buf);
}

static size_t add(double *v, size_t n, double x)
{
    v[n++] = x;
    v[n++] = -x;
    return n;
}

/* x and its two neighbours, of both signs. */
static size_t add_near(double *v, size_t n, double x)
{
    n = add(v, n, x);
    n = add(v, n, nextafter(x, INFINITY));
    return add(v, n, nextafter(x, -INFINITY));
}

int main(void)
{
    static const int isas[] = {PYBP_ISA_SCALAR, PYBP_ISA_AVX2,
                               PYBP_ISA_AVX512, PYBP_ISA_NEON};
    static const char *names[] = {"scalar", "avx2", "avx512", "neon"};
    size_t cap = 4000000, n = 0, i, len, off;
    double *v = malloc(cap * sizeof *v), x;
    int t, k, tested = 0;
    if (v == NULL)
        return 2;
    for (x = -750.0; x <= 750.0; x += 1.0 / 64.0)    /* exact steps */
        v[n++] = x + (double)(rng() >> 11) * 0x1p-53 / 64.0;
    /* where (int)kd changes near the subnormal scaling and overflow */
    for (k = -1080; k <= -1015; k++)
        for (i = 0; i < 2000; i++)
            v[n++] = ((double)k + 0.5) * 6.93147180559945309417e-01
                     + ((double)i - 1000.0) * 0x1p-40;
    for (i = 0; i < 2000; i++)
        v[n++] = 1023.5 * 6.93147180559945309417e-01
                 + ((double)i - 1000.0) * 0x1p-40;
    for (i = 0; i < 1000000; i++) {                 /* all bit patterns */
        v[n++] = pybp__from_bits(rng());
    }
    n = add_near(v, n, 7.09782712893383973096e+02);
    n = add_near(v, n, 7.45133219101941108420e+02);
    n = add_near(v, n, 0.0);
    n = add_near(v, n, DBL_MIN);
    n = add_near(v, n, 0x1p-1074);
    n = add_near(v, n, DBL_MIN - 0x1p-1074);
    n = add_near(v, n, DBL_MAX);
    n = add_near(v, n, 1.0);
    n = add(v, n, INFINITY);
    n = add(v, n, NAN);
    n = add(v, n, pybp__from_bits(0x7ff0000000000001ULL));  /* signaling */
    n = add(v, n, pybp__from_bits(0x7ff8000000012345ULL));
    for (t = 0; t < 4; t++) {
        const pybp__kern *K;
        if (!pybp_isa_supported(isas[t]))
            continue;
        K = pybp__kernels(isas[t]);
        tested++;
        check(K, names[t], v, n, 0);
        check(K, names[t], v, n, 3);
        for (len = 0; len <= 33; len++)
            for (off = 0; off < 8; off++)
                for (i = 0; i + len <= n; i += 99991)
                    check(K, names[t], v + i, len, off);
        printf("sigmoid %s: %zu values\n", names[t], n);
    }
    free(v);
    if (failures != 0 || tested < 1) {
        printf("%ld failed\n", failures);
        return 1;
    }
    printf("sigmoid: %d instruction sets, 0 failed\n", tested);
    return 0;
}
