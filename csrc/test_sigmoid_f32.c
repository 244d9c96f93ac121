/*
 * test_sigmoid_f32 - every instruction set's float32 K->sigmoid against the
 * scalar float pybp__sigmoid, bit for bit: every float from -110 to 110 at
 * steps of 2^-10 with a random last few bits, every 4093rd bit pattern of
 * all 2^32 (NaNs with payloads, subnormals, infinities), the neighbours of
 * where float's exponential overflows, becomes subnormal and underflows,
 * and every length 0 .. 65 at every offset in a 64-byte line.  Both in the
 * mode the float32 entry points run in (subnormals flushed on x86) and in
 * the caller's.  Includes pybp_f32.c for its internals.
 */
#include "pybp_f32.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static long failures;

/* K->sigmoid on v[0..n-1] copied to element offset off, against the scalar
 * function; the elements around stay untouched. */
static void check(const pybp__kern *K, const char *isa, const float *v,
                  size_t n, size_t off)
{
    float *buf = malloc((n + off + 16) * sizeof *buf);
    size_t i;
    if (buf == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < n + off + 16; i++)
        buf[i] = -1.25f;
    for (i = 0; i < n; i++)
        buf[off + i] = v[i];
    K->sigmoid(buf + off, n);
    for (i = 0; i < n + off + 16; i++) {
        float want = i >= off && i < off + n ? pybp__sigmoid(v[i - off])
                                             : -1.25f;
        if (to_bits(buf[i]) != to_bits(want)) {
            if (failures < 20)
                fprintf(stderr, "%s n=%zu off=%zu i=%zu: sigmoid(%a) = %a, "
                        "scalar %a\n", isa, n, off, i,
                        i >= off && i < off + n ? (double)v[i - off] : 0.0,
                        (double)buf[i], (double)want);
            failures++;
        }
    }
    free(buf);
}

static size_t add_near(float *v, size_t n, float x)
{
    int i;
    for (i = -3; i <= 3; i++) {
        v[n++] = from_bits(to_bits(x) + (uint32_t)i);
        v[n++] = -from_bits(to_bits(x) + (uint32_t)i);
    }
    return n;
}

int main(void)
{
    static const int isas[] = {PYBP_ISA_SCALAR, PYBP_ISA_AVX2,
                               PYBP_ISA_AVX512, PYBP_ISA_NEON};
    static const char *names[] = {"scalar", "avx2", "avx512", "neon"};
    size_t cap = 2000000, n = 0, i, len, off;
    float *v = malloc(cap * sizeof *v);
    uint64_t u;
    int t, mode, tested = 0;
    if (v == NULL)
        return 2;
    for (i = 0; i <= 220u * 1024u; i++)        /* -110 .. 110 */
        v[n++] = from_bits(to_bits((float)(-110.0 + (double)i / 1024.0))
                           ^ (rng() & 15));
    for (u = 0; u < 0x100000000ULL; u += 4093)  /* all bit patterns */
        v[n++] = from_bits((uint32_t)u);
    n = add_near(v, n, 88.7228394f);            /* exp overflows in float */
    n = add_near(v, n, 87.3365479f);            /* e^-x: float's normals */
    n = add_near(v, n, 103.972084f);            /* e^-x: below subnormals */
    n = add_near(v, n, 0.0f);
    n = add_near(v, n, 1.17549435e-38f);
    n = add_near(v, n, 1.0f);
    n = add_near(v, n, 3.40282347e+38f);
    v[n++] = INFINITY;
    v[n++] = -INFINITY;
    v[n++] = from_bits(0x7fc00000u);
    v[n++] = from_bits(0x7f800001u);           /* signaling */
    v[n++] = from_bits(0xffc12345u);
    for (mode = 0; mode < 2; mode++) {
        pybp__fpmode saved = mode ? pybp__fp_enter() : 0;
        for (t = 0; t < 4; t++) {
            const pybp__kern *K;
            if (!pybp_isa_supported(isas[t]))
                continue;
            K = pybp__kernels(isas[t]);
            tested += mode == 0;
            check(K, names[t], v, n, 0);
            check(K, names[t], v, n, 5);
            for (len = 0; len <= 65; len++)
                for (off = 0; off < 16; off++)
                    for (i = 0; i + len <= n; i += 199999)
                        check(K, names[t], v + i, len, off);
            printf("sigmoid_f32 %s%s: %zu values\n", names[t],
                   mode ? " (float32 calls' mode)" : "", n);
        }
        if (mode)
            pybp__fp_leave(saved);
    }
    free(v);
    if (failures != 0 || tested < 1) {
        printf("%ld failed\n", failures);
        return 1;
    }
    printf("sigmoid_f32: %d instruction sets, 0 failed\n", tested);
    return 0;
}
