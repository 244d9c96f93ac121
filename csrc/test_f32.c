/*
 * test_f32.c - the float32 functions (pybp_*_f32): the float64 results up
 * to single-precision rounding, the same bits on every instruction set and
 * thread count, and the same argument checks as float64.
 *
 * Tolerances (the only ones here) compare a float32 result r with the
 * float64 result e computed from the same, float-rounded, parameters and
 * inputs: max |r - e| <= tol * (max |e| + 1e-3) over the array.
 */
#include "test_util.h"

#include <math.h>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

typedef struct case_f {
    const char *name;
    size_t nlayers;
    size_t sizes[5];
    int acts[4];
    int cost;
} case_f;

static const case_f cases[] = {
    {"sigmoid quadratic", 3, {9, 30, 10}, {PYBP_SIGMOID, PYBP_SIGMOID},
     PYBP_QUADRATIC},
    {"tanh relu identity quadratic", 4, {7, 17, 33, 3},
     {PYBP_TANH, PYBP_RELU, PYBP_IDENTITY}, PYBP_QUADRATIC},
    {"relu sigmoid cross-entropy", 3, {12, 20, 5}, {PYBP_RELU, PYBP_SIGMOID},
     PYBP_CROSS_ENTROPY},
    {"sigmoid softmax log-likelihood", 3, {16, 40, 10},
     {PYBP_SIGMOID, PYBP_SOFTMAX}, PYBP_LOG_LIKELIHOOD},
    {"deep tanh", 5, {5, 8, 19, 6, 2},
     {PYBP_TANH, PYBP_TANH, PYBP_SIGMOID, PYBP_TANH}, PYBP_QUADRATIC},
};
#define NCASES (sizeof cases / sizeof cases[0])

#define COUNT 150

static float *falloc(size_t n)
{
    return xmalloc(n * sizeof(float));
}

/* max |r - e| <= tol * (max |e| + 1e-3) */
static int close_to(const float *r, const double *e, size_t n, double tol)
{
    double err = 0.0, top = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)r[i] - e[i]);
        if (!(d <= err))
            err = d;                  /* NaN sticks */
        if (fabs(e[i]) > top)
            top = fabs(e[i]);
    }
    return err <= tol * (top + 1e-3);
}

/* One case: parameters, inputs and targets in both types, the float64
 * copies holding the float-rounded values. */
typedef struct fix {
    pybp_net net;
    size_t P, n0, nL;
    double *p64, *x64, *y;
    float *p32, *x32;
    unsigned char *xu8;
    int32_t *labels;
    size_t perm[COUNT];
} fix;

static void fix_init(fix *f, const case_f *c)
{
    size_t i;
    f->net = make_net(c->nlayers, c->sizes, c->acts, c->cost);
    CHECK_ST(pybp_nparams(&f->net, &f->P), PYBP_OK);
    f->n0 = c->sizes[0];
    f->nL = c->sizes[c->nlayers - 1];
    f->p64 = dalloc(f->P);
    f->p32 = falloc(f->P);
    f->x64 = dalloc(COUNT * f->n0);
    f->x32 = falloc(COUNT * f->n0);
    f->y = dalloc(COUNT * f->nL);
    f->xu8 = xmalloc(COUNT * f->n0);
    f->labels = xmalloc(COUNT * sizeof(int32_t));
    for (i = 0; i < f->P; i++) {
        f->p32[i] = (float)rng_uniform(-1.0, 1.0);
        f->p64[i] = f->p32[i];
    }
    for (i = 0; i < COUNT * f->n0; i++) {
        f->x32[i] = (float)rng_uniform(-1.5, 1.5);
        f->x64[i] = f->x32[i];
        f->xu8[i] = (unsigned char)rng_below(256);
    }
    for (i = 0; i < COUNT; i++)
        f->labels[i] = (int32_t)rng_below(f->nL);
    for (i = 0; i < COUNT * f->nL; i++)
        f->y[i] = 0.0;
    for (i = 0; i < COUNT; i++)
        f->y[i * f->nL + (size_t)f->labels[i]] = 1.0;
    shuffle(f->perm, COUNT);
}

static void fix_free(fix *f)
{
    free(f->p64);
    free(f->p32);
    free(f->x64);
    free(f->x32);
    free(f->y);
    free(f->xu8);
    free(f->labels);
}

static pybp_data data_of(size_t count, const double *x64, const float *x32,
                         const unsigned char *xu8, const double *y,
                         const int32_t *labels)
{
    pybp_data d;
    memset(&d, 0, sizeof d);
    d.count = count;
    d.x = x64;
    d.x_f32 = x32;
    d.x_u8 = xu8;
    d.x_divisor = xu8 != NULL ? 255.0 : 0.0;
    d.y = y;
    d.labels = labels;
    return d;
}

