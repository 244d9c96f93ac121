/*
 * test_pybp.c - checks the results of the pybp C core and feeds every entry
 * point bad arguments.  Prints "N passed, M failed"; exits non-zero on any
 * failure.
 *
 * Exactness checks compare bytes (memcmp), as docs/math.md requires for
 * float64; the only tolerances are against finite differences and decimal
 * literals, stated where they are used.
 */
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t nparams_of(const pybp_net *net)
{
    size_t p = 0;
    CHECK_ST(pybp_nparams(net, &p), PYBP_OK);
    return p;
}

static size_t ws_of(const pybp_net *net, size_t batch)
{
    size_t w = 0;
    CHECK_ST(pybp_workspace_size(net, batch, &w), PYBP_OK);
    return w;
}

/* pybp's log1p (pybp_elementary.h), through the public pybp_log. */
static double log1p_of(double x)
{
    double u = 1.0 + x;
    if (u == 1.0)
        return x;
    return pybp_log(u) - ((u - 1.0) - x) / u;
}

static pybp_data data_f64(size_t count, const double *x, const double *y,
                          const int32_t *labels)
{
    pybp_data d;
    memset(&d, 0, sizeof d);
    d.count = count;
    d.x = x;
    d.y = y;
    d.labels = labels;
    return d;
}

/* ------------------------------------------------------------------------ */

static void test_strings(void)
{
    int i, j;
    CHECK(strcmp(pybp_version(), "0.1.0") == 0);
    CHECK(pybp_compiler() != NULL && pybp_compiler()[0] != '\0');
    for (i = PYBP_OK; i <= PYBP_EPARAMS; i++) {
        CHECK(pybp_strerror(i) != NULL);
        CHECK(strcmp(pybp_strerror(i), "unknown pybp status") != 0);
        for (j = PYBP_OK; j < i; j++)
            CHECK(strcmp(pybp_strerror(i), pybp_strerror(j)) != 0);
    }
    CHECK(strcmp(pybp_strerror(-1), "unknown pybp status") == 0);
    CHECK(strcmp(pybp_strerror(PYBP_EPARAMS + 1), "unknown pybp status") == 0);
}

static void test_sizes(void)
{
    static const size_t s1[] = {2, 2, 1}, s2[] = {784, 30, 10};
    static const int a1[] = {PYBP_RELU, PYBP_IDENTITY};
    static const int a2[] = {PYBP_SIGMOID, PYBP_SIGMOID};
    pybp_net n1 = make_net(3, s1, a1, PYBP_QUADRATIC);
    pybp_net n2 = make_net(3, s2, a2, PYBP_QUADRATIC);
    size_t w1, w2, w10;

    CHECK(nparams_of(&n1) == 9);
    CHECK(nparams_of(&n2) == 23860);
    w1 = ws_of(&n2, 1);
    w2 = ws_of(&n2, 2);
    w10 = ws_of(&n2, 10);
    /* the sum buffer S plus a per-example part that grows linearly */
    CHECK(w1 > 23860);
    CHECK(w2 > w1);
    CHECK(w10 - w1 == 9 * (w2 - w1));
}

/*
 * A network small enough to work by hand, in exact binary fractions:
 * sizes {2, 2, 1}, relu hidden, identity output, quadratic cost.
 *   W1 = [[0.5, -1], [1, 0.25]], b1 = [0.25, -0.5], W2 = [[2, -1]], b2 = [0.5]
 *   x = [1, 2], y = [1]:
 *   z1 = [-1.25, 1], a1 = [0, 1], z2 = a2 = -0.5, C = 0.5 * 1.5^2 = 1.125
 *   BP1 delta2 = -1.5;  BP2 delta1 = [2*-1.5*0, -1*-1.5*1] = [-0, 1.5]
 *   grad = W1 [0, 0, 1.5, 3], b1 [0, 1.5], W2 [0, -1.5], b2 [-1.5]
 * The zeros are +0.0: each sum starts at 0.0 and 0.0 + -0.0 = +0.0.
 */
static void test_hand_network(void)
{
    static const size_t sizes[] = {2, 2, 1};
    static const int acts[] = {PYBP_RELU, PYBP_IDENTITY};
    static const double p0[9] = {0.5, -1.0, 1.0, 0.25, 0.25, -0.5,
                                 2.0, -1.0, 0.5};
    static const double x[4] = {1.0, 2.0, 0.5, -1.0};
    static const double y[2] = {1.0, -0.25};
    static const double grad1[9] = {0.0, 0.0, 1.5, 3.0, 0.0, 1.5,
                                    0.0, -1.5, -1.5};
    /* eta 0.5, lmbda 0.5, n 4, m 1: decay 0.9375, step 0.5 */
    static const double upd1[9] = {0.46875, -0.9375, 0.1875, -1.265625,
                                   0.25, -1.25, 1.875, -0.1875, 1.25};
    pybp_net net = make_net(3, sizes, acts, PYBP_QUADRATIC);
    pybp_data d1 = data_f64(1, x, y, NULL), d2 = data_f64(2, x, y, NULL);
    size_t nwork = ws_of(&net, 2), i, correct = 99;
    double *work = dalloc(nwork);
    double out[2], grad[9], params[9], total;

    CHECK_ST(pybp_feedforward(&net, p0, 9, &d1, out, 1, work, nwork), PYBP_OK);
    CHECK(out[0] == -0.5);
    total = 0.0;
    CHECK_ST(pybp_cost(&net, p0, 9, &d1, &total, work, nwork), PYBP_OK);
    CHECK(total == 1.125);
    CHECK_ST(pybp_gradient(&net, p0, 9, &d1, grad, 9, work, nwork), PYBP_OK);
    CHECK(same(grad, grad1, 9));
    for (i = 0; i < 9; i++)
        CHECK(!signbit(grad[i]) || grad[i] != 0.0);

    memcpy(params, p0, sizeof params);
    CHECK_ST(pybp_update_mini_batch(&net, params, 9, &d1, 0.5, 0.5, 4, work,
                                    nwork), PYBP_OK);
    CHECK(same(params, upd1, 9));

    /* Second example x = [0.5, -1], y = -0.25:
     *   z1 = [0.25 + 1 + 0.25, 0.5 - 0.25 - 0.5] = [1.5, -0.25], a1 = [1.5, 0]
     *   z2 = 3 + 0.5 = 3.5, C = 0.5 * 3.75^2 = 7.03125, delta2 = 3.75
     *   delta1 = [7.5, -3.75 * 0] = [7.5, -0]
     *   grad = W1 [3.75, -7.5, -0, 0], b1 [7.5, -0], W2 [5.625, 0], b2 [3.75]
     * Batch of both: the per-parameter sums divided by 2. */
    CHECK_ST(pybp_feedforward(&net, p0, 9, &d2, out, 2, work, nwork), PYBP_OK);
    CHECK(out[0] == -0.5 && out[1] == 3.5);
    total = 0.0;
    CHECK_ST(pybp_cost(&net, p0, 9, &d2, &total, work, nwork), PYBP_OK);
    CHECK(total == 1.125 + 7.03125);
    CHECK_ST(pybp_gradient(&net, p0, 9, &d2, grad, 9, work, nwork), PYBP_OK);
    {
        static const double g2[9] = {1.875, -3.75, 0.75, 1.5, 3.75, 0.75,
                                     2.8125, -0.75, 1.125};
        CHECK(same(grad, g2, 9));
    }
    /* evaluate with one output: always class 0 */
    {
        static const int32_t labels[2] = {0, 0};
        pybp_data dl = data_f64(2, x, NULL, labels);
        CHECK_ST(pybp_evaluate(&net, p0, 9, &dl, &correct, work, nwork),
                 PYBP_OK);
        CHECK(correct == 2);
    }
    free(work);
}

/* Parameters that are not all finite: every entry point refuses them with
 * PYBP_EPARAMS and writes nothing (a ReLU would map a NaN weight to a
 * plausible 0). */
static void test_nonfinite_params(void)
{
    static const size_t sizes[] = {2, 2, 1};
    static const int acts[] = {PYBP_RELU, PYBP_IDENTITY};
    static const double x[2] = {1.0, 2.0};
    static const double y[1] = {1.0};
    static const int32_t labels[1] = {0};
    const double bad[3] = {NAN, INFINITY, -INFINITY};
    pybp_net net = make_net(3, sizes, acts, PYBP_QUADRATIC);
    pybp_data d = data_f64(1, x, y, NULL), dl = data_f64(1, x, NULL, labels);
    size_t nwork = ws_of(&net, 1), perm[1] = {0}, correct = 99, b, at;
    double *work = dalloc(nwork);
    double params[9], keep[9], out[1] = {7.0}, grad[9], total = 0.5;

    for (b = 0; b < 3; b++)
        for (at = 0; at < 9; at += 4) {
            fill_uniform(params, 9, -1.0, 1.0);
            params[at] = bad[b];
            memcpy(keep, params, sizeof keep);
            CHECK_ST(pybp_feedforward(&net, params, 9, &d, out, 1, work, nwork),
                     PYBP_EPARAMS);
            CHECK(out[0] == 7.0);
            CHECK_ST(pybp_cost(&net, params, 9, &d, &total, work, nwork),
                     PYBP_EPARAMS);
            CHECK(total == 0.5);
            CHECK_ST(pybp_gradient(&net, params, 9, &d, grad, 9, work, nwork),
                     PYBP_EPARAMS);
            CHECK_ST(pybp_evaluate(&net, params, 9, &dl, &correct, work,
                                   nwork), PYBP_EPARAMS);
            CHECK(correct == 99);
            CHECK_ST(pybp_update_mini_batch(&net, params, 9, &d, 0.5, 0.0, 1,
                                            work, nwork), PYBP_EPARAMS);
            CHECK_ST(pybp_sgd_epoch(&net, params, 9, &d, perm, 1, 1, 0.5, 0.0,
                                    1, &total, work, nwork), PYBP_EPARAMS);
            CHECK(memcmp(params, keep, sizeof keep) == 0 && total == 0.5);
        }
    free(work);
}

