/*
 * fuzz_entry.c - libFuzzer target for the compute entry points of pybp.h.
 *
 * The input is decoded into one call setup: a network (layer count, sizes,
 * activation and cost codes, sometimes absurd), parameters, a data set,
 * the lengths the caller states (nparams, nout, ngrad, nwork, nperm),
 * mini-batch size, eta, lmbda, n, and which pointers are NULL.  Then every
 * entry point runs on it.
 *
 * The library cannot know how long a buffer really is, only whether the
 * length a caller states fits the network.  So the harness allocates
 * exactly what it states (ASan then flags any access past it) and fuzzes
 * the statements against the network: the one thing it never does is point
 * at less memory than it claims.  A data set's buffers are sized from the
 * network; when count * n_0 (or n_L) overflows size_t no such buffer can
 * exist, so the library must refuse before touching it.
 *
 * Checked, beyond "no sanitizer report":
 *   - every status has a message (no unknown codes);
 *   - a failed call changes neither params nor any output;
 *   - a call whose statements are all true and whose values are valid
 *     succeeds, and a call with a false statement (nparams, nout, ngrad, a
 *     too-small workspace, a missing or doubled input, ...) fails;
 *   - the harness's own parameter count agrees with pybp_nparams;
 *   - with finite moderate values: outputs are finite and in range
 *     (sigmoid and softmax in [0, 1], softmax rows summing to about 1,
 *     tanh in [-1, 1], relu >= 0), costs do not decrease the running
 *     total, gradients and one SGD step stay finite, correct <= count;
 *   - results do not change by a bit (NaN matching NaN) with a larger
 *     workspace (other chunking), a workspace full of NaN instead of
 *     zeros (reads of unwritten scratch), labels replaced by one-hot
 *     targets, uint8 inputs replaced by the doubles they stand for, the
 *     scalar instruction-set path instead of the default one, a single
 *     thread, an epoch split into two calls at a mini-batch boundary, and
 *     update_mini_batch against a one-batch sgd_epoch.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pybp.h"

#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_entry: %s:%d: invariant failed: %s\n",     \
                    __FILE__, __LINE__, #cond);                              \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* Bounds that keep one run fast; larger setups are fuzzed only for the
 * lengths the library must reject, never allocated. */
#define MAX_P      8192
#define MAX_COUNT  80
#define MAX_WORK   ((size_t)1 << 17)   /* count * P, and workspace doubles */
#define MAX_ALLOC  ((size_t)1 << 20)   /* elements in any one buffer */

/* ---- input decoding ------------------------------------------------------ */

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

/* Bytes past the end read as 0, which decodes to the plain choices. */
static unsigned get8(src *s)
{
    if (s->n == 0)
        return 0;
    s->n--;
    return *s->p++;
}

static uint64_t get64(src *s)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < 8; i++)
        v |= (uint64_t)get8(s) << (8 * i);
    return v;
}

static double raw_double(src *s)
{
    uint64_t bits = get64(s);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static size_t pick_size(src *s)
{
    static const size_t odd[8] = {
        0, SIZE_MAX, (size_t)1 << 32, SIZE_MAX / 2 + 1,
        (size_t)1 << 31, 65, 100, SIZE_MAX - 1
    };
    unsigned b = get8(s);
    if (b < 200)
        return 1 + b % 8;
    if (b < 240)
        return 9 + b % 16;
    if (b == 255)
        return (size_t)get64(s);
    return odd[b & 7];
}

static size_t pick_nlayers(src *s)
{
    static const size_t odd[8] = {0, 1, 64, 65, 6, 7, 8, 80};
    unsigned b = get8(s);
    return b < 224 ? 2 + b % 4 : odd[b & 7];
}

static int pick_code(src *s, int hidden)
{
    static const int odd[8] = {5, 0, -1, 6, INT_MAX, INT_MIN, 3, 1};
    unsigned b = get8(s);
    if (b < 240)
        return 1 + (int)(b % (hidden ? 4 : 5));
    return odd[b & 7];
}

static int pick_cost(src *s, int out_act)
{
    static const int odd[8] = {0, 1, 2, 3, 4, -1, INT_MAX, 2};
    unsigned b = get8(s);
    if (b < 224) {
        if (out_act == PYBP_SOFTMAX)
            return PYBP_LOG_LIKELIHOOD;
        if (out_act == PYBP_SIGMOID)
            return (b & 1) ? PYBP_CROSS_ENTROPY : PYBP_QUADRATIC;
        return PYBP_QUADRATIC;
    }
    return odd[b & 7];
}

/* A parameter or input: moderate (k/32, |k| <= 128) unless wild. */
static double pick_value(src *s, int wild)
{
    static const double odd[8] = {
        0.0, -0.0, 1e308, -1e308, 5e-324, DBL_MAX, 0.0, 0.0
    };
    unsigned b = get8(s);
    if (!wild || b < 128)
        return (double)(int8_t)b / 32.0;
    if (b < 160)
        return raw_double(s);
    switch (b & 7) {
    case 6: return NAN;
    case 7: return (b & 8) ? INFINITY : -INFINITY;
    default: return odd[b & 7];
    }
}

/* A stated length near `truth`: usually the truth, sometimes a lie. */
static size_t pick_claim(src *s, size_t truth, int have_truth)
{
    unsigned b = get8(s);
    if (!have_truth)
        return b % 16;
    switch (b >> 5) {
    case 5: return truth + 1;
    case 6: return truth > 0 ? truth - 1 : 0;
    case 7: return (b & 16) ? 0 : (size_t)(b & 15);
    default: return truth;
    }
}

/* ---- allocation and comparison ------------------------------------------ */

static void *xalloc(size_t n, size_t elem)
{
    void *p;
    REQUIRE(n <= MAX_ALLOC);
    p = malloc(n ? n * elem : 1);
    REQUIRE(p != NULL);
    return p;
}

static double *dalloc_fill(size_t n, double v)
{
    double *p = xalloc(n, sizeof *p);
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = v;
    return p;
}

static double *ddup(const double *src_, size_t n)
{
    double *p = xalloc(n, sizeof *p);
    if (n)
        memcpy(p, src_, n * sizeof *p);
    return p;
}

/* Same bits, except that any NaN matches any NaN. */
static int same(const double *a, const double *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0
            && !(isnan(a[i]) && isnan(b[i])))
            return 0;
    return 1;
}