static size_t ws64(const pybp_net *net, size_t batch)
{
    size_t w = 0;
    CHECK_ST(pybp_workspace_size(net, batch, &w), PYBP_OK);
    return w;
}

static size_t ws32(const pybp_net *net, size_t batch)
{
    size_t w = 0;
    CHECK_ST(pybp_workspace_size_f32(net, batch, &w), PYBP_OK);
    return w;
}

/* ------------------------------------------------------------------------ */

/* float32 against float64 on the same rounded numbers, every function. */
static void test_agreement(void)
{
    size_t c, i;
    for (c = 0; c < NCASES; c++) {
        fix f;
        pybp_data d64, d32;
        size_t nw64, nw32, P, nout, right64 = 0, right32 = 0;
        double *w64, *o64, *g64, cost64 = 0.0, cost32 = 0.0, tr64 = 0.0;
        double tr32 = 0.0;
        float *w32, *o32, *g32, *q32;
        fix_init(&f, &cases[c]);
        P = f.P;
        nout = COUNT * f.nL;
        d64 = data_of(COUNT, f.x64, NULL, NULL, NULL, f.labels);
        d32 = data_of(COUNT, NULL, f.x32, NULL, NULL, f.labels);
        nw64 = ws64(&f.net, 10);
        nw32 = ws32(&f.net, 10);
        /* the same examples per chunk in fewer bytes */
        CHECK(nw32 * sizeof(float) <= nw64 * sizeof(double));
        w64 = dalloc(nw64);
        w32 = falloc(nw32);
        o64 = dalloc(nout);
        o32 = falloc(nout);
        g64 = dalloc(P);
        g32 = falloc(P);
        q32 = falloc(P);

        CHECK_ST(pybp_feedforward(&f.net, f.p64, P, &d64, o64, nout, w64,
                                  nw64), PYBP_OK);
        CHECK_ST(pybp_feedforward_f32(&f.net, f.p32, P, &d32, o32, nout,
                                      w32, nw32), PYBP_OK);
        CHECK(close_to(o32, o64, nout, 1e-5));

        CHECK_ST(pybp_cost(&f.net, f.p64, P, &d64, &cost64, w64, nw64),
                 PYBP_OK);
        CHECK_ST(pybp_cost_f32(&f.net, f.p32, P, &d32, &cost32, w32, nw32),
                 PYBP_OK);
        CHECK(fabs(cost32 - cost64) <= 1e-5 * (fabs(cost64) + 1e-3));

        CHECK_ST(pybp_gradient(&f.net, f.p64, P, &d64, g64, P, w64, nw64),
                 PYBP_OK);
        CHECK_ST(pybp_gradient_f32(&f.net, f.p32, P, &d32, g32, P, w32,
                                   nw32), PYBP_OK);
        CHECK(close_to(g32, g64, P, 1e-4));

        /* evaluate agrees with the argmax of its own outputs */
        CHECK_ST(pybp_evaluate_f32(&f.net, f.p32, P, &d32, &right32, w32,
                                   nw32), PYBP_OK);
        for (i = 0; i < COUNT; i++) {
            const float *o = o32 + i * f.nL;
            size_t j, best = 0;
            for (j = 1; j < f.nL; j++)
                if (o[j] > o[best])
                    best = j;
            right64 += best == (size_t)f.labels[i];
        }
        CHECK(right32 == right64);

        /* two epochs of SGD, batch 10, L2: parameters and running cost */
        memcpy(q32, f.p32, P * sizeof(float));
        for (i = 0; i < 2; i++) {
            CHECK_ST(pybp_sgd_epoch(&f.net, f.p64, P, &d64, f.perm, COUNT,
                                    10, 0.1, 1.0, COUNT, &tr64, w64, nw64),
                     PYBP_OK);
            CHECK_ST(pybp_sgd_epoch_f32(&f.net, q32, P, &d32, f.perm, COUNT,
                                        10, 0.1, 1.0, COUNT, &tr32, w32,
                                        nw32), PYBP_OK);
        }
        CHECK(close_to(q32, f.p64, P, 1e-4));
        CHECK(fabs(tr32 - tr64) <= 1e-5 * (fabs(tr64) + 1e-3));

        /* one update_mini_batch step on dense targets */
        d64 = data_of(COUNT, f.x64, NULL, NULL, f.y, NULL);
        d32 = data_of(COUNT, NULL, f.x32, NULL, f.y, NULL);
        free(w64);
        free(w32);
        nw64 = ws64(&f.net, COUNT);
        nw32 = ws32(&f.net, COUNT);
        w64 = dalloc(nw64);
        w32 = falloc(nw32);
        for (i = 0; i < P; i++)
            f.p64[i] = q32[i];
        CHECK_ST(pybp_update_mini_batch(&f.net, f.p64, P, &d64, 0.5, 0.0, 1,
                                        w64, nw64), PYBP_OK);
        CHECK_ST(pybp_update_mini_batch_f32(&f.net, q32, P, &d32, 0.5, 0.0,
                                            1, w32, nw32), PYBP_OK);
        CHECK(close_to(q32, f.p64, P, 1e-4));

        free(w64); free(w32); free(o64); free(o32); free(g64); free(g32);
        free(q32);
        fix_free(&f);
    }
}