/* One-layer networks whose numbers follow from the formulas directly. */
static void test_hand_activations(void)
{
    static const size_t s11[] = {1, 1}, s23[] = {2, 3};
    static const int sig[] = {PYBP_SIGMOID}, th[] = {PYBP_TANH};
    static const int sm[] = {PYBP_SOFTMAX};
    static const double p11[2] = {0.5, -0.25};
    static const double xs[2] = {2.0, -2.0};          /* z = 0.75, -1.25 */
    static const double p23[9] = {0, 0, 0, 0, 0, 0, 1.0, 2.0, 2.0};
    static const double x2[2] = {3.0, -7.0};
    double work[1024], out[3], total, a, e, s, grad[9], yv[1];
    pybp_net net;
    pybp_data d;

    /* sigmoid: both branches */
    net = make_net(2, s11, sig, PYBP_QUADRATIC);
    d = data_f64(2, xs, NULL, NULL);
    CHECK_ST(pybp_feedforward(&net, p11, 2, &d, out, 2, work, 1024), PYBP_OK);
    CHECK(out[0] == 1.0 / (1.0 + pybp_exp(-0.75)));
    e = pybp_exp(-1.25);
    CHECK(out[1] == e / (1.0 + e));
    /* against decimal values (to 1e-15) */
    CHECK(fabs(out[0] - 0.679178699175393) < 1e-15);
    CHECK(fabs(out[1] - 0.222700138825309) < 1e-15);

    /* cross-entropy with y = 0.25: -(0 + 0.25 ln a + 0.75 ln(1 - a)) */
    net = make_net(2, s11, sig, PYBP_CROSS_ENTROPY);
    yv[0] = 0.25;
    d = data_f64(1, xs, yv, NULL);
    total = 0.0;
    CHECK_ST(pybp_cost(&net, p11, 2, &d, &total, work, 1024), PYBP_OK);
    a = 1.0 / (1.0 + pybp_exp(-0.75));
    /* from z = 0.75: (1 - y) z + log1p(e^-z), log1p as pybp computes it */
    CHECK(total == 0.0 + (0.75 * 0.75 + log1p_of(pybp_exp(-0.75))));
    CHECK(fabs(total - -(0.25 * log(a) + 0.75 * log(1.0 - a))) < 1e-15);
    /* BP1 simplified: delta = a - y; dC/dW = delta * x, dC/db = delta */
    CHECK_ST(pybp_gradient(&net, p11, 2, &d, grad, 2, work, 1024), PYBP_OK);
    CHECK(grad[0] == (a - 0.25) * 2.0 && grad[1] == a - 0.25);

    /* tanh, quadratic: delta = (a - y)(1 - a^2) */
    net = make_net(2, s11, th, PYBP_QUADRATIC);
    CHECK_ST(pybp_gradient(&net, p11, 2, &d, grad, 2, work, 1024), PYBP_OK);
    a = tanh(0.75);
    CHECK(grad[1] == (a - 0.25) * (1.0 - a * a));
    CHECK(grad[0] == grad[1] * 2.0);

    /* softmax: z = [1, 2, 2] (W = 0), shift by the first max 2 */
    net = make_net(2, s23, sm, PYBP_LOG_LIKELIHOOD);
    {
        static const int32_t lab[1] = {1};
        double e0 = pybp_exp(-1.0), ee[3], aa[3];
        int j;
        d = data_f64(1, x2, NULL, lab);
        CHECK_ST(pybp_feedforward(&net, p23, 9, &d, out, 3, work, 1024),
                 PYBP_OK);
        ee[0] = e0;
        ee[1] = pybp_exp(0.0);
        ee[2] = pybp_exp(0.0);
        s = 0.0 + ee[0] + ee[1] + ee[2];
        for (j = 0; j < 3; j++)
            aa[j] = ee[j] / s;
        CHECK(same(out, aa, 3));
        CHECK(fabs(out[0] - 0.155362403496964) < 1e-15);
        total = 0.0;
        CHECK_ST(pybp_cost(&net, p23, 9, &d, &total, work, 1024), PYBP_OK);
        /* from z: ln a_1 = (z_1 - top) - ln s */
        CHECK(total == -(0.0 + 1.0 * ((2.0 - 2.0) - pybp_log(s))));
        CHECK(fabs(total - -log(aa[1])) < 1e-15);
        /* log-likelihood BP1: delta = a - onehot */
        CHECK_ST(pybp_gradient(&net, p23, 9, &d, grad, 9, work, 1024),
                 PYBP_OK);
        CHECK(grad[6] == aa[0] && grad[7] == aa[1] - 1.0 && grad[8] == aa[2]);
        CHECK(grad[0] == aa[0] * 3.0 && grad[1] == aa[0] * -7.0);
        CHECK(grad[2] == (aa[1] - 1.0) * 3.0);
    }

    /* a saturated sigmoid output against the wrong target: a rounds to 1,
     * the cost computed from z is z itself (log1p(e^-1000) = 0) */
    {
        static const double big[2] = {1000.0, 0.0};
        static const double one[1] = {1.0}, zero[1] = {0.0};
        net = make_net(2, s11, sig, PYBP_CROSS_ENTROPY);
        d = data_f64(1, one, zero, NULL);
        total = 0.0;
        CHECK_ST(pybp_cost(&net, big, 2, &d, &total, work, 1024), PYBP_OK);
        CHECK(total == 1000.0);
    }
    /* softmax logits [0, 800], label 0: a_0 underflows, the cost is 800 */
    {
        static const size_t s12[2] = {1, 2};
        static const int smx[1] = {PYBP_SOFTMAX};
        static const double p12[4] = {0.0, 0.0, 0.0, 800.0};
        static const double one[1] = {1.0};
        static const int32_t lab0[1] = {0};
        net = make_net(2, s12, smx, PYBP_LOG_LIKELIHOOD);
        d = data_f64(1, one, NULL, lab0);
        total = 0.0;
        CHECK_ST(pybp_cost(&net, p12, 4, &d, &total, work, 1024), PYBP_OK);
        CHECK(total == 800.0);
    }
    /* targets outside the cost's domain are refused */
    {
        static const double one[1] = {1.0}, over[1] = {1.5}, neg[1] = {-0.25};
        static const size_t s12[2] = {1, 2};
        static const int smx[1] = {PYBP_SOFTMAX};
        static const double p12[4] = {0.0, 0.0, 0.0, 1.0};
        static const double y11[2] = {1.0, 1.0}, yneg[2] = {1.5, -0.5};
        static const double yok[2] = {0.25, 0.75};
        net = make_net(2, s11, sig, PYBP_CROSS_ENTROPY);
        d = data_f64(1, one, over, NULL);
        CHECK_ST(pybp_cost(&net, p11, 2, &d, &total, work, 1024), PYBP_EVALUE);
        CHECK_ST(pybp_gradient(&net, p11, 2, &d, grad, 2, work, 1024),
                 PYBP_EVALUE);
        d = data_f64(1, one, neg, NULL);
        CHECK_ST(pybp_cost(&net, p11, 2, &d, &total, work, 1024), PYBP_EVALUE);
        net = make_net(2, s11, sig, PYBP_QUADRATIC);   /* any target */
        CHECK_ST(pybp_cost(&net, p11, 2, &d, &total, work, 1024), PYBP_OK);
        net = make_net(2, s12, smx, PYBP_LOG_LIKELIHOOD);
        d = data_f64(1, one, y11, NULL);
        CHECK_ST(pybp_cost(&net, p12, 4, &d, &total, work, 1024), PYBP_EVALUE);
        d = data_f64(1, one, yneg, NULL);
        CHECK_ST(pybp_cost(&net, p12, 4, &d, &total, work, 1024), PYBP_EVALUE);
        d = data_f64(1, one, yok, NULL);
        CHECK_ST(pybp_cost(&net, p12, 4, &d, &total, work, 1024), PYBP_OK);
    }
}

/* ------------------------------------------------------------------------ */
/* Random networks for the property checks                                  */

typedef struct case_t {
    const char *name;
    size_t nlayers;
    size_t sizes[5];
    int acts[4];
    int cost;
} case_t;