/* Floats: the same bits, or both NaN (payloads may differ by path, as
 * for doubles). */
static int same_f(const float *a, const float *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0
            && !(isnan(a[i]) && isnan(b[i]))) {
            if (getenv("FUZZ_ENTRY_DEBUG"))
                fprintf(stderr, "float %zu: %a vs %a\n", i, a[i], b[i]);
            return 0;
        }
    return 1;
}

static int bytes_equal(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static int all_finite(const double *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* Successful calls per entry point, printed at exit when FUZZ_ENTRY_STATS
 * is set: a harness whose calls all fail would test only the checks. */
enum { F_FF, F_COST, F_GRAD, F_EVAL, F_UPD, F_EPOCH, F_FF32, F_EPOCH32, F_N };
static unsigned long n_calls[F_N], n_ok[F_N];
static const char *const f_names[F_N] = {
    "feedforward", "cost", "gradient", "evaluate", "update_mini_batch",
    "sgd_epoch", "feedforward_f32", "sgd_epoch_f32"
};

static void print_stats(void)
{
    int f;
    for (f = 0; f < F_N; f++)
        fprintf(stderr, "fuzz_entry: %-18s %lu of %lu calls succeeded\n",
                f_names[f], n_ok[f], n_calls[f]);
}

static void count_call(int f, int st)
{
    static int registered;
    if (!registered) {
        registered = 1;
        if (getenv("FUZZ_ENTRY_STATS") != NULL)
            atexit(print_stats);
    }
    n_calls[f]++;
    n_ok[f] += st == PYBP_OK;
}

static void check_status_known(int st)
{
    REQUIRE(st >= 0);
    REQUIRE(strcmp(pybp_strerror(st), "unknown pybp status") != 0);
}

/* ---- the decoded call setup ---------------------------------------------- */

enum {
    NULL_NET = 1, NULL_PARAMS = 2, NULL_DATA = 4, NULL_OUT = 8,
    NULL_WORK = 16, NULL_PERM = 32
};

typedef struct setup {
    pybp_net net;
    size_t *sizes;
    int *acts;
    int net_ok;          /* valid by the harness's own rules, P fits */
    int opts_odd;        /* isa/threads outside the always-valid values */
    size_t P;            /* the harness's own count, when net_ok */
    size_t n0, nL;
    int feasible;        /* small enough to allocate everything */

    size_t np;           /* stated nparams; params holds that many */
    double *params;
    int params_ok;       /* all finite (as doubles) */
    int params_ok32;     /* all finite once rounded to float */

    pybp_data data;
    int impossible;      /* count * n overflows: no such buffer exists */
    int inputs_ok;       /* exactly one input form, divisor fine */
    int targets_kind;    /* 0 none, 1 y, 2 labels, 3 both */
    int32_t *labels;
    double *x, *y;
    unsigned char *xu8;
    size_t nx;           /* elements of x or xu8 */

    size_t nout, ngrad;  /* stated lengths */
    unsigned work_mode;  /* how nwork is stated, relative to the need */
    size_t *perm;
    size_t nperm;
    size_t mbs;
    double eta, lmbda;
    size_t n;
    int cost_null;
    double t0;           /* initial running cost */
    unsigned nulls;      /* NULL_* bits */
    int wild;            /* raw doubles: NaN, infinities, huge values */
    int moderate;        /* finite, bounded values: range checks apply */
    unsigned split;      /* where to split an epoch for the comparison */
} setup;

static int act_code_ok(int a, int last)
{
    return a >= PYBP_SIGMOID && a <= (last ? PYBP_SOFTMAX : PYBP_IDENTITY);
}

/* The harness's reading of the network rules (pybp.h, docs/model-format). */
static void judge_net(setup *c)
{
    size_t nl = c->net.nlayers, l, p = 0, term;
    int out, cost = c->net.cost;
    c->net_ok = 0;
    if (nl < 2 || nl > PYBP_MAX_LAYERS)
        return;
    for (l = 0; l < nl; l++)
        if (c->sizes[l] == 0)
            return;
    for (l = 1; l < nl; l++)
        if (!act_code_ok(c->acts[l - 1], l == nl - 1))
            return;
    out = c->acts[nl - 2];
    if (!((cost == PYBP_QUADRATIC && out != PYBP_SOFTMAX)
          || (cost == PYBP_CROSS_ENTROPY && out == PYBP_SIGMOID)
          || (cost == PYBP_LOG_LIKELIHOOD && out == PYBP_SOFTMAX)))
        return;
    for (l = 1; l < nl; l++) {
        size_t a = c->sizes[l], b = c->sizes[l - 1];
        if (b == SIZE_MAX || a > SIZE_MAX / (b + 1))
            return;
        term = a * (b + 1);
        if (p > SIZE_MAX - term)
            return;
        p += term;
    }
    c->net_ok = 1;
    c->P = p;
    c->n0 = c->sizes[0];
    c->nL = c->sizes[nl - 1];
}

static int mul_ok(size_t a, size_t b, size_t *r)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    *r = a * b;
    return 1;
}

static void decode(setup *c, const uint8_t *data, size_t size)
{
    src s = {data, size};
    unsigned flags, b;
    size_t nl, l, i, nx = 0, ny = 0, count, ws = 0;
    int alloc_ok;

    memset(c, 0, sizeof *c);
    flags = get8(&s);
    c->wild = (flags & 7) == 7;

    nl = pick_nlayers(&s);
    c->net.nlayers = nl;
    c->sizes = xalloc(nl, sizeof *c->sizes);
    c->acts = xalloc(nl ? nl - 1 : 0, sizeof *c->acts);
    for (l = 0; l < nl; l++)
        c->sizes[l] = pick_size(&s);
    for (l = 0; l + 1 < nl; l++)
        c->acts[l] = pick_code(&s, l + 2 < nl);
    c->net.sizes = c->sizes;
    c->net.activations = c->acts;
    c->net.cost = pick_cost(&s, nl >= 2 ? c->acts[nl - 2] : 0);
#ifdef PYBP_ISA_AUTO
    /* How to run (the multi-path build): any path this CPU supports, and
     * threads mostly off, since starting threads dominates a tiny run.
     * Unsupported paths and out-of-range thread counts must be refused,
     * but the harness does not insist on a status for them. */
    b = get8(&s);
    c->net.isa = b < 128 ? PYBP_ISA_AUTO : b < 248 ? (int)(b & 3)
               : (int)(b & 7) - 3;
    c->opts_odd |= !pybp_isa_supported(c->net.isa);
    b = get8(&s);
    c->net.threads = b < 232 ? (int)(b & 1) : b < 248 ? 2 + (int)(b & 1)
                   : (int)(b & 7) * 33 - 99;
    c->opts_odd |= c->net.threads < 0 || c->net.threads > PYBP_MAX_THREADS;
#endif
    judge_net(c);

    /* Example count; rarely one so large that no buffer could hold it. */
    b = get8(&s);
    count = b < 200 ? 1 + b % 8 : b < 250 ? 1 + b % MAX_COUNT : 0;
    if (b >= 250 && b != 255 && c->net_ok) {
        size_t big = c->n0 > c->nL ? c->n0 : c->nL;
        if (big > 1) {
            count = SIZE_MAX / big + 1 + (b & 3);
            c->impossible = 1;
        }
    }
    c->data.count = count;
    alloc_ok = c->net_ok && !c->impossible && mul_ok(count, c->n0, &nx)
        && mul_ok(count, c->nL, &ny) && nx <= MAX_ALLOC && ny <= MAX_ALLOC;
    if (!alloc_ok)
        nx = ny = 0;
    c->nx = nx;
    c->feasible = alloc_ok && c->P <= MAX_P && count * c->P <= MAX_WORK
        && pybp_workspace_size(&c->net, count ? count : 1, &ws) == PYBP_OK
        && ws <= MAX_WORK;

    /* Parameters: the stated count is allocated, with values decoded. */
    c->np = pick_claim(&s, c->P, c->feasible);
    c->params = xalloc(c->np, sizeof *c->params);
    for (i = 0; i < c->np; i++)
        c->params[i] = pick_value(&s, c->wild);
    c->params_ok = all_finite(c->params, c->np);
    c->params_ok32 = c->params_ok;
    for (i = 0; i < c->np; i++)
        if (!isfinite((float)c->params[i]))
            c->params_ok32 = 0;

    /* Inputs: x doubles, uint8 (sometimes with a bad divisor), rarely both
     * or none.  A valid network whose data cannot be allocated gets no
     * inputs at all, so that no stated length is ever false. */
    flags = get8(&s);
    b = flags & 7;
    if (b < 6) {
        c->x = xalloc(nx, sizeof *c->x);
        c->data.x = c->x;
    } else {
        static const double divisors[8] = {
            255.0, 1.0, 0.5, 3.0, 0.0, -1.0, NAN, 5e-324
        };
        unsigned d = get8(&s);
        c->xu8 = xalloc(nx, 1);
        c->data.x_u8 = c->xu8;
        c->data.x_divisor = b == 6 ? 255.0 : divisors[d & 7];
    }
    if ((flags & 0x18) == 0x18) {
        if (c->x == NULL) {
            c->x = xalloc(nx, sizeof *c->x);
            c->data.x = c->x;
        } else {
            c->data.x = NULL;
        }
    }
    if (c->net_ok && !alloc_ok && !c->impossible)
        c->data.x = NULL, c->data.x_u8 = NULL;
    c->inputs_ok = (c->data.x == NULL) != (c->data.x_u8 == NULL)
        && (c->data.x_u8 == NULL
            || (isfinite(c->data.x_divisor) && c->data.x_divisor > 0.0));
    for (i = 0; c->data.x != NULL && i < nx; i++)
        c->x[i] = pick_value(&s, c->wild);
    for (i = 0; c->data.x_u8 != NULL && i < nx; i++)
        c->xu8[i] = (unsigned char)get8(&s);

    /* Targets: y (in [0, 1] unless wild), labels, rarely neither or both. */
    c->targets_kind = (flags >> 5) < 4 ? 1 : (flags >> 5) < 7 ? 2
                    : 3 * (int)(flags & 1);
    if (c->targets_kind & 1) {
        c->y = xalloc(ny, sizeof *c->y);
        c->data.y = c->y;
        for (i = 0; i < ny; i++)
            c->y[i] = c->wild ? pick_value(&s, 1) : get8(&s) / 255.0;
        /* log-likelihood targets are distributions unless wild: one-hot
         * rows (so that calls with them are expected to succeed) */
        if (!c->wild && c->net.cost == PYBP_LOG_LIKELIHOOD && c->nL > 0)
            for (i = 0; i < ny; i += c->nL) {
                size_t j, hot = (size_t)(c->y[i] * 255.0) % c->nL;
                for (j = 0; j < c->nL; j++)
                    c->y[i + j] = j == hot ? 1.0 : 0.0;
            }
    }
    if (c->targets_kind & 2) {
        size_t nlab = alloc_ok ? count : 0;
        c->labels = xalloc(nlab, sizeof *c->labels);
        c->data.labels = c->labels;
        for (i = 0; i < nlab; i++) {
            static const int32_t odd[4] = {-1, INT32_MAX, INT32_MIN, 0};
            b = get8(&s);
            c->labels[i] = b < 232 ? (int32_t)(b % c->nL)
                         : b < 248 ? (int32_t)c->nL + (int32_t)((b - 232) >> 2)
                         : odd[b & 3];
        }
    }

    /* Stated output lengths. */
    c->nout = pick_claim(&s, ny, alloc_ok);
    c->ngrad = pick_claim(&s, c->P, c->feasible);
    c->work_mode = get8(&s);

    /* The permutation for sgd_epoch: a shuffle of 0 .. count-1, or indices
     * repeated, or one out of range. */
    b = get8(&s);
    if (c->feasible && count > 0) {
        c->nperm = b < 192 ? count : b < 250 ? 1 + b % (2 * count) : 0;
        c->perm = xalloc(c->nperm, sizeof *c->perm);
        for (i = 0; i < c->nperm; i++)
            c->perm[i] = i < count ? i : get8(&s) % count;
        for (i = 0; i + 1 < c->nperm; i++) {
            size_t j = i + get8(&s) % (c->nperm - i), t = c->perm[i];
            c->perm[i] = c->perm[j];
            c->perm[j] = t;
        }
        if (b >= 160 && b < 192 && c->nperm > 0)
            c->perm[get8(&s) % c->nperm] = count + (get8(&s) & 3) - 1;
    } else {
        c->nperm = b % 4;
        c->perm = xalloc(c->nperm, sizeof *c->perm);
        for (i = 0; i < c->nperm; i++)
            c->perm[i] = 0;
    }
    b = get8(&s);
    c->mbs = b < 224 ? 1 + b % (count && count <= MAX_COUNT ? count : 1)
           : (b & 3) == 0 ? 0 : (b & 3) == 1 ? SIZE_MAX : c->nperm + (b & 3);
    {
        static const double etas[8] = {0.5, 0.1, 3.0, 0.0, -0.5, 1.0,
                                       NAN, INFINITY};
        static const double lmbdas[8] = {0.0, 0.1, 5.0, 0.0, -1.0, 1.0,
                                         NAN, INFINITY};
        static const size_t ns[8] = {1, 10, 1000, 50, 0, 3, SIZE_MAX, 7};
        b = get8(&s);
        c->eta = etas[b & 7];
        c->lmbda = lmbdas[b >> 3 & 7];
        c->n = b >> 6 == 3 ? count : ns[b >> 6 ? (get8(&s) & 7) : 0];
    }
    b = get8(&s);
    c->cost_null = b & 1;
    c->t0 = (b & 2) ? 1.5 : 0.0;
    c->split = b >> 2;
    b = get8(&s);
    c->nulls = b >= 240 ? 1u << (b & 7) : 0;

    c->moderate = !c->wild && c->net.nlayers <= 8
        && (c->data.x_u8 == NULL || c->data.x_divisor >= 0.25);
}

static void release(setup *c)
{
    free(c->sizes);
    free(c->acts);
    free(c->params);
    free(c->x);
    free(c->xu8);
    free(c->y);
    free(c->labels);
    free(c->perm);
}

/* ---- helpers for one call ------------------------------------------------ */

static size_t ws_for(const setup *c, size_t batch, int *ok)
{
    size_t r = 0;
    *ok = pybp_workspace_size(&c->net, batch, &r) == PYBP_OK;
    return r;
}

/* The stated nwork for a call whose true need is `need` doubles. */
static size_t work_claim(const setup *c, size_t need, int have)
{
    unsigned m = c->work_mode;
    if (!have || !c->feasible)
        return m % 64;
    switch (m >> 5) {
    case 4: return need > 0 ? need - 1 : 0;
    case 5: return need + (m & 15);
    case 6: return m & 15;
    default: return need;
    }
}

static const pybp_net *net_arg(const setup *c)
{
    return (c->nulls & NULL_NET) ? NULL : &c->net;
}

static const pybp_data *data_arg(const setup *c)
{
    return (c->nulls & NULL_DATA) ? NULL : &c->data;
}

static int labels_ok(const setup *c, const size_t *perm, size_t m)
{
    size_t i;
    if (c->data.labels == NULL)
        return 1;
    for (i = 0; i < m; i++) {
        int32_t v = c->labels[perm != NULL ? perm[i] : i];
        if (v < 0 || (size_t)v >= c->nL)
            return 0;
    }
    return 1;
}

/* Set while run_f32 checks the float32 calls: parameters that are finite
 * as doubles may still round to inf as floats. */
static int in_f32;

static int params_finite(const setup *c)
{
    return in_f32 ? c->params_ok32 : c->params_ok;
}

/* Whether a call must fail: a stated length or pointer is false, or a
 * parameter is NaN or infinite. */
static int must_fail(const setup *c, unsigned nulls_used)
{
    return (c->nulls & nulls_used) != 0 || c->impossible
        || (c->net_ok && c->data.count == 0)
        || (c->net_ok && c->np != c->P)
        || (c->net_ok && !c->inputs_ok)
        || (c->net_ok && c->np == c->P && !params_finite(c));
}

/* Dense targets inside the cost's domain (the library's rule:
 * cross-entropy in [0, 1], log-likelihood >= 0 summing to 1 within
 * 1e-9 n_L); labels and the quadratic cost take anything. */
static int targets_ok(const setup *c)
{
    size_t i, j, nL = c->nL;
    double sum;
    if (c->data.y == NULL || c->net.cost == PYBP_QUADRATIC)
        return 1;
    for (i = 0; i < c->data.count; i++) {
        sum = 0.0;
        for (j = 0; j < nL; j++) {
            double v = c->y[i * nL + j];
            if (!(v >= 0.0)
                || (c->net.cost == PYBP_CROSS_ENTROPY && !(v <= 1.0)))
                return 0;
            sum += v;
        }
        if (c->net.cost == PYBP_LOG_LIKELIHOOD
            && !(fabs(sum - 1.0) <= 1e-9 * (double)nL))
            return 0;
    }
    return 1;
}

/* Whether a call must succeed: everything true and valid. */
static int must_pass(const setup *c, unsigned nulls_used, int need_targets)
{
    return (c->nulls & nulls_used) == 0 && c->feasible && !c->impossible
        && c->data.count > 0
        && !c->opts_odd && c->np == c->P && c->inputs_ok && params_finite(c)
        && (need_targets ? (c->targets_kind == 1 && targets_ok(c))
                               || c->targets_kind == 2
                         : c->targets_kind != 3);
}

/* The same data with labels as one-hot targets and uint8 inputs as the
 * doubles they stand for (both documented to give the same bits). */
typedef struct plain {
    pybp_data data;
    double *x, *y;
} plain;

static void make_plain(const setup *c, plain *p)
{
    size_t count = c->data.count, i, j;
    p->data = c->data;
    p->x = p->y = NULL;
    if (c->data.x_u8 != NULL) {
        p->x = xalloc(count * c->n0, sizeof *p->x);
        for (i = 0; i < count * c->n0; i++)
            p->x[i] = (double)c->xu8[i] / c->data.x_divisor;
        p->data.x = p->x;
        p->data.x_u8 = NULL;
        p->data.x_divisor = 0.0;
    }
    if (c->data.labels != NULL) {
        p->y = xalloc(count * c->nL, sizeof *p->y);
        for (i = 0; i < count; i++)
            for (j = 0; j < c->nL; j++)
                p->y[i * c->nL + j] = (size_t)c->labels[i] == j ? 1.0 : 0.0;
        p->data.y = p->y;
        p->data.labels = NULL;
    }
}

static void free_plain(plain *p)
{
    free(p->x);
    free(p->y);
}

/* The reference setup: scalar path, one thread. */
static pybp_net ref_net(const setup *c)
{
    pybp_net n = c->net;
#ifdef PYBP_ISA_AUTO
    n.isa = PYBP_ISA_SCALAR;
    n.threads = 0;
#endif
    return n;
}

/* ---- the entry points ---------------------------------------------------- */

static void check_shape(const setup *c)
{
    size_t np = 12345, w1 = 0, w2 = 0, w3 = 0;
    int st = pybp_nparams(&c->net, &np), ok1, ok2;

    check_status_known(st);
    if (st == PYBP_OK) {
        REQUIRE(c->net_ok && np == c->P);
    } else {
        REQUIRE(np == 12345);
        if (c->net_ok)   /* P fits, so only the workspace can overflow */
            REQUIRE(st == PYBP_EOVERFLOW || c->opts_odd);
    }
    REQUIRE(pybp_nparams(&c->net, NULL) != PYBP_OK);
    REQUIRE(pybp_nparams(NULL, &np) != PYBP_OK);

    w1 = ws_for(c, 1, &ok1);
    if (st == PYBP_OK && ok1) {
        REQUIRE(w1 > c->P);
        w2 = ws_for(c, 2, &ok2);
        if (ok2)
            REQUIRE(w2 >= w1);
        REQUIRE(pybp_workspace_size(&c->net, 0, &w3) != PYBP_OK);
        REQUIRE(pybp_workspace_size(&c->net, SIZE_MAX, &w3) != PYBP_OK);
        REQUIRE(w3 == 0);
    }
}

static void check_outputs_in_range(const setup *c, const double *out,
                                   size_t count)
{
    int act = c->acts[c->net.nlayers - 2];
    size_t i, j, nL = c->nL;
    REQUIRE(all_finite(out, count * nL));
    for (i = 0; i < count; i++) {
        double sum = 0.0;
        for (j = 0; j < nL; j++) {
            double v = out[i * nL + j];
            if (act == PYBP_SIGMOID || act == PYBP_SOFTMAX)
                REQUIRE(v >= 0.0 && v <= 1.0);
            if (act == PYBP_TANH)
                REQUIRE(v >= -1.0 && v <= 1.0);
            if (act == PYBP_RELU)
                REQUIRE(v >= 0.0);
            sum += v;
        }
        if (act == PYBP_SOFTMAX)
            REQUIRE(fabs(sum - 1.0) <= 1e-12 * (double)(nL + 1));
    }
}

static void run_feedforward(const setup *c)
{
    int have1, st;
    size_t need = ws_for(c, 1, &have1), nwork = work_claim(c, need, have1);
    double *params = ddup(c->params, c->np);
    double *out = dalloc_fill(c->nout, 7.0);
    double *work = dalloc_fill(nwork, NAN);
    size_t count = c->data.count, i;

    st = pybp_feedforward(net_arg(c),
                          (c->nulls & NULL_PARAMS) ? NULL : params, c->np,
                          data_arg(c), (c->nulls & NULL_OUT) ? NULL : out,
                          c->nout, (c->nulls & NULL_WORK) ? NULL : work,
                          nwork);
    check_status_known(st);
    count_call(F_FF, st);
    REQUIRE(bytes_equal(params, c->params, c->np * sizeof *params));
    if (must_fail(c, NULL_NET | NULL_PARAMS | NULL_DATA | NULL_OUT | NULL_WORK)
        || (c->feasible && (c->nout != count * c->nL || nwork < need)))
        REQUIRE(st != PYBP_OK);
    else if (must_pass(c, NULL_NET | NULL_PARAMS | NULL_DATA | NULL_OUT
                       | NULL_WORK, 0) && c->nout == count * c->nL
             && nwork >= need && have1)
        REQUIRE(st == PYBP_OK);

    if (st != PYBP_OK) {
        for (i = 0; i < c->nout; i++)
            REQUIRE(out[i] == 7.0);
    } else {
        size_t big = ws_for(c, count, &have1) + 5;
        double *out2 = dalloc_fill(c->nout, 0.0), *work2;
        pybp_net rn = ref_net(c);
        plain pl;
        REQUIRE(c->feasible && have1);
        if (c->moderate)
            check_outputs_in_range(c, out, count);
        make_plain(c, &pl);
        work2 = dalloc_fill(big, 0.0);
        st = pybp_feedforward(&rn, params, c->np, &pl.data, out2, c->nout,
                              work2, big);
        REQUIRE(st == PYBP_OK);
        REQUIRE(same(out, out2, c->nout));
        free(work2);
        free(out2);
        free_plain(&pl);
    }
    free(params);
    free(out);
    free(work);
}

static void run_cost(const setup *c)
{
    int have1, st;
    size_t need = ws_for(c, 1, &have1), nwork = work_claim(c, need, have1);
    double *work = dalloc_fill(nwork, NAN), total = c->t0;
    unsigned used = NULL_NET | NULL_PARAMS | NULL_DATA | NULL_OUT | NULL_WORK;

    st = pybp_cost(net_arg(c), (c->nulls & NULL_PARAMS) ? NULL : c->params,
                   c->np, data_arg(c), (c->nulls & NULL_OUT) ? NULL : &total,
                   (c->nulls & NULL_WORK) ? NULL : work, nwork);
    check_status_known(st);
    count_call(F_COST, st);
    if (must_fail(c, used) || (c->feasible && nwork < need)
        || (c->feasible && !labels_ok(c, NULL, c->data.count)))
        REQUIRE(st != PYBP_OK);
    else if (must_pass(c, used, 1) && nwork >= need && have1)
        REQUIRE(st == PYBP_OK);

    if (st != PYBP_OK) {
        REQUIRE(bytes_equal(&total, &c->t0, sizeof total));
    } else {
        size_t big = ws_for(c, c->data.count, &have1) + 3;
        double *work2 = dalloc_fill(big, 0.0), total2 = c->t0;
        pybp_net rn = ref_net(c);
        plain pl;
        REQUIRE(c->feasible);
        /* y in [0, 1] and outputs in range: every C_x >= 0 */
        if (c->moderate)
            REQUIRE(total >= c->t0);
        make_plain(c, &pl);
        st = pybp_cost(&rn, c->params, c->np, &pl.data, &total2, work2, big);
        REQUIRE(st == PYBP_OK);
        REQUIRE(same(&total, &total2, 1));
        free(work2);
        free_plain(&pl);
    }
    free(work);
}

static void run_gradient(const setup *c)
{
    int have1, st;
    size_t need = ws_for(c, 1, &have1), nwork = work_claim(c, need, have1);
    double *work = dalloc_fill(nwork, NAN);
    double *grad = dalloc_fill(c->ngrad, 7.0);
    unsigned used = NULL_NET | NULL_PARAMS | NULL_DATA | NULL_OUT | NULL_WORK;
    size_t i;

    st = pybp_gradient(net_arg(c), (c->nulls & NULL_PARAMS) ? NULL : c->params,
                       c->np, data_arg(c), (c->nulls & NULL_OUT) ? NULL : grad,
                       c->ngrad, (c->nulls & NULL_WORK) ? NULL : work, nwork);
    check_status_known(st);
    count_call(F_GRAD, st);
    if (must_fail(c, used) || (c->feasible && nwork < need)
        || (c->feasible && c->ngrad != c->P)
        || (c->feasible && !labels_ok(c, NULL, c->data.count)))
        REQUIRE(st != PYBP_OK);
    else if (must_pass(c, used, 1) && nwork >= need && have1
             && c->ngrad == c->P && labels_ok(c, NULL, c->data.count))
        REQUIRE(st == PYBP_OK);

    if (st != PYBP_OK) {
        for (i = 0; i < c->ngrad; i++)
            REQUIRE(grad[i] == 7.0);
    } else {
        size_t big = ws_for(c, c->data.count, &have1) + 3;
        double *work2 = dalloc_fill(big, 0.0), *grad2 = dalloc_fill(c->P, 0.0);
        pybp_net rn = ref_net(c);
        plain pl;
        if (c->moderate)
            REQUIRE(all_finite(grad, c->P));
        make_plain(c, &pl);
        st = pybp_gradient(&rn, c->params, c->np, &pl.data, grad2, c->P,
                           work2, big);
        REQUIRE(st == PYBP_OK);
        REQUIRE(same(grad, grad2, c->P));
        free(work2);
        free(grad2);
        free_plain(&pl);
    }
    free(grad);
    free(work);
}

static void run_evaluate(const setup *c)
{
    int have1, st;
    size_t need = ws_for(c, 1, &have1), nwork = work_claim(c, need, have1);
    double *work = dalloc_fill(nwork, NAN);
    size_t correct = 12345;
    unsigned used = NULL_NET | NULL_PARAMS | NULL_DATA | NULL_OUT | NULL_WORK;

    st = pybp_evaluate(net_arg(c), (c->nulls & NULL_PARAMS) ? NULL : c->params,
                       c->np, data_arg(c),
                       (c->nulls & NULL_OUT) ? NULL : &correct,
                       (c->nulls & NULL_WORK) ? NULL : work, nwork);
    check_status_known(st);
    count_call(F_EVAL, st);
    if (must_fail(c, used) || (c->feasible && nwork < need)
        || (c->feasible && !labels_ok(c, NULL, c->data.count)))
        REQUIRE(st != PYBP_OK);
    else if (must_pass(c, used, 1) && nwork >= need && have1)
        REQUIRE(st == PYBP_OK);

    if (st != PYBP_OK) {
        REQUIRE(correct == 12345);
    } else {
        size_t big = ws_for(c, c->data.count, &have1) + 3, correct2 = 0;
        double *work2 = dalloc_fill(big, 0.0);
        pybp_net rn = ref_net(c);
        plain pl;
        REQUIRE(correct <= c->data.count);
        make_plain(c, &pl);
        st = pybp_evaluate(&rn, c->params, c->np, &pl.data, &correct2, work2,
                           big);
        REQUIRE(st == PYBP_OK && correct2 == correct);
        free(work2);
        free_plain(&pl);
    }
    free(work);
}

static int sgd_values_ok(const setup *c)
{
    return c->n > 0 && isfinite(c->eta) && isfinite(c->lmbda)
        && c->lmbda >= 0.0;
}

static void run_update(const setup *c)
{
    int have, st;
    size_t count = c->data.count;
    size_t need = ws_for(c, count, &have), nwork = work_claim(c, need, have);
    double *work = dalloc_fill(nwork, NAN);
    double *params = ddup(c->params, c->np);
    unsigned used = NULL_NET | NULL_PARAMS | NULL_DATA | NULL_WORK;

    st = pybp_update_mini_batch(net_arg(c),
                                (c->nulls & NULL_PARAMS) ? NULL : params,
                                c->np, data_arg(c), c->eta, c->lmbda, c->n,
                                (c->nulls & NULL_WORK) ? NULL : work, nwork);
    check_status_known(st);
    count_call(F_UPD, st);
    if (must_fail(c, used) || (c->feasible && nwork < need)
        || (c->feasible && !labels_ok(c, NULL, count))
        || (c->net_ok && !sgd_values_ok(c)))
        REQUIRE(st != PYBP_OK);
    else if (must_pass(c, used, 1) && have && nwork >= need
             && labels_ok(c, NULL, count) && sgd_values_ok(c))
        REQUIRE(st == PYBP_OK);

    if (st != PYBP_OK) {
        REQUIRE(bytes_equal(params, c->params, c->np * sizeof *params));
    } else {
        /* the same step as a one-batch epoch over 0 .. count-1 */
        size_t big = need + 5, i;
        size_t *perm = xalloc(count, sizeof *perm);
        double *work2 = dalloc_fill(big, 0.0);
        double *params2 = ddup(c->params, c->np);
        pybp_net rn = ref_net(c);
        plain pl;
        if (c->moderate)
            REQUIRE(all_finite(params, c->P));
        for (i = 0; i < count; i++)
            perm[i] = i;
        make_plain(c, &pl);
        st = pybp_sgd_epoch(&rn, params2, c->np, &pl.data, perm, count, count,
                            c->eta, c->lmbda, c->n, NULL, work2, big);
        REQUIRE(st == PYBP_OK);
        REQUIRE(same(params, params2, c->P));
        free(perm);
        free(work2);
        free(params2);
        free_plain(&pl);
    }
    free(params);
    free(work);
}

/* What pybp_sgd_epoch (either type) must return for this setup, given the
 * workspace it needs and the one stated. */
static void check_epoch_status(const setup *c, int st, unsigned used,
                               int have, size_t need, size_t nwork)
{
    int perm_ok = 1;
    size_t i;
    for (i = 0; i < c->nperm; i++)
        if (c->perm[i] >= c->data.count)
            perm_ok = 0;
    if (must_fail(c, used) || (c->feasible && (nwork < need || !perm_ok))
        || (c->net_ok && (c->nperm == 0 || c->mbs == 0 || !sgd_values_ok(c)))
        || (c->feasible && perm_ok && !labels_ok(c, c->perm, c->nperm)))
        REQUIRE(st != PYBP_OK);
    else if (must_pass(c, used, 1) && have && nwork >= need && perm_ok
             && sgd_values_ok(c) && labels_ok(c, c->perm, c->nperm))
        REQUIRE(st == PYBP_OK);
}

static void run_epoch(const setup *c)
{
    int have, st;
    size_t batch = c->mbs < c->nperm ? c->mbs : c->nperm;
    size_t need = ws_for(c, batch ? batch : 1, &have);
    size_t nwork = work_claim(c, need, have && batch > 0);
    double *work = dalloc_fill(nwork, NAN);
    double *params = ddup(c->params, c->np), total = c->t0;
    double *tp = c->cost_null ? NULL : &total;
    unsigned used = NULL_NET | NULL_PARAMS | NULL_DATA | NULL_WORK | NULL_PERM;

    st = pybp_sgd_epoch(net_arg(c), (c->nulls & NULL_PARAMS) ? NULL : params,
                        c->np, data_arg(c),
                        (c->nulls & NULL_PERM) ? NULL : c->perm, c->nperm,
                        c->mbs, c->eta, c->lmbda, c->n, tp,
                        (c->nulls & NULL_WORK) ? NULL : work, nwork);
    check_status_known(st);
    count_call(F_EPOCH, st);
    check_epoch_status(c, st, used, have && batch > 0, need, nwork);

    if (st != PYBP_OK) {
        REQUIRE(bytes_equal(params, c->params, c->np * sizeof *params));
        REQUIRE(bytes_equal(&total, &c->t0, sizeof total));
    } else {
        /* the same epoch in two calls, split at a mini-batch boundary */
        size_t nb = (c->nperm + batch - 1) / batch;
        size_t cut = (c->split % nb) * batch, big = need + 5;
        double *work2 = dalloc_fill(big, 0.0);
        double *params2 = ddup(c->params, c->np), total2 = c->t0;
        double *tp2 = c->cost_null ? NULL : &total2;
        pybp_net rn = ref_net(c);
        plain pl;
        make_plain(c, &pl);
        if (cut > 0) {
            st = pybp_sgd_epoch(&rn, params2, c->np, &pl.data, c->perm, cut,
                                batch, c->eta, c->lmbda, c->n, tp2, work2,
                                big);
            REQUIRE(st == PYBP_OK);
        }
        st = pybp_sgd_epoch(&rn, params2, c->np, &pl.data, c->perm + cut,
                            c->nperm - cut, batch, c->eta, c->lmbda, c->n,
                            tp2, work2, big);
        if (!all_finite(params2, c->np) && st == PYBP_EPARAMS) {
            /* the first part diverged: the second takes nothing from it,
             * where the one call went on; the full run diverged too */
            REQUIRE(!all_finite(params, c->P));
        } else {
            REQUIRE(st == PYBP_OK);
            REQUIRE(same(params, params2, c->P));
            REQUIRE(same(&total, &total2, 1));
        }
        free(work2);
        free(params2);
        free_plain(&pl);
    }
    free(params);
    free(work);
}

/*
 * float32: the same arguments in single precision (x becomes x_f32), the
 * workspace stated the same way relative to the float32 need.  The same
 * validity rules hold, nothing is written on error, and an accepted call
 * gives the same bits on the scalar path with no threads.
 */
static pybp_data data_f32(const setup *c, float **x32)
{
    pybp_data d = c->data;
    size_t i;
    *x32 = NULL;
    if (d.x != NULL) {
        *x32 = xalloc(c->nx, sizeof **x32);
        for (i = 0; i < c->nx; i++)
            (*x32)[i] = (float)c->x[i];
        d.x_f32 = *x32;
        d.x = NULL;
    }
    return d;
}

static float *fdup(const double *v, size_t n)
{
    float *f = xalloc(n, sizeof *f);
    size_t i;
    for (i = 0; i < n; i++)
        f[i] = (float)v[i];
    return f;
}

static float *falloc_fill(size_t n, float v)
{
    float *f = xalloc(n, sizeof *f);
    size_t i;
    for (i = 0; i < n; i++)
        f[i] = v;
    return f;
}

static void run_f32(const setup *c)
{
    float *x32, *p0 = fdup(c->params, c->np), *params, *out, *work;
    pybp_data d = data_f32(c, &x32);
    in_f32 = 1;
    const pybp_data *dp = (c->nulls & NULL_DATA) ? NULL : &d;
    pybp_net rn = ref_net(c);
    size_t batch = c->mbs < c->nperm ? c->mbs : c->nperm, need = 0, nwork, i;
    unsigned used = NULL_NET | NULL_PARAMS | NULL_DATA | NULL_OUT | NULL_WORK;
    double total = c->t0, *tp = c->cost_null ? NULL : &total;
    int have, st;

    /* feedforward */
    have = pybp_workspace_size_f32(&c->net, 1, &need) == PYBP_OK;
    nwork = work_claim(c, need, have);
    params = fdup(c->params, c->np);
    out = falloc_fill(c->nout, 7.0f);
    work = falloc_fill(nwork, NAN);
    st = pybp_feedforward_f32(net_arg(c),
                              (c->nulls & NULL_PARAMS) ? NULL : params, c->np,
                              dp, (c->nulls & NULL_OUT) ? NULL : out, c->nout,
                              (c->nulls & NULL_WORK) ? NULL : work, nwork);
    check_status_known(st);
    count_call(F_FF32, st);
    REQUIRE(bytes_equal(params, p0, c->np * sizeof *params));
    if (must_fail(c, used)
        || (c->feasible && (c->nout != c->data.count * c->nL || nwork < need)))
        REQUIRE(st != PYBP_OK);
    else if (must_pass(c, used, 0) && c->nout == c->data.count * c->nL
             && nwork >= need && have)
        REQUIRE(st == PYBP_OK);
    if (st != PYBP_OK)
        for (i = 0; i < c->nout; i++)
            REQUIRE(out[i] == 7.0f);
    free(out);
    free(work);

    /* sgd_epoch */
    used = NULL_NET | NULL_PARAMS | NULL_DATA | NULL_WORK | NULL_PERM;
    have = pybp_workspace_size_f32(&c->net, batch ? batch : 1, &need)
        == PYBP_OK;
    nwork = work_claim(c, need, have && batch > 0);
    work = falloc_fill(nwork, NAN);
    st = pybp_sgd_epoch_f32(net_arg(c),
                            (c->nulls & NULL_PARAMS) ? NULL : params, c->np,
                            dp, (c->nulls & NULL_PERM) ? NULL : c->perm,
                            c->nperm, c->mbs, c->eta, c->lmbda, c->n, tp,
                            (c->nulls & NULL_WORK) ? NULL : work, nwork);
    check_status_known(st);
    count_call(F_EPOCH32, st);
    check_epoch_status(c, st, used, have && batch > 0, need, nwork);
    if (st != PYBP_OK) {
        REQUIRE(bytes_equal(params, p0, c->np * sizeof *params));
        REQUIRE(bytes_equal(&total, &c->t0, sizeof total));
    } else {
        float *params2 = fdup(c->params, c->np);
        double total2 = c->t0;
        st = pybp_sgd_epoch_f32(&rn, params2, c->np, &d, c->perm, c->nperm,
                                c->mbs, c->eta, c->lmbda, c->n,
                                c->cost_null ? NULL : &total2, work, nwork);
        REQUIRE(st == PYBP_OK);
        REQUIRE(same_f(params, params2, c->P));
        REQUIRE(same(&total, &total2, 1));
        free(params2);
    }
    free(work);
    free(params);
    free(p0);
    free(x32);
    in_f32 = 0;
}

/* pybp_model_size validates like pybp_nparams (docs/model-format.md). */
static void run_model(const setup *c)
{
    size_t nbytes = 0, np = 0, i;
    int st_np = pybp_nparams(&c->net, &np);
    int st = pybp_model_size(&c->net, &nbytes), fits = 1;
    unsigned char *buf;

    check_status_known(st);
    for (i = 0; i < c->net.nlayers && i < PYBP_MAX_LAYERS; i++)
        if (c->sizes[i] > UINT32_MAX)
            fits = 0;
    if (fits && st_np != PYBP_EOVERFLOW && !c->opts_odd) {
        if (st_np == PYBP_OK)
            REQUIRE(st == PYBP_OK || st == PYBP_EOVERFLOW);
        else
            REQUIRE(st == st_np);
    }
    if (st != PYBP_OK || !c->feasible || c->np != c->P)
        return;
    REQUIRE(nbytes == 28 + 8 * c->net.nlayers + 8 * c->P);
    buf = xalloc(nbytes, 1);
    st = pybp_model_write(&c->net, c->params, c->np, buf, nbytes);
    check_status_known(st);
    if (!all_finite(c->params, c->np)) {
        REQUIRE(st == PYBP_EVALUE);
    } else {
        size_t nl = 0, np2 = 0, *sizes;
        int *acts, cost = 0;
        double *params;
        REQUIRE(st == PYBP_OK);
        REQUIRE(pybp_model_info(buf, nbytes, &nl, &np2) == PYBP_OK);
        REQUIRE(nl == c->net.nlayers && np2 == c->P);
        sizes = xalloc(nl, sizeof *sizes);
        acts = xalloc(nl - 1, sizeof *acts);
        params = xalloc(np2, sizeof *params);
        REQUIRE(pybp_model_read(buf, nbytes, sizes, nl, acts, &cost, params,
                                np2) == PYBP_OK);
        REQUIRE(bytes_equal(sizes, c->sizes, nl * sizeof *sizes));
        REQUIRE(bytes_equal(acts, c->acts, (nl - 1) * sizeof *acts));
        REQUIRE(cost == c->net.cost);
        REQUIRE(bytes_equal(params, c->params, np2 * sizeof *params));
        free(sizes);
        free(acts);
        free(params);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup c;
    decode(&c, data, size);
    check_shape(&c);
    run_feedforward(&c);
    run_cost(&c);
    run_gradient(&c);
    run_evaluate(&c);
    run_update(&c);
    run_epoch(&c);
    run_f32(&c);
    run_model(&c);
    release(&c);
    return 0;
}