/* Every instruction set and thread count gives the same float32 bits, and
 * uint8 inputs give the bits of their float values. */
static void test_same_bits(void)
{
    static const int threads[] = {1, 2, 3, 4};
    size_t c, t, i;
    int isa;
    for (c = 0; c < NCASES; c++) {
        fix f;
        pybp_data du8, dtab;
        size_t P, nw;
        float *base, *q, *w, *tab, *g0, *g;
        double tr0 = 0.0;
        fix_init(&f, &cases[c]);
        P = f.P;
        nw = ws32(&f.net, 64);
        w = falloc(nw);
        base = falloc(P);
        q = falloc(P);
        g0 = falloc(P);
        g = falloc(P);
        tab = falloc(COUNT * f.n0);
        for (i = 0; i < COUNT * f.n0; i++)
            tab[i] = (float)((double)f.xu8[i] / 255.0);
        du8 = data_of(COUNT, NULL, NULL, f.xu8, NULL, f.labels);
        dtab = data_of(COUNT, NULL, tab, NULL, NULL, f.labels);

        f.net.isa = PYBP_ISA_SCALAR;
        memcpy(base, f.p32, P * sizeof(float));
        CHECK_ST(pybp_sgd_epoch_f32(&f.net, base, P, &du8, f.perm, COUNT,
                                    64, 1.0, 0.5, COUNT, &tr0, w, nw),
                 PYBP_OK);
        CHECK_ST(pybp_gradient_f32(&f.net, f.p32, P, &du8, g0, P, w, nw),
                 PYBP_OK);
        for (isa = PYBP_ISA_SCALAR; isa <= PYBP_ISA_NEON; isa++) {
            if (!pybp_isa_supported(isa))
                continue;
            f.net.isa = isa;
            CHECK_ST(pybp_gradient_f32(&f.net, f.p32, P, &dtab, g, P, w, nw),
                     PYBP_OK);
            CHECK(memcmp(g, g0, P * sizeof(float)) == 0);
            for (t = 0; t < sizeof threads / sizeof threads[0]; t++) {
                double tr = 0.0;
                f.net.threads = threads[t];
                memcpy(q, f.p32, P * sizeof(float));
                CHECK_ST(pybp_sgd_epoch_f32(&f.net, q, P,
                                            t % 2 ? &dtab : &du8, f.perm,
                                            COUNT, 64, 1.0, 0.5, COUNT, &tr,
                                            w, nw), PYBP_OK);
                CHECK(memcmp(q, base, P * sizeof(float)) == 0);
                CHECK(memcmp(&tr, &tr0, sizeof tr) == 0);
            }
            f.net.threads = 0;
        }
        free(w); free(base); free(q); free(g0); free(g); free(tab);
        fix_free(&f);
    }
}

/* The float32 functions check what the float64 ones check, and refuse
 * inputs of the other type; on error the parameters are untouched. */