static const case_t cases[] = {
    {"sigmoid quadratic", 3, {4, 5, 3}, {PYBP_SIGMOID, PYBP_SIGMOID},
     PYBP_QUADRATIC},
    {"tanh relu identity quadratic", 4, {3, 6, 5, 2},
     {PYBP_TANH, PYBP_RELU, PYBP_IDENTITY}, PYBP_QUADRATIC},
    {"relu sigmoid cross-entropy", 3, {5, 4, 3}, {PYBP_RELU, PYBP_SIGMOID},
     PYBP_CROSS_ENTROPY},
    {"sigmoid softmax log-likelihood", 3, {4, 7, 4},
     {PYBP_SIGMOID, PYBP_SOFTMAX}, PYBP_LOG_LIKELIHOOD},
    {"softmax only", 2, {6, 3}, {PYBP_SOFTMAX}, PYBP_LOG_LIKELIHOOD},
    {"deep tanh", 5, {2, 3, 4, 3, 2},
     {PYBP_TANH, PYBP_TANH, PYBP_SIGMOID, PYBP_TANH}, PYBP_QUADRATIC},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* A case with random params, inputs, one-hot-compatible labels and the
 * matching dense targets. */
typedef struct fixture {
    pybp_net net;
    size_t P, n0, nL, count;
    double *params, *x, *y;
    unsigned char *xu8;
    double *xq;                       /* xu8 / 255.0 as doubles */
    int32_t *labels;
    double *yhot;                     /* labels as one-hot rows */
} fixture;

static void fixture_init(fixture *f, const case_t *c, size_t count)
{
    size_t i;
    f->net = make_net(c->nlayers, c->sizes, c->acts, c->cost);
    f->P = nparams_of(&f->net);
    f->n0 = c->sizes[0];
    f->nL = c->sizes[c->nlayers - 1];
    f->count = count;
    f->params = dalloc(f->P);
    f->x = dalloc(count * f->n0);
    f->y = dalloc(count * f->nL);
    f->xu8 = xmalloc(count * f->n0);
    f->xq = dalloc(count * f->n0);
    f->labels = xmalloc(count * sizeof(int32_t));
    f->yhot = dalloc(count * f->nL);
    fill_uniform(f->params, f->P, -1.0, 1.0);
    fill_uniform(f->x, count * f->n0, -1.5, 1.5);
    fill_uniform(f->y, count * f->nL, 0.0, 1.0);
    for (i = 0; i < count * f->n0; i++) {
        f->xu8[i] = (unsigned char)rng_below(256);
        f->xq[i] = (double)f->xu8[i] / 255.0;
    }
    for (i = 0; i < count * f->nL; i++)
        f->yhot[i] = 0.0;
    for (i = 0; i < count; i++) {
        f->labels[i] = (int32_t)rng_below(f->nL);
        f->yhot[i * f->nL + (size_t)f->labels[i]] = 1.0;
    }
    /* dense targets must be distributions for log-likelihood to be a cost
     * worth checking; one-hot rows are. */
    if (c->cost == PYBP_LOG_LIKELIHOOD)
        memcpy(f->y, f->yhot, count * f->nL * sizeof(double));
}

static void fixture_free(fixture *f)
{
    free(f->params);
    free(f->x);
    free(f->y);
    free(f->xu8);
    free(f->xq);
    free(f->labels);
    free(f->yhot);
}

/* Central finite differences (eps 1e-6, as PyTorch's gradcheck) against
 * backpropagation: |g - fd| <= 1e-6 (1 + |g|). */
static void test_finite_differences(void)
{
    size_t ci, p;
    for (ci = 0; ci < NCASES; ci++) {
        fixture f;
        pybp_data d;
        size_t nwork, bad = 0;
        double *work, *grad, *pp, cp, cm, fd, eps = 1e-6;
        fixture_init(&f, &cases[ci], 5);
        d = data_f64(f.count, f.x, f.y, NULL);
        nwork = ws_of(&f.net, f.count);
        work = dalloc(nwork);
        grad = dalloc(f.P);
        pp = dalloc(f.P);
        CHECK_ST(pybp_gradient(&f.net, f.params, f.P, &d, grad, f.P, work,
                               nwork), PYBP_OK);
        memcpy(pp, f.params, f.P * sizeof(double));
        for (p = 0; p < f.P; p++) {
            pp[p] = f.params[p] + eps;
            cp = 0.0;
            pybp_cost(&f.net, pp, f.P, &d, &cp, work, nwork);
            pp[p] = f.params[p] - eps;
            cm = 0.0;
            pybp_cost(&f.net, pp, f.P, &d, &cm, work, nwork);
            pp[p] = f.params[p];
            fd = (cp / (double)f.count - cm / (double)f.count) / (2.0 * eps);
            if (!(fabs(grad[p] - fd) <= 1e-6 * (1.0 + fabs(grad[p])))) {
                bad++;
                fprintf(stderr, "%s: param %lu: backprop %.17g, fd %.17g\n",
                        cases[ci].name, (unsigned long)p, grad[p], fd);
            }
        }
        CHECK(bad == 0);
        free(work);
        free(grad);
        free(pp);
        fixture_free(&f);
    }
}

/* The batch gradient is the per-example gradients summed in order, / m. */
static void test_batch_is_mean(void)
{
    size_t ci, i, p, m = 7;
    for (ci = 0; ci < NCASES; ci++) {
        fixture f;
        pybp_data d;
        size_t nwork;
        double *work, *g, *gx, *sum;
        fixture_init(&f, &cases[ci], m);
        nwork = ws_of(&f.net, m);
        work = dalloc(nwork);
        g = dalloc(f.P);
        gx = dalloc(f.P);
        sum = dalloc(f.P);
        d = data_f64(m, f.x, f.y, NULL);
        CHECK_ST(pybp_gradient(&f.net, f.params, f.P, &d, g, f.P, work,
                               nwork), PYBP_OK);
        for (p = 0; p < f.P; p++)
            sum[p] = 0.0;
        for (i = 0; i < m; i++) {
            pybp_data di = data_f64(1, f.x + i * f.n0, f.y + i * f.nL, NULL);
            CHECK_ST(pybp_gradient(&f.net, f.params, f.P, &di, gx, f.P, work,
                                   nwork), PYBP_OK);
            for (p = 0; p < f.P; p++)
                sum[p] += gx[p];
        }
        for (p = 0; p < f.P; p++)
            sum[p] = sum[p] / (double)m;
        CHECK(same(g, sum, f.P));
        free(work);
        free(g);
        free(gx);
        free(sum);
        fixture_free(&f);
    }
}

/* Chunking (workspace sizes from the minimum up) never changes a bit. */
static void test_chunking(void)
{
    size_t ci, wi, count = 65;   /* one forward block of 64, then 1 */
    for (ci = 0; ci < NCASES; ci++) {
        fixture f;
        pybp_data d;
        size_t nbig, nw[5], c0, c1, P, nout;
        double *work, *o0, *o1, *g0, *g1, t0, t1;
        fixture_init(&f, &cases[ci], count);
        P = f.P;
        nout = count * f.nL;
        d = data_f64(count, f.x, f.y, NULL);
        nbig = ws_of(&f.net, count);
        nw[0] = ws_of(&f.net, 1);
        nw[1] = ws_of(&f.net, 1) + 3;
        nw[2] = ws_of(&f.net, 2);
        nw[3] = ws_of(&f.net, 5) - 1;
        nw[4] = ws_of(&f.net, 64);
        work = dalloc(nbig);         /* nbig is the largest */
        o0 = dalloc(nout);
        o1 = dalloc(nout);
        g0 = dalloc(P);
        g1 = dalloc(P);
        CHECK_ST(pybp_feedforward(&f.net, f.params, P, &d, o0, nout, work,
                                  nbig), PYBP_OK);
        t0 = 0.25;
        CHECK_ST(pybp_cost(&f.net, f.params, P, &d, &t0, work, nbig), PYBP_OK);
        CHECK_ST(pybp_gradient(&f.net, f.params, P, &d, g0, P, work, nbig),
                 PYBP_OK);
        CHECK_ST(pybp_evaluate(&f.net, f.params, P, &d, &c0, work, nbig),
                 PYBP_OK);
        for (wi = 0; wi < 5; wi++) {
            CHECK_ST(pybp_feedforward(&f.net, f.params, P, &d, o1, nout, work,
                                      nw[wi]), PYBP_OK);
            CHECK(same(o0, o1, nout));
            t1 = 0.25;
            CHECK_ST(pybp_cost(&f.net, f.params, P, &d, &t1, work, nw[wi]),
                     PYBP_OK);
            CHECK(same(&t0, &t1, 1));
            CHECK_ST(pybp_gradient(&f.net, f.params, P, &d, g1, P, work,
                                   nw[wi]), PYBP_OK);
            CHECK(same(g0, g1, P));
            CHECK_ST(pybp_evaluate(&f.net, f.params, P, &d, &c1, work,
                                   nw[wi]), PYBP_OK);
            CHECK(c0 == c1);
        }
        /* the running total: two pieces give the bits of the whole */
        {
            pybp_data a = data_f64(10, f.x, f.y, NULL);
            pybp_data b = data_f64(count - 10, f.x + 10 * f.n0,
                                   f.y + 10 * f.nL, NULL);
            t1 = 0.25;
            CHECK_ST(pybp_cost(&f.net, f.params, P, &a, &t1, work, nw[0]),
                     PYBP_OK);
            CHECK_ST(pybp_cost(&f.net, f.params, P, &b, &t1, work, nw[0]),
                     PYBP_OK);
            CHECK(same(&t0, &t1, 1));
        }
        free(work);
        free(o0);
        free(o1);
        free(g0);
        free(g1);
        fixture_free(&f);
    }
}

/*
 * An epoch over a permutation equals update_mini_batch on each mini-batch
 * in turn (the examples gathered into their own arrays), with the epoch's
 * cost total equal to each batch's cost before its update; an epoch split
 * at a mini-batch boundary, and a mini_batch_size larger than the epoch,
 * give the same bits too.
 */
static void test_sgd_epoch(void)
{
    size_t ci, count = 11, mbs = 4;
    for (ci = 0; ci < NCASES; ci++) {
        fixture f;
        pybp_data d;
        size_t perm[11], first, c, i, nwork, P;
        double *work, *pa, *pb, *bx, *by, ta, tb;
        double eta = 0.75, lmbda = 0.3;
        fixture_init(&f, &cases[ci], count);
        P = f.P;
        d = data_f64(count, f.x, f.y, NULL);
        shuffle(perm, count);
        nwork = ws_of(&f.net, count);
        work = dalloc(nwork);
        pa = dalloc(P);
        pb = dalloc(P);
        bx = dalloc(mbs * f.n0);
        by = dalloc(mbs * f.nL);

        memcpy(pa, f.params, P * sizeof(double));
        ta = 0.5;
        CHECK_ST(pybp_sgd_epoch(&f.net, pa, P, &d, perm, count, mbs, eta,
                                lmbda, 50, &ta, work, ws_of(&f.net, mbs)),
                 PYBP_OK);
        CHECK(!same(pa, f.params, P));

        memcpy(pb, f.params, P * sizeof(double));
        tb = 0.5;
        for (first = 0; first < count; first += c) {
            pybp_data db;
            c = count - first < mbs ? count - first : mbs;
            for (i = 0; i < c; i++) {
                memcpy(bx + i * f.n0, f.x + perm[first + i] * f.n0,
                       f.n0 * sizeof(double));
                memcpy(by + i * f.nL, f.y + perm[first + i] * f.nL,
                       f.nL * sizeof(double));
            }
            db = data_f64(c, bx, by, NULL);
            CHECK_ST(pybp_cost(&f.net, pb, P, &db, &tb, work, nwork), PYBP_OK);
            CHECK_ST(pybp_update_mini_batch(&f.net, pb, P, &db, eta, lmbda,
                                            50, work, nwork), PYBP_OK);
        }
        CHECK(same(pa, pb, P));
        CHECK(same(&ta, &tb, 1));

        /* split at the boundary after two mini-batches; no cost total */
        memcpy(pb, f.params, P * sizeof(double));
        CHECK_ST(pybp_sgd_epoch(&f.net, pb, P, &d, perm, 8, mbs, eta, lmbda,
                                50, NULL, work, nwork), PYBP_OK);
        CHECK_ST(pybp_sgd_epoch(&f.net, pb, P, &d, perm + 8, count - 8, mbs,
                                eta, lmbda, 50, NULL, work, nwork), PYBP_OK);
        CHECK(same(pa, pb, P));

        /* mini_batch_size beyond the epoch: one batch, needing only its
         * own workspace */
        memcpy(pa, f.params, P * sizeof(double));
        memcpy(pb, f.params, P * sizeof(double));
        CHECK_ST(pybp_sgd_epoch(&f.net, pa, P, &d, perm, 3, SIZE_MAX, eta,
                                lmbda, 50, NULL, work, ws_of(&f.net, 3)),
                 PYBP_OK);
        for (i = 0; i < 3; i++) {
            memcpy(bx + i * f.n0, f.x + perm[i] * f.n0, f.n0 * sizeof(double));
            memcpy(by + i * f.nL, f.y + perm[i] * f.nL, f.nL * sizeof(double));
        }
        {
            pybp_data db = data_f64(3, bx, by, NULL);
            CHECK_ST(pybp_update_mini_batch(&f.net, pb, P, &db, eta, lmbda,
                                            50, work, nwork), PYBP_OK);
        }
        CHECK(same(pa, pb, P));

        /* update_mini_batch is the epoch over the identity permutation with
         * one batch */
        {
            size_t id[11];
            for (i = 0; i < count; i++)
                id[i] = i;
            memcpy(pa, f.params, P * sizeof(double));
            memcpy(pb, f.params, P * sizeof(double));
            CHECK_ST(pybp_sgd_epoch(&f.net, pa, P, &d, id, count, count, eta,
                                    lmbda, 50, NULL, work, nwork), PYBP_OK);
            CHECK_ST(pybp_update_mini_batch(&f.net, pb, P, &d, eta, lmbda, 50,
                                            work, nwork), PYBP_OK);
            CHECK(same(pa, pb, P));
        }
        free(work);
        free(pa);
        free(pb);
        free(bx);
        free(by);
        fixture_free(&f);
    }
}

/*
 * Runs every kernel on data `a` and on data `b` (same values, another form)
 * and checks the results are the same bits.
 */
static void check_same_results(const fixture *f, const pybp_data *a,
                               const pybp_data *b)
{
    size_t P = f->P, nout = f->count * f->nL, nwork, ca, cb, perm[64];
    double *work, *oa, *ob, *pa, *pb, ta, tb;
    nwork = ws_of(&f->net, f->count);
    work = dalloc(nwork);
    oa = dalloc(nout > P ? nout : P);
    ob = dalloc(nout > P ? nout : P);
    pa = dalloc(P);
    pb = dalloc(P);

    CHECK_ST(pybp_feedforward(&f->net, f->params, P, a, oa, nout, work, nwork),
             PYBP_OK);
    CHECK_ST(pybp_feedforward(&f->net, f->params, P, b, ob, nout, work, nwork),
             PYBP_OK);
    CHECK(same(oa, ob, nout));
    ta = tb = 0.0;
    CHECK_ST(pybp_cost(&f->net, f->params, P, a, &ta, work, nwork), PYBP_OK);
    CHECK_ST(pybp_cost(&f->net, f->params, P, b, &tb, work, nwork), PYBP_OK);
    CHECK(same(&ta, &tb, 1));
    CHECK_ST(pybp_gradient(&f->net, f->params, P, a, oa, P, work, nwork),
             PYBP_OK);
    CHECK_ST(pybp_gradient(&f->net, f->params, P, b, ob, P, work, nwork),
             PYBP_OK);
    CHECK(same(oa, ob, P));
    CHECK_ST(pybp_evaluate(&f->net, f->params, P, a, &ca, work, nwork),
             PYBP_OK);
    CHECK_ST(pybp_evaluate(&f->net, f->params, P, b, &cb, work, nwork),
             PYBP_OK);
    CHECK(ca == cb);
    memcpy(pa, f->params, P * sizeof(double));
    memcpy(pb, f->params, P * sizeof(double));
    CHECK_ST(pybp_update_mini_batch(&f->net, pa, P, a, 0.5, 0.01, 100, work,
                                    nwork), PYBP_OK);
    CHECK_ST(pybp_update_mini_batch(&f->net, pb, P, b, 0.5, 0.01, 100, work,
                                    nwork), PYBP_OK);
    CHECK(same(pa, pb, P));
    shuffle(perm, f->count);
    ta = tb = 0.0;
    CHECK_ST(pybp_sgd_epoch(&f->net, pa, P, a, perm, f->count, 3, 0.5, 0.01,
                            100, &ta, work, nwork), PYBP_OK);
    CHECK_ST(pybp_sgd_epoch(&f->net, pb, P, b, perm, f->count, 3, 0.5, 0.01,
                            100, &tb, work, nwork), PYBP_OK);
    CHECK(same(pa, pb, P));
    CHECK(same(&ta, &tb, 1));
    free(work);
    free(oa);
    free(ob);
    free(pa);
    free(pb);
}

/* uint8 inputs b give the bits of the doubles b / divisor; labels give the
 * bits of their one-hot targets. */
static void test_input_forms(void)
{
    size_t ci, count = 13;
    for (ci = 0; ci < NCASES; ci++) {
        fixture f;
        pybp_data a, b;
        fixture_init(&f, &cases[ci], count);

        a = data_f64(count, f.xq, f.y, NULL);
        b = data_f64(count, NULL, f.y, NULL);
        b.x_u8 = f.xu8;
        b.x_divisor = 255.0;
        check_same_results(&f, &a, &b);

        a = data_f64(count, f.x, f.yhot, NULL);
        b = data_f64(count, f.x, NULL, f.labels);
        check_same_results(&f, &a, &b);
        fixture_free(&f);
    }
}

/* First largest output wins; the target class of y is its first largest. */
static void test_evaluate(void)
{
    static const size_t sizes[] = {1, 3};
    static const int acts[] = {PYBP_IDENTITY};
    static const double params[6] = {1.0, 1.0, 0.0, 0.0, 0.0, 0.0};
    static const double x[4] = {1.0, 1.0, -1.0, 1.0};   /* a = [x, x, 0] */
    static const int32_t labels[4] = {0, 1, 2, 2};
    static const double y[12] = {0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1};
    pybp_net net = make_net(2, sizes, acts, PYBP_QUADRATIC);
    pybp_data d = data_f64(4, x, NULL, labels);
    double work[1024];
    size_t correct = 99;
    /* predictions 0, 0, 2, 0 */
    CHECK_ST(pybp_evaluate(&net, params, 6, &d, &correct, work, 1024),
             PYBP_OK);
    CHECK(correct == 2);
    /* targets 1, 0, 2, 0 */
    d = data_f64(4, x, y, NULL);
    CHECK_ST(pybp_evaluate(&net, params, 6, &d, &correct, work, 1024),
             PYBP_OK);
    CHECK(correct == 3);
}

/* ------------------------------------------------------------------------ */
/* Instruction-set paths and threads                                        */

static void test_isa_queries(void)
{
    int isa;
    CHECK(pybp_isa_supported(PYBP_ISA_AUTO) == 1);
    CHECK(pybp_isa_supported(PYBP_ISA_SCALAR) == 1);
    CHECK(pybp_isa_supported(PYBP_ISA_NEON + 1) == 0);
    CHECK(pybp_isa_supported(-1) == 0);
    isa = pybp_isa_best();
    CHECK(isa >= PYBP_ISA_SCALAR && isa <= PYBP_ISA_NEON);
    CHECK(pybp_isa_supported(isa) == 1);
    /* the best is the widest supported */
    for (isa = pybp_isa_best() + 1; isa <= PYBP_ISA_NEON; isa++)
        CHECK(pybp_isa_supported(isa) == 0);
    CHECK(strcmp(pybp_isa_name(PYBP_ISA_AUTO), "auto") == 0);
    CHECK(strcmp(pybp_isa_name(PYBP_ISA_SCALAR), "scalar") == 0);
    CHECK(strcmp(pybp_isa_name(PYBP_ISA_AVX2), "avx2") == 0);
    CHECK(strcmp(pybp_isa_name(PYBP_ISA_AVX512), "avx512") == 0);
    CHECK(strcmp(pybp_isa_name(PYBP_ISA_NEON), "neon") == 0);
    CHECK(strcmp(pybp_isa_name(7), "unknown") == 0);
    printf("instruction sets: best %s; supported:",
           pybp_isa_name(pybp_isa_best()));
    for (isa = PYBP_ISA_SCALAR; isa <= PYBP_ISA_NEON; isa++)
        if (pybp_isa_supported(isa))
            printf(" %s", pybp_isa_name(isa));
    printf("\n");
}

/* Everything one run of every kernel produces, for comparing runs. */
typedef struct results {
    double *out, *grad, *upd, *epoch, *epoch2;
    double cost, cost_min_ws, epoch_cost, epoch2_cost;
    size_t correct;
} results;

static void results_alloc(results *r, size_t nout, size_t P)
{
    r->out = dalloc(nout);
    r->grad = dalloc(P);
    r->upd = dalloc(P);
    r->epoch = dalloc(P);
    r->epoch2 = dalloc(P);
}

static void results_free(results *r)
{
    free(r->out);
    free(r->grad);
    free(r->upd);
    free(r->epoch);
    free(r->epoch2);
}

/* Runs every kernel of net (its isa and threads as set) on d. */
static void run_all(const pybp_net *net, const double *params, size_t P,
                    const pybp_data *d, const size_t *perm, size_t mbs,
                    size_t nout, double *work, size_t nwork, size_t nmin,
                    results *r)
{
    CHECK_ST(pybp_feedforward(net, params, P, d, r->out, nout, work, nmin),
             PYBP_OK);
    r->cost = 0.125;
    CHECK_ST(pybp_cost(net, params, P, d, &r->cost, work, nwork), PYBP_OK);
    r->cost_min_ws = 0.0;
    CHECK_ST(pybp_cost(net, params, P, d, &r->cost_min_ws, work, nmin),
             PYBP_OK);
    CHECK_ST(pybp_gradient(net, params, P, d, r->grad, P, work, nmin),
             PYBP_OK);
    CHECK_ST(pybp_evaluate(net, params, P, d, &r->correct, work, nwork),
             PYBP_OK);
    memcpy(r->upd, params, P * sizeof(double));
    CHECK_ST(pybp_update_mini_batch(net, r->upd, P, d, 0.5, 0.25, 1000,
                                    work, nwork), PYBP_OK);
    memcpy(r->epoch, params, P * sizeof(double));
    r->epoch_cost = 0.0;
    CHECK_ST(pybp_sgd_epoch(net, r->epoch, P, d, perm, d->count, mbs, 3.0,
                            0.0, d->count, &r->epoch_cost, work, nwork),
             PYBP_OK);
    /* a second epoch from there, with weight decay and a smaller batch */
    memcpy(r->epoch2, r->epoch, P * sizeof(double));
    r->epoch2_cost = 0.0;
    /* (an epoch that diverged leaves NaN or inf, which nothing takes) */
    CHECK_ST(pybp_sgd_epoch(net, r->epoch2, P, d, perm, d->count,
                            mbs > 2 ? mbs - 2 : 1, 0.75, 2.0, 3 * d->count,
                            &r->epoch2_cost, work, nwork),
             all_finite(r->epoch, P) ? PYBP_OK : PYBP_EPARAMS);
}

static int same_results(const results *a, const results *b, size_t nout,
                        size_t P)
{
    return same(a->out, b->out, nout) && same(a->grad, b->grad, P)
        && same(a->upd, b->upd, P) && same(a->epoch, b->epoch, P)
        && same(a->epoch2, b->epoch2, P) && same(&a->cost, &b->cost, 1)
        && same(&a->cost_min_ws, &b->cost_min_ws, 1)
        && same(&a->epoch_cost, &b->epoch_cost, 1)
        && same(&a->epoch2_cost, &b->epoch2_cost, 1)
        && a->correct == b->correct;
}

/* A layer size: often 1 or next to a multiple of the vector widths. */
static size_t random_size(void)
{
    static const size_t picks[] = {1, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17,
                                   23, 24, 25, 31, 32, 33, 40, 47, 49, 64,
                                   65, 70};
    return picks[rng_below(sizeof picks / sizeof picks[0])];
}

/*
 * Every supported instruction-set path, and 2 or 3 worker threads, give the
 * bits of the scalar path on one thread, for every kernel, on random
 * networks: layer sizes around the vector widths and register blocks, each
 * output activation and cost, uint8 and float64 inputs, labels and dense
 * targets, minimum and roomy workspaces; `rounds` networks, with mini-batch
 * sizes mbs_min .. mbs_max and from mbs_min to mbs_max + extra examples.
 * (pybp_sgd_epoch starts a thread per 16 examples of a mini-batch at
 * most, so the threads work on mini-batches of 32 and more.)  wide: a
 * first layer of over 1 MiB of weights (and at least one more layer),
 * which worker threads compute by columns, from 8 examples a batch.
 */
static void isa_paths(size_t rounds, size_t mbs_min, size_t mbs_max,
                      size_t extra, int wide)
{
    static const int outs[6][2] = {
        {PYBP_SIGMOID, PYBP_QUADRATIC}, {PYBP_TANH, PYBP_QUADRATIC},
        {PYBP_RELU, PYBP_QUADRATIC}, {PYBP_IDENTITY, PYBP_QUADRATIC},
        {PYBP_SIGMOID, PYBP_CROSS_ENTROPY},
        {PYBP_SOFTMAX, PYBP_LOG_LIKELIHOOD}};
    size_t round, compared = 0;
    for (round = 0; round < rounds; round++) {
        size_t sizes[5], L = 1 + rng_below(3), l, i, count, mbs, P, nout;
        size_t n0, nL, nwork, nmin, *perm;
        int acts[4], isa, t, pick = (int)(round % 6);
        pybp_net net;
        pybp_data d;
        double *params, *x, *y;
        unsigned char *xu8;
        int32_t *labels;
        double *work;
        results ref, r;

        for (l = 0; l <= L; l++)
            sizes[l] = random_size();
        if (wide) {
            L = 2 + rng_below(2);
            sizes[0] = 1100 + rng_below(60);
            sizes[1] = 121 + rng_below(30);
            for (l = 2; l <= L; l++)
                sizes[l] = random_size();
        }
        for (l = 0; l + 1 < L; l++)
            acts[l] = PYBP_SIGMOID + (int)rng_below(4);
        acts[L - 1] = outs[pick][0];
        net = make_net(L + 1, sizes, acts, outs[pick][1]);
        P = nparams_of(&net);
        n0 = sizes[0];
        nL = sizes[L];
        mbs = mbs_min + rng_below(mbs_max - mbs_min + 1);
        count = mbs_min + rng_below(mbs_max - mbs_min + extra + 1);
        nout = count * nL;
        params = dalloc(P);
        fill_uniform(params, P, -1.0, 1.0);
        for (i = 0; i < P; i++)        /* exact zeros: signed-zero cases */
            if (rng_below(16) == 0)
                params[i] = 0.0;
        x = dalloc(count * n0);
        fill_uniform(x, count * n0, -2.0, 2.0);
        xu8 = xmalloc(count * n0);
        for (i = 0; i < count * n0; i++)
            xu8[i] = rng_below(3) == 0 ? 0 : (unsigned char)rng_below(256);
        y = dalloc(count * nL);
        fill_uniform(y, count * nL, 0.0, 1.0);
        labels = xmalloc(count * sizeof(int32_t));
        for (i = 0; i < count; i++)
            labels[i] = (int32_t)rng_below(nL);
        if (outs[pick][1] == PYBP_LOG_LIKELIHOOD)   /* distributions */
            for (i = 0; i < count * nL; i++)
                y[i] = (size_t)labels[i / nL] == i % nL ? 1.0 : 0.0;
        perm = xmalloc(count * sizeof(size_t));
        shuffle(perm, count);

        memset(&d, 0, sizeof d);
        d.count = count;
        if (round % 2 == 0) {
            d.x_u8 = xu8;
            d.x_divisor = round % 4 == 0 ? 255.0 : 3.0;
        } else {
            d.x = x;
        }
        if ((round / 2) % 2 == 0)
            d.labels = labels;
        else
            d.y = y;

        nwork = ws_of(&net, count > mbs ? count : mbs);
        nmin = ws_of(&net, 1);
        work = dalloc(nwork);
        results_alloc(&ref, nout, P);
        results_alloc(&r, nout, P);
        net.isa = PYBP_ISA_SCALAR;
        run_all(&net, params, P, &d, perm, mbs, nout, work, nwork, nmin, &ref);
        for (isa = PYBP_ISA_SCALAR; isa <= PYBP_ISA_NEON; isa++) {
            if (!pybp_isa_supported(isa))
                continue;
            for (t = 0; t <= 3; t++) {
                if (isa == PYBP_ISA_SCALAR && t == 0)
                    continue;
                if (t == 1)
                    continue;  /* 1 is the same as 0 */
                net.isa = isa;
                net.threads = t;
                run_all(&net, params, P, &d, perm, mbs, nout, work, nwork,
                        nmin, &r);
                compared++;
                if (!same_results(&ref, &r, nout, P)) {
                    fprintf(stderr, "round %lu: %s, %d threads differs from "
                            "scalar: sizes", (unsigned long)round,
                            pybp_isa_name(isa), t);
                    for (l = 0; l <= L; l++)
                        fprintf(stderr, " %lu", (unsigned long)sizes[l]);
                    fprintf(stderr, ", count %lu, mbs %lu\n",
                            (unsigned long)count, (unsigned long)mbs);
                    CHECK(0);
                } else {
                    CHECK(1);
                }
            }
        }
        net.isa = PYBP_ISA_AUTO;
        net.threads = 0;
        results_free(&ref);
        results_free(&r);
        free(work);
        free(params);
        free(x);
        free(xu8);
        free(y);
        free(labels);
        free(perm);
    }
    CHECK(compared >= rounds * 2);
}

static void test_isa_paths(void)
{
    isa_paths(120, 1, 17, 23, 0);    /* small batches, the fused path */
    isa_paths(16, 32, 80, 80, 0);    /* batches the threads share */
    isa_paths(4, 8, 40, 40, 1);      /* the first layer by columns */
}

/* ------------------------------------------------------------------------ */
/* Bad arguments                                                            */

enum { F_NPARAMS, F_WS, F_FF, F_COST, F_GRAD, F_EVAL, F_UPDATE, F_SGD, NF };
static const char *const fname[NF] = {
    "nparams", "workspace_size", "feedforward", "cost", "gradient",
    "evaluate", "update_mini_batch", "sgd_epoch"};

#define ALL ((1u << NF) - 1)
#define DATAF ((1u << F_FF) | (1u << F_COST) | (1u << F_GRAD) \
               | (1u << F_EVAL) | (1u << F_UPDATE) | (1u << F_SGD))
#define TARGETF (DATAF & ~(1u << F_FF))
#define TRAINF ((1u << F_UPDATE) | (1u << F_SGD))
#define ONLY(f) (1u << (f))

typedef struct args {
    pybp_net net;
    size_t sizes[PYBP_MAX_LAYERS + 1];
    int acts[PYBP_MAX_LAYERS + 1];
    int net_null;
    double *params;
    size_t nparams;
    pybp_data data;
    int data_null;
    double *out;
    size_t nout;
    double *total;
    double *grad;
    size_t ngrad;
    size_t *correct;
    size_t *result;
    size_t batch;
    double eta, lmbda;
    size_t n;
    const size_t *perm;
    size_t nperm, mbs;
    double *cost_total;
    double *work;
    size_t nwork;
} args;

static int call(int f, args *a)
{
    const pybp_net *net;
    const pybp_data *data = a->data_null ? NULL : &a->data;
    a->net.sizes = a->net.sizes ? a->sizes : NULL;
    a->net.activations = a->net.activations ? a->acts : NULL;
    net = a->net_null ? NULL : &a->net;
    switch (f) {
    case F_NPARAMS:
        return pybp_nparams(net, a->result);
    case F_WS:
        return pybp_workspace_size(net, a->batch, a->result);
    case F_FF:
        return pybp_feedforward(net, a->params, a->nparams, data, a->out,
                                a->nout, a->work, a->nwork);
    case F_COST:
        return pybp_cost(net, a->params, a->nparams, data, a->total, a->work,
                         a->nwork);
    case F_GRAD:
        return pybp_gradient(net, a->params, a->nparams, data, a->grad,
                             a->ngrad, a->work, a->nwork);
    case F_EVAL:
        return pybp_evaluate(net, a->params, a->nparams, data, a->correct,
                             a->work, a->nwork);
    case F_UPDATE:
        return pybp_update_mini_batch(net, a->params, a->nparams, data,
                                      a->eta, a->lmbda, a->n, a->work,
                                      a->nwork);
    default:
        return pybp_sgd_epoch(net, a->params, a->nparams, data, a->perm,
                              a->nperm, a->mbs, a->eta, a->lmbda, a->n,
                              a->cost_total, a->work, a->nwork);
    }
}