static void test_arguments(void)
{
    static const size_t sizes[] = {3, 4, 2};
    static const int acts[] = {PYBP_SIGMOID, PYBP_SIGMOID};
    static const size_t huge[] = {(size_t)1 << 40, (size_t)1 << 40, 2};
    pybp_net net = make_net(3, sizes, acts, PYBP_QUADRATIC);
    pybp_net big = make_net(3, huge, acts, PYBP_QUADRATIC);
    float p[26], before[26], out[4], g[26], *w;
    double x64[6] = {0}, y[4] = {1, 0, 0, 1}, total = 0.0;
    float x32[6] = {0};
    int32_t labels[2] = {0, 1}, bad_labels[2] = {0, 2};
    size_t perm[2] = {0, 1}, bad_perm[2] = {0, 2}, nw, n, i, right;
    pybp_data d = data_of(2, NULL, x32, NULL, NULL, labels);
    pybp_data d_both = data_of(2, NULL, x32, (const unsigned char *)"abcdef",
                               NULL, labels);
    pybp_data d_x64 = data_of(2, x64, NULL, NULL, NULL, labels);
    pybp_data d_mixed = data_of(2, x64, x32, NULL, NULL, labels);
    pybp_data d_badlab = data_of(2, NULL, x32, NULL, NULL, bad_labels);
    pybp_data d_y = data_of(2, NULL, x32, NULL, y, NULL);
    double p64[26] = {0}, o64[4], *w64;

    CHECK_ST(pybp_nparams(&net, &n), PYBP_OK);
    CHECK(n == 26);
    for (i = 0; i < 26; i++)
        before[i] = p[i] = (float)rng_uniform(-1.0, 1.0);
    nw = ws32(&net, 2);
    w = falloc(nw);

    CHECK_ST(pybp_workspace_size_f32(&net, 0, &n), PYBP_ESIZE);
    CHECK_ST(pybp_workspace_size_f32(&net, 1, NULL), PYBP_ENULL);
    CHECK_ST(pybp_workspace_size_f32(&big, 1, &n), PYBP_EOVERFLOW);
    CHECK_ST(pybp_workspace_size_f32(&net, SIZE_MAX / 2, &n),
             PYBP_EOVERFLOW);

    CHECK_ST(pybp_feedforward_f32(&net, p, 26, &d, out, 4, w, nw), PYBP_OK);
    CHECK_ST(pybp_feedforward_f32(&net, p, 26, &d_x64, out, 4, w, nw),
             PYBP_EDATA);
    CHECK_ST(pybp_feedforward_f32(&net, p, 26, &d_mixed, out, 4, w, nw),
             PYBP_EDATA);
    CHECK_ST(pybp_feedforward_f32(&net, p, 26, &d_both, out, 4, w, nw),
             PYBP_EDATA);
    CHECK_ST(pybp_feedforward_f32(&net, p, 25, &d, out, 4, w, nw),
             PYBP_ELENGTH);
    CHECK_ST(pybp_feedforward_f32(&net, p, 26, &d, out, 3, w, nw),
             PYBP_ELENGTH);
    CHECK_ST(pybp_feedforward_f32(&net, p, 26, &d, out, 4, w, 10),
             PYBP_EWORKSPACE);
    CHECK_ST(pybp_feedforward_f32(&net, NULL, 26, &d, out, 4, w, nw),
             PYBP_ENULL);
    /* the float64 functions refuse float32 inputs */
    w64 = dalloc(ws64(&net, 2));
    CHECK_ST(pybp_feedforward(&net, p64, 26, &d, o64, 4, w64, ws64(&net, 2)),
             PYBP_EDATA);
    free(w64);
    CHECK_ST(pybp_cost_f32(&net, p, 26, &d, NULL, w, nw), PYBP_ENULL);
    CHECK_ST(pybp_cost_f32(&net, p, 26, &d_badlab, &total, w, nw),
             PYBP_ELABEL);
    CHECK_ST(pybp_gradient_f32(&net, p, 26, &d, g, 25, w, nw), PYBP_ELENGTH);
    CHECK_ST(pybp_gradient_f32(&net, p, 26, &d_y, g, 26, w, nw), PYBP_OK);
    CHECK_ST(pybp_evaluate_f32(&net, p, 26, &d_x64, &right, w, nw),
             PYBP_EDATA);
    CHECK_ST(pybp_update_mini_batch_f32(&net, p, 26, &d, NAN, 0.0, 2, w,
                                        nw), PYBP_EVALUE);
    CHECK_ST(pybp_update_mini_batch_f32(&net, p, 26, &d, 0.1, -1.0, 2, w,
                                        nw), PYBP_EVALUE);
    CHECK_ST(pybp_update_mini_batch_f32(&net, p, 26, &d, 0.1, 0.0, 0, w,
                                        nw), PYBP_ESIZE);
    CHECK_ST(pybp_sgd_epoch_f32(&net, p, 26, &d, bad_perm, 2, 1, 0.1, 0.0,
                                2, NULL, w, nw), PYBP_EINDEX);
    CHECK_ST(pybp_sgd_epoch_f32(&net, p, 26, &d_badlab, perm, 2, 1, 0.1,
                                0.0, 2, NULL, w, nw), PYBP_ELABEL);
    CHECK_ST(pybp_sgd_epoch_f32(&net, p, 26, &d, perm, 2, 2, INFINITY, 0.0,
                                2, NULL, w, nw), PYBP_EVALUE);
    CHECK_ST(pybp_sgd_epoch_f32(&net, p, 26, &d, perm, 2, 0, 0.1, 0.0, 2,
                                NULL, w, nw), PYBP_ESIZE);
    CHECK_ST(pybp_sgd_epoch_f32(&net, p, 26, &d, perm, 2, 2, 0.1, 0.0, 2,
                                NULL, w, ws32(&net, 1)), PYBP_EWORKSPACE);
    CHECK(memcmp(p, before, sizeof p) == 0);
    CHECK_ST(pybp_sgd_epoch_f32(&net, p, 26, &d, perm, 2, 2, 0.1, 0.0, 2,
                                NULL, w, nw), PYBP_OK);
    CHECK(memcmp(p, before, sizeof p) != 0);
    free(w);
}