/* The valid call every bad-argument case starts from: sizes {3, 4, 2},
 * tanh then sigmoid, quadratic; 5 examples with labels. */
#define BP 26                                  /* 4*(3+1) + 2*(4+1) */
static double base_params[BP];
static double base_x[15];
static unsigned char base_u8[15];
static int32_t base_labels[5] = {0, 1, 1, 0, 1};
static double base_y[10];
static size_t base_perm[5] = {4, 0, 3, 1, 2};
static double params_buf[BP], out_buf[10], grad_buf[BP];
static double total_buf, cost_total_buf;
static size_t correct_buf, result_buf;
static double *work_buf;
static size_t work_full;       /* workspace_size(net, 5) */

static void base_args(args *a)
{
    memset(a, 0, sizeof *a);
    a->sizes[0] = 3;
    a->sizes[1] = 4;
    a->sizes[2] = 2;
    a->acts[0] = PYBP_TANH;
    a->acts[1] = PYBP_SIGMOID;
    a->net = make_net(3, a->sizes, a->acts, PYBP_QUADRATIC);
    a->params = params_buf;
    a->nparams = BP;
    a->data = data_f64(5, base_x, NULL, base_labels);
    a->out = out_buf;
    a->nout = 10;
    a->total = &total_buf;
    a->grad = grad_buf;
    a->ngrad = BP;
    a->correct = &correct_buf;
    a->result = &result_buf;
    a->batch = 3;
    a->eta = 0.5;
    a->lmbda = 0.1;
    a->n = 5;
    a->perm = base_perm;
    a->nperm = 5;
    a->mbs = 2;
    a->cost_total = &cost_total_buf;
    a->work = work_buf;
    a->nwork = work_full;
}

/*
 * Calls each function in `mask` on `a` and checks the status is `want`;
 * when it is an error, checks that params and every output are untouched.
 */
static void expect(unsigned mask, const args *a0, int want, const char *what,
                   int line)
{
    int f;
    for (f = 0; f < NF; f++) {
        args a;
        int st, ok = 1;
        size_t i;
        if (!(mask & (1u << f)))
            continue;
        a = *a0;
        memcpy(params_buf, base_params, sizeof params_buf);
        for (i = 0; i < 10; i++)
            out_buf[i] = -7.0;
        for (i = 0; i < BP; i++)
            grad_buf[i] = -7.0;
        total_buf = cost_total_buf = -7.0;
        correct_buf = result_buf = 77;
        st = call(f, &a);
        if (st != want) {
            ok = 0;
            fprintf(stderr, "line %d: %s: %s returned %d (%s), want %d (%s)\n",
                    line, what, fname[f], st, pybp_strerror(st), want,
                    pybp_strerror(want));
        } else if (want != PYBP_OK) {
            for (i = 0; i < 10; i++)
                ok &= out_buf[i] == -7.0;
            for (i = 0; i < BP; i++)
                ok &= grad_buf[i] == -7.0;
            ok &= total_buf == -7.0 && cost_total_buf == -7.0;
            ok &= correct_buf == 77 && result_buf == 77;
            ok &= same(params_buf, base_params, BP);
            if (!ok)
                fprintf(stderr, "line %d: %s: %s wrote an output on error\n",
                        line, what, fname[f]);
        }
        check(ok, what, __FILE__, line);
    }
}