/* float32 calls flush subnormals to zero while they run (x86), and give
 * the caller its floating-point mode back; float64 never flushes. */
static void test_fp_mode(void)
{
    static const size_t sizes[] = {4, 40, 3};
    static const int acts[] = {PYBP_SIGMOID, PYBP_SIGMOID};
    pybp_net net = make_net(3, sizes, acts, PYBP_QUADRATIC);
    volatile double tiny = 1e-300, scale = 1e-10;
    float p[323], x[4 * 64], out[3 * 64], *w;
    int32_t labels[64];
    size_t perm[64], i, nw;
    pybp_data d;
#ifdef HAVE_MXCSR
    unsigned before = _mm_getcsr();
#endif
    for (i = 0; i < 323; i++)
        p[i] = (float)rng_uniform(-3.0, 3.0);
    for (i = 0; i < 4 * 64; i++)
        x[i] = (float)rng_uniform(0.0, 1.0);
    for (i = 0; i < 64; i++)
        labels[i] = (int32_t)(i % 3);
    shuffle(perm, 64);
    d = data_of(64, NULL, x, NULL, NULL, labels);
    nw = ws32(&net, 64);
    w = falloc(nw);
    net.threads = 4;
    CHECK_ST(pybp_feedforward_f32(&net, p, 323, &d, out, 3 * 64, w, nw),
             PYBP_OK);
    CHECK_ST(pybp_sgd_epoch_f32(&net, p, 323, &d, perm, 64, 64, 3.0, 0.0, 64,
                                NULL, w, nw), PYBP_OK);
#ifdef HAVE_MXCSR
    CHECK((_mm_getcsr() & ~0x3fu) == (before & ~0x3fu));   /* not flags */
#endif
    CHECK(tiny * scale != 0.0);       /* subnormal doubles still work */
    free(w);
}

/*
 * pybp's float exp, log and tanh are its double ones rounded once to float:
 * exactly so, and so within float's rounding (2^-24 relative, with a margin
 * for subnormal results) of the double values.  Arguments cover the float
 * range, zeros, infinities and the points where the results overflow.
 */
static void test_elementary_f32(void)
{
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 88.0f,
                                    88.8f, -87.0f, -103.0f, -104.0f, 1e-40f,
                                    3.4028235e38f, 0.55f, 22.0f, -22.0f};
    uint32_t state = 12345u;
    int i, bad_round = 0, bad_close = 0;
    for (i = 0; i < 200000 + (int)(sizeof special / sizeof special[0]); i++) {
        float x;
        int f;
        if (i < (int)(sizeof special / sizeof special[0])) {
            x = special[i];
        } else {
            uint32_t u;
            state = state * 1664525u + 1013904223u;
            u = state;
            memcpy(&x, &u, sizeof x);
            if (x != x)
                continue;
        }
        for (f = 0; f < 3; f++) {
            double d = f == 0 ? pybp_exp(x) : f == 1 ? pybp_log(x) : pybp_tanh(x);
            float g = f == 0 ? pybp_expf(x) : f == 1 ? pybp_logf(x) : pybp_tanhf(x);
            if (d != d) {
                bad_round += !(g != g);
                continue;
            }
            if (memcmp(&(float){(float)d}, &g, sizeof g) != 0)
                bad_round++;
            if (isfinite(g) && fabs((double)g - d) > 6e-8 * fabs(d) + 1.5e-45)
                bad_close++;
        }
    }
    CHECK(bad_round == 0);
    CHECK(bad_close == 0);
}

int main(void)
{
    test_elementary_f32();
    test_agreement();
    test_same_bits();
    test_arguments();
    test_fp_mode();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