#define EXPECT(mask, a, want, what) expect((mask), (a), (want), (what), __LINE__)

static void test_bad_arguments(void)
{
    args b, a;
    size_t i;
    static const size_t bad_perm_index[5] = {4, 0, 3, 1, 5};
    static const size_t bad_perm_huge[5] = {SIZE_MAX, 0, 3, 1, 2};
    int32_t bad_labels[5];

    fill_uniform(base_params, BP, -1.0, 1.0);
    fill_uniform(base_x, 15, -1.0, 1.0);
    fill_uniform(base_y, 10, 0.0, 1.0);
    for (i = 0; i < 15; i++)
        base_u8[i] = (unsigned char)rng_below(256);
    base_args(&b);
    work_full = ws_of(&b.net, 5);
    work_buf = dalloc(work_full);
    base_args(&b);

    /* the base call succeeds everywhere (and cost_total may be NULL) */
    EXPECT(ALL, &b, PYBP_OK, "valid call");
    a = b;
    a.cost_total = NULL;
    EXPECT(ONLY(F_SGD), &a, PYBP_OK, "sgd_epoch without cost_total");
    a = b;
    a.data.x = NULL;
    a.data.x_u8 = base_u8;
    a.data.x_divisor = 255.0;
    EXPECT(ALL, &a, PYBP_OK, "valid uint8 call");
    a = b;
    a.data.labels = NULL;
    a.data.y = base_y;
    EXPECT(ALL, &a, PYBP_OK, "valid dense-target call");

    /* NULL pointers */
    a = b; a.net_null = 1;
    EXPECT(ALL, &a, PYBP_ENULL, "net NULL");
    a = b; a.net.sizes = NULL;
    EXPECT(ALL, &a, PYBP_ENULL, "sizes NULL");
    a = b; a.net.activations = NULL;
    EXPECT(ALL, &a, PYBP_ENULL, "activations NULL");
    a = b; a.result = NULL;
    EXPECT(ONLY(F_NPARAMS) | ONLY(F_WS), &a, PYBP_ENULL, "result NULL");
    a = b; a.params = NULL;
    EXPECT(DATAF, &a, PYBP_ENULL, "params NULL");
    a = b; a.data_null = 1;
    EXPECT(DATAF, &a, PYBP_ENULL, "data NULL");
    a = b; a.work = NULL;
    EXPECT(DATAF, &a, PYBP_ENULL, "work NULL");
    a = b; a.out = NULL;
    EXPECT(ONLY(F_FF), &a, PYBP_ENULL, "out NULL");
    a = b; a.total = NULL;
    EXPECT(ONLY(F_COST), &a, PYBP_ENULL, "total NULL");
    a = b; a.grad = NULL;
    EXPECT(ONLY(F_GRAD), &a, PYBP_ENULL, "grad NULL");
    a = b; a.correct = NULL;
    EXPECT(ONLY(F_EVAL), &a, PYBP_ENULL, "correct NULL");
    a = b; a.perm = NULL;
    EXPECT(ONLY(F_SGD), &a, PYBP_ENULL, "perm NULL");

    /* sizes */
    a = b; a.net.nlayers = 0;
    EXPECT(ALL, &a, PYBP_ESIZE, "nlayers 0");
    a = b; a.net.nlayers = 1;
    EXPECT(ALL, &a, PYBP_ESIZE, "nlayers 1");
    a = b; a.net.nlayers = PYBP_MAX_LAYERS + 1;
    EXPECT(ALL, &a, PYBP_ESIZE, "nlayers 65");
    for (i = 0; i < 3; i++) {
        a = b; a.sizes[i] = 0;
        EXPECT(ALL, &a, PYBP_ESIZE, "a layer of size 0");
    }
    a = b; a.batch = 0;
    EXPECT(ONLY(F_WS), &a, PYBP_ESIZE, "batch 0");
    a = b; a.data.count = 0;
    EXPECT(DATAF, &a, PYBP_ESIZE, "count 0");
    a = b; a.n = 0;
    EXPECT(TRAINF, &a, PYBP_ESIZE, "n 0");
    a = b; a.mbs = 0;
    EXPECT(ONLY(F_SGD), &a, PYBP_ESIZE, "mini_batch_size 0");
    a = b; a.nperm = 0;
    EXPECT(ONLY(F_SGD), &a, PYBP_ESIZE, "nperm 0");

    /* overflow */
    a = b; a.net.nlayers = 2; a.sizes[0] = SIZE_MAX / 2; a.sizes[1] = 4;
    EXPECT(ALL, &a, PYBP_EOVERFLOW, "sizes {SIZE_MAX/2, 4}");
    a = b; a.sizes[1] = SIZE_MAX;
    EXPECT(ALL, &a, PYBP_EOVERFLOW, "hidden size SIZE_MAX");
    a = b; a.net.nlayers = 2; a.sizes[0] = 1; a.sizes[1] = SIZE_MAX / 3;
    EXPECT(ALL, &a, PYBP_EOVERFLOW, "workspace of {1, SIZE_MAX/3}");
    a = b; a.batch = SIZE_MAX;
    EXPECT(ONLY(F_WS), &a, PYBP_EOVERFLOW, "batch SIZE_MAX");
    a = b; a.data.count = SIZE_MAX / 2;
    EXPECT(DATAF, &a, PYBP_EOVERFLOW, "count * n_0 overflows");
    a = b; a.data.count = SIZE_MAX / 8;
    EXPECT(ONLY(F_UPDATE), &a, PYBP_EOVERFLOW, "workspace for count");

    /* codes and combinations */
    a = b; a.acts[0] = 0;
    EXPECT(ALL, &a, PYBP_EACTIVATION, "activation 0");
    a = b; a.acts[1] = 6;
    EXPECT(ALL, &a, PYBP_EACTIVATION, "activation 6");
    a = b; a.acts[0] = -1;
    EXPECT(ALL, &a, PYBP_EACTIVATION, "activation -1");
    a = b; a.acts[0] = PYBP_SOFTMAX; a.acts[1] = PYBP_SOFTMAX;
    a.net.cost = PYBP_LOG_LIKELIHOOD;
    EXPECT(ALL, &a, PYBP_ESOFTMAX, "softmax in a hidden layer");
    a = b; a.acts[0] = PYBP_SOFTMAX;
    EXPECT(ALL, &a, PYBP_ESOFTMAX, "softmax hidden, sigmoid out");
    a = b; a.net.cost = 0;
    EXPECT(ALL, &a, PYBP_ECOST, "cost 0");
    a = b; a.net.cost = 4;
    EXPECT(ALL, &a, PYBP_ECOST, "cost 4");
    a = b; a.acts[1] = PYBP_SOFTMAX;
    EXPECT(ALL, &a, PYBP_ECOMBINATION, "quadratic with softmax");
    a = b; a.acts[1] = PYBP_TANH; a.net.cost = PYBP_CROSS_ENTROPY;
    EXPECT(ALL, &a, PYBP_ECOMBINATION, "cross-entropy with tanh");
    a = b; a.acts[1] = PYBP_SOFTMAX; a.net.cost = PYBP_CROSS_ENTROPY;
    EXPECT(ALL, &a, PYBP_ECOMBINATION, "cross-entropy with softmax");
    a = b; a.net.cost = PYBP_LOG_LIKELIHOOD;
    EXPECT(ALL, &a, PYBP_ECOMBINATION, "log-likelihood with sigmoid");
    a = b; a.sizes[2] = 5;
    EXPECT(ONLY(F_NPARAMS) | ONLY(F_WS), &a, PYBP_OK, "another shape");

    /* lengths and workspace */
    a = b; a.nparams = BP - 1;
    EXPECT(DATAF, &a, PYBP_ELENGTH, "nparams P - 1");
    a = b; a.nparams = BP + 1;
    EXPECT(DATAF, &a, PYBP_ELENGTH, "nparams P + 1");
    a = b; a.sizes[2] = 3;
    EXPECT(DATAF, &a, PYBP_ELENGTH, "params of another network");
    a = b; a.nout = 9;
    EXPECT(ONLY(F_FF), &a, PYBP_ELENGTH, "nout short");
    a = b; a.nout = 11;
    EXPECT(ONLY(F_FF), &a, PYBP_ELENGTH, "nout long");
    a = b; a.ngrad = BP - 1;
    EXPECT(ONLY(F_GRAD), &a, PYBP_ELENGTH, "ngrad short");
    a = b; a.nwork = ws_of(&b.net, 1) - 1;
    EXPECT(DATAF, &a, PYBP_EWORKSPACE, "workspace below size(net, 1)");
    a = b; a.nwork = ws_of(&b.net, 1);
    EXPECT(DATAF & ~TRAINF, &a, PYBP_OK, "workspace size(net, 1)");
    a = b; a.nwork = ws_of(&b.net, 5) - 1;
    EXPECT(ONLY(F_UPDATE), &a, PYBP_EWORKSPACE, "mini-batch does not fit");
    a = b; a.nwork = ws_of(&b.net, 2) - 1;
    EXPECT(ONLY(F_SGD), &a, PYBP_EWORKSPACE, "mini_batch_size does not fit");
    a = b; a.nwork = ws_of(&b.net, 2);
    EXPECT(ONLY(F_SGD), &a, PYBP_OK, "mini_batch_size fits");

    /* data descriptors */
    a = b; a.data.x_u8 = base_u8; a.data.x_divisor = 255.0;
    EXPECT(DATAF, &a, PYBP_EDATA, "both x and x_u8");
    a = b; a.data.x = NULL;
    EXPECT(DATAF, &a, PYBP_EDATA, "neither x nor x_u8");
    a = b; a.data.y = base_y;
    EXPECT(DATAF, &a, PYBP_EDATA, "both y and labels");
    a = b; a.data.labels = NULL;
    EXPECT(TARGETF, &a, PYBP_EDATA, "no targets");
    EXPECT(ONLY(F_FF), &a, PYBP_OK, "feedforward needs no targets");

    /* values */
    a = b; a.data.x = NULL; a.data.x_u8 = base_u8; a.data.x_divisor = 0.0;
    EXPECT(DATAF, &a, PYBP_EVALUE, "divisor 0");
    a.data.x_divisor = -255.0;
    EXPECT(DATAF, &a, PYBP_EVALUE, "divisor < 0");
    a.data.x_divisor = NAN;
    EXPECT(DATAF, &a, PYBP_EVALUE, "divisor NaN");
    a.data.x_divisor = INFINITY;
    EXPECT(DATAF, &a, PYBP_EVALUE, "divisor inf");
    a = b; a.data.x_divisor = NAN;
    EXPECT(DATAF, &a, PYBP_OK, "divisor unused with float64 inputs");
    a = b; a.eta = NAN;
    EXPECT(TRAINF, &a, PYBP_EVALUE, "eta NaN");
    a = b; a.eta = INFINITY;
    EXPECT(TRAINF, &a, PYBP_EVALUE, "eta inf");
    a = b; a.eta = -0.5;
    EXPECT(TRAINF, &a, PYBP_OK, "eta < 0 is allowed");
    a = b; a.lmbda = NAN;
    EXPECT(TRAINF, &a, PYBP_EVALUE, "lmbda NaN");
    a = b; a.lmbda = -1e-300;
    EXPECT(TRAINF, &a, PYBP_EVALUE, "lmbda < 0");
    a = b; a.lmbda = -INFINITY;
    EXPECT(TRAINF, &a, PYBP_EVALUE, "lmbda -inf");
    a = b; a.lmbda = INFINITY;
    EXPECT(TRAINF, &a, PYBP_EVALUE, "lmbda inf");

    /* labels: all examples are checked before any output or update */
    memcpy(bad_labels, base_labels, sizeof bad_labels);
    bad_labels[4] = 2;
    a = b; a.data.labels = bad_labels;
    EXPECT(TARGETF, &a, PYBP_ELABEL, "label n_L");
    EXPECT(ONLY(F_FF), &a, PYBP_OK, "feedforward ignores labels");
    bad_labels[4] = -1;
    EXPECT(TARGETF, &a, PYBP_ELABEL, "label -1");
    bad_labels[4] = INT32_MIN;
    EXPECT(TARGETF, &a, PYBP_ELABEL, "label INT32_MIN");
    /* base_perm ends at example 2: a bad label there is found first */
    memcpy(bad_labels, base_labels, sizeof bad_labels);
    bad_labels[2] = 7;
    EXPECT(ONLY(F_SGD), &a, PYBP_ELABEL, "bad label in the last batch");
    a.nperm = 4;   /* example 2 is not in the epoch */
    EXPECT(ONLY(F_SGD), &a, PYBP_OK, "bad label outside the epoch");

    /* instruction sets and threads */
    a = b; a.net.isa = PYBP_ISA_NEON + 1;
    EXPECT(ALL, &a, PYBP_EISA, "unknown isa code");
    a = b; a.net.isa = -1;
    EXPECT(ALL, &a, PYBP_EISA, "isa -1");
    for (i = PYBP_ISA_SCALAR; i <= PYBP_ISA_NEON; i++) {
        a = b; a.net.isa = (int)i;
        EXPECT(ALL, &a, pybp_isa_supported((int)i) ? PYBP_OK : PYBP_EISA,
               "a known isa: OK where supported");
    }
    a = b; a.net.threads = -1;
    EXPECT(ALL, &a, PYBP_ESIZE, "threads -1");
    a = b; a.net.threads = PYBP_MAX_THREADS + 1;
    EXPECT(ALL, &a, PYBP_ESIZE, "threads above PYBP_MAX_THREADS");
    a = b; a.net.threads = PYBP_MAX_THREADS;
    EXPECT(ALL, &a, PYBP_OK, "PYBP_MAX_THREADS threads");
    a = b; a.net.threads = 3;
    EXPECT(ALL, &a, PYBP_OK, "more threads than examples per batch");

    /* permutation indices, checked before the first update */
    a = b; a.perm = bad_perm_index;
    EXPECT(ONLY(F_SGD), &a, PYBP_EINDEX, "perm index == count");
    a = b; a.perm = bad_perm_huge;
    EXPECT(ONLY(F_SGD), &a, PYBP_EINDEX, "perm index SIZE_MAX");

    free(work_buf);
}

/* pybp_infer on plain rows: the bits of pybp_feedforward for every count
 * (the direct path up to four examples, the transposed one past it), and
 * its argument checks. */
static void test_infer(void)
{
    size_t ci, count, maxc = 7;
    for (ci = 0; ci < NCASES; ci++) {
        fixture f;
        pybp_data d;
        size_t P, nin, nw, nbig, nout;
        double *work, *o0, *o1, keep;
        fixture_init(&f, &cases[ci], maxc);
        P = f.P;
        nin = f.net.sizes[0];
        nbig = ws_of(&f.net, maxc);
        work = dalloc(nbig);
        o0 = dalloc(maxc * f.nL);
        o1 = dalloc(maxc * f.nL);
        for (count = 1; count <= maxc; count++) {
            nout = count * f.nL;
            d = data_f64(count, f.x, f.y, NULL);
            CHECK_ST(pybp_feedforward(&f.net, f.params, P, &d, o0, nout, work,
                                      nbig), PYBP_OK);
            CHECK_ST(pybp_infer_workspace_size(&f.net, count, &nw), PYBP_OK);
            CHECK(nw <= nbig);
            CHECK_ST(pybp_infer(&f.net, f.params, P, f.x, count * nin, o1,
                                nout, work, nw), PYBP_OK);
            CHECK(same(o0, o1, nout));
        }
        nout = f.nL;
        CHECK_ST(pybp_infer(&f.net, f.params, P, NULL, nin, o1, nout, work,
                            nbig), PYBP_ENULL);
        CHECK_ST(pybp_infer(&f.net, f.params, P, f.x, nin + 1, o1, nout, work,
                            nbig), PYBP_ELENGTH);
        CHECK_ST(pybp_infer(&f.net, f.params, P, f.x, 0, o1, nout, work,
                            nbig), PYBP_ESIZE);
        CHECK_ST(pybp_infer(&f.net, f.params, P, f.x, nin, o1, nout + 1, work,
                            nbig), PYBP_ELENGTH);
        CHECK_ST(pybp_infer(&f.net, f.params, P - 1, f.x, nin, o1, nout, work,
                            nbig), PYBP_ELENGTH);
        CHECK_ST(pybp_infer(&f.net, f.params, P, f.x, nin, o1, nout, work, 0),
                 PYBP_EWORKSPACE);
        keep = f.x[0];
        f.x[0] = NAN;
        o1[0] = 7.0;
        CHECK_ST(pybp_infer(&f.net, f.params, P, f.x, nin, o1, nout, work,
                            nbig), PYBP_EVALUE);
        CHECK(o1[0] == 7.0);
        f.x[0] = keep;
        keep = f.params[0];
        f.params[0] = INFINITY;
        CHECK_ST(pybp_infer(&f.net, f.params, P, f.x, nin, o1, nout, work,
                            nbig), PYBP_EPARAMS);
        f.params[0] = keep;
        free(work);
        free(o0);
        free(o1);
        fixture_free(&f);
    }
}

int main(void)
{
    test_strings();
    test_sizes();
    test_hand_network();
    test_nonfinite_params();
    test_hand_activations();
    test_finite_differences();
    test_batch_is_mean();
    test_chunking();
    test_infer();
    test_sgd_epoch();
    test_input_forms();
    test_evaluate();
    test_isa_queries();
    test_isa_paths();
    test_bad_arguments();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
