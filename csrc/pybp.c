/*
 * pybp.c - the float64 kernels of pybp: feedforward, BP1-BP4, mini-batch SGD.
 *
 * Every number equals what pybp/_reference.py computes, bit for bit: each
 * sum starts at 0.0 and adds its terms in ascending index order, and every
 * product is rounded before it is added (docs/exactness.md).  The loops are
 * restructured for speed only across independent sums: a chunk of examples
 * is processed at once, stored feature-major (row k of layer l holds a^l_k
 * of every example of the chunk), so the inner loops run over examples or
 * weight columns and vectorise without reordering any single sum.
 *
 * Build with -ffp-contract=off and without -ffast-math: a fused
 * multiply-add or a reassociated sum would change result bits.
 *
 * Workspace (doubles), for a chunk capacity of `cap` examples:
 *   backprop functions (gradient, update_mini_batch, sgd_epoch):
 *     S   P           per-parameter sums over the examples so far
 *     a^l n_l * cap   activations of layer l = 0 .. L (a^0 is the input)
 *     y   n_L * cap   targets
 *     d   2 * max(n_1..n_L) * cap    deltas of two adjacent layers
 *     t   max(n_0..n_{L-1}) * cap    a^(l-1), transposed for BP4
 *   forward-only functions (feedforward, cost, evaluate) use just a^l and y,
 *   so the same workspace holds larger chunks for them.
 * pybp_workspace_size(net, B) = P + B * (sum n_l + n_L + 2 max_d + max_t).
 */
#include "pybp.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

#ifdef __FAST_MATH__
#error "pybp must not be built with -ffast-math: it changes result bits"
#endif
#if FLT_EVAL_METHOD != 0
#error "pybp needs double arithmetic in double precision (i386: -msse2 -mfpmath=sse)"
#endif

/* C99 restrict; MSVC spells it __restrict. */
#if defined(_MSC_VER)
#define PYBP__RESTRICT __restrict
#else
#define PYBP__RESTRICT restrict
#endif

/* Examples per block in the forward pass: keeps a block of z and of a^(l-1)
 * in cache however large the chunk is.  Any value gives the same bits. */
#define PYBP__XBLOCK 64

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */

const char *pybp_strerror(int status)
{
    switch (status) {
    case PYBP_OK:          return "success";
    case PYBP_ENULL:       return "a required pointer is NULL";
    case PYBP_ESIZE:       return "a size or count is zero or out of range";
    case PYBP_EOVERFLOW:   return "a size computation overflows size_t";
    case PYBP_EACTIVATION: return "unknown activation code";
    case PYBP_ECOST:       return "unknown cost code";
    case PYBP_ESOFTMAX:    return "softmax is only allowed on the output layer";
    case PYBP_ECOMBINATION:
        return "cost and output activation do not go together";
    case PYBP_ELENGTH:     return "a buffer length does not match the network";
    case PYBP_EWORKSPACE:  return "workspace too small";
    case PYBP_EVALUE:      return "a number is NaN, infinite or out of range";
    case PYBP_ELABEL:      return "a class label is outside 0 .. n_L - 1";
    case PYBP_EINDEX:      return "a permutation index is outside 0 .. count - 1";
    case PYBP_EDATA:       return "data descriptor is inconsistent";
    case PYBP_EFORMAT:     return "model file is malformed";
    case PYBP_ECHECKSUM:   return "model file checksum does not match";
    case PYBP_ETRUNCATED:  return "model file ends early";
    case PYBP_EVERSION:    return "model file has an unsupported version";
    default:               return "unknown pybp status";
    }
}

const char *pybp_version(void)
{
    return "0.1.0";
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */

/* A validated network, copied out of the caller's arrays so that nothing the
 * kernels write (workspace, params) can change the shape under them. */
typedef struct pybp__shape {
    size_t L;                         /* layers with weights; sizes n[0..L] */
    size_t n[PYBP_MAX_LAYERS];
    int act[PYBP_MAX_LAYERS];         /* act[l] for l = 1 .. L */
    int cost;
    size_t woff[PYBP_MAX_LAYERS];     /* offset of W^l in the flat layout */
    size_t boff[PYBP_MAX_LAYERS];     /* offset of b^l */
    size_t P;                         /* parameter count */
    size_t max_d;                     /* max n_l, l = 1 .. L */
    size_t max_t;                     /* max n_l, l = 0 .. L-1 */
    size_t per_fwd;                   /* workspace doubles per example */
    size_t per_bwd;
    size_t ws1;                       /* pybp_workspace_size(net, 1) */
} pybp__shape;

/* Overflow-checked size arithmetic: return 0 when the result does not fit. */
static int pybp__add(size_t a, size_t b, size_t *r)
{
    if (a > SIZE_MAX - b)
        return 0;
    *r = a + b;
    return 1;
}

static int pybp__mul(size_t a, size_t b, size_t *r)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    *r = a * b;
    return 1;
}

static size_t pybp__min(size_t a, size_t b)
{
    return a < b ? a : b;
}

static int pybp__check_net(const pybp_net *net, pybp__shape *s)
{
    size_t l, L, off = 0, sum, w;
    int out;

    if (net == NULL || net->sizes == NULL || net->activations == NULL)
        return PYBP_ENULL;
    if (net->nlayers < 2 || net->nlayers > PYBP_MAX_LAYERS)
        return PYBP_ESIZE;
    L = net->nlayers - 1;
    s->L = L;
    for (l = 0; l <= L; l++) {
        s->n[l] = net->sizes[l];
        if (s->n[l] == 0)
            return PYBP_ESIZE;
    }
    s->act[0] = 0;
    for (l = 1; l <= L; l++) {
        s->act[l] = net->activations[l - 1];
        if (s->act[l] < PYBP_SIGMOID || s->act[l] > PYBP_SOFTMAX)
            return PYBP_EACTIVATION;
    }
    for (l = 1; l < L; l++)
        if (s->act[l] == PYBP_SOFTMAX)
            return PYBP_ESOFTMAX;
    s->cost = net->cost;
    out = s->act[L];
    switch (s->cost) {
    case PYBP_QUADRATIC:
        if (out == PYBP_SOFTMAX)
            return PYBP_ECOMBINATION;
        break;
    case PYBP_CROSS_ENTROPY:
        if (out != PYBP_SIGMOID)
            return PYBP_ECOMBINATION;
        break;
    case PYBP_LOG_LIKELIHOOD:
        if (out != PYBP_SOFTMAX)
            return PYBP_ECOMBINATION;
        break;
    default:
        return PYBP_ECOST;
    }

    /* P = sum_l n_l (n_{l-1} + 1), and the workspace sizes, all checked:
     * a network whose pybp_workspace_size(net, 1) overflows is unusable. */
    sum = s->n[0];
    s->max_d = 0;
    s->max_t = 0;
    for (l = 1; l <= L; l++) {
        s->woff[l] = off;
        if (!pybp__mul(s->n[l], s->n[l - 1], &w)
            || !pybp__add(off, w, &s->boff[l])
            || !pybp__add(s->boff[l], s->n[l], &off)
            || !pybp__add(sum, s->n[l], &sum))
            return PYBP_EOVERFLOW;
        if (s->n[l] > s->max_d)
            s->max_d = s->n[l];
        if (s->n[l - 1] > s->max_t)
            s->max_t = s->n[l - 1];
    }
    s->P = off;
    if (!pybp__add(sum, s->n[L], &s->per_fwd)
        || !pybp__add(s->per_fwd, s->max_d, &s->per_bwd)
        || !pybp__add(s->per_bwd, s->max_d, &s->per_bwd)
        || !pybp__add(s->per_bwd, s->max_t, &s->per_bwd)
        || !pybp__add(s->P, s->per_bwd, &s->ws1))
        return PYBP_EOVERFLOW;
    return PYBP_OK;
}

/* Workspace doubles for backprop on `batch` examples at once. */
static int pybp__ws(const pybp__shape *s, size_t batch, size_t *r)
{
    size_t t;
    if (!pybp__mul(batch, s->per_bwd, &t) || !pybp__add(s->P, t, r))
        return PYBP_EOVERFLOW;
    return PYBP_OK;
}

static int pybp__check_data(const pybp__shape *s, const pybp_data *d,
                            int need_targets)
{
    size_t t;
    if (d->count == 0)
        return PYBP_ESIZE;
    if ((d->x == NULL) == (d->x_u8 == NULL))
        return PYBP_EDATA;
    if (d->y != NULL && d->labels != NULL)
        return PYBP_EDATA;
    if (need_targets && d->y == NULL && d->labels == NULL)
        return PYBP_EDATA;
    if (!pybp__mul(d->count, s->n[0], &t)
        || !pybp__mul(d->count, s->n[s->L], &t))
        return PYBP_EOVERFLOW;
    if (d->x_u8 != NULL && !(isfinite(d->x_divisor) && d->x_divisor > 0.0))
        return PYBP_EVALUE;
    return PYBP_OK;
}

/* Labels of examples perm[0..m-1] (or 0..m-1 when perm is NULL). */
static int pybp__check_labels(const pybp__shape *s, const pybp_data *d,
                              const size_t *perm, size_t m)
{
    size_t i;
    int32_t lab;
    if (d->labels == NULL)
        return PYBP_OK;
    for (i = 0; i < m; i++) {
        lab = d->labels[perm != NULL ? perm[i] : i];
        if (lab < 0 || (size_t)lab >= s->n[s->L])
            return PYBP_ELABEL;
    }
    return PYBP_OK;
}

/* The checks every kernel shares; on success the shape is filled in. */
static int pybp__check_common(const pybp_net *net, size_t nparams,
                              const pybp_data *data, int need_targets,
                              size_t nwork, pybp__shape *s)
{
    int st = pybp__check_net(net, s);
    if (st != PYBP_OK)
        return st;
    if (nparams != s->P)
        return PYBP_ELENGTH;
    st = pybp__check_data(s, data, need_targets);
    if (st != PYBP_OK)
        return st;
    if (nwork < s->ws1)
        return PYBP_EWORKSPACE;
    return PYBP_OK;
}

static int pybp__check_sgd_values(double eta, double lmbda, size_t n)
{
    if (n == 0)
        return PYBP_ESIZE;
    if (!isfinite(eta) || !isfinite(lmbda) || lmbda < 0.0)
        return PYBP_EVALUE;
    return PYBP_OK;
}

int pybp_nparams(const pybp_net *net, size_t *nparams)
{
    pybp__shape s;
    int st;
    if (nparams == NULL)
        return PYBP_ENULL;
    st = pybp__check_net(net, &s);
    if (st == PYBP_OK)
        *nparams = s.P;
    return st;
}

int pybp_workspace_size(const pybp_net *net, size_t batch, size_t *ndoubles)
{
    pybp__shape s;
    size_t r;
    int st;
    if (ndoubles == NULL)
        return PYBP_ENULL;
    st = pybp__check_net(net, &s);
    if (st != PYBP_OK)
        return st;
    if (batch == 0)
        return PYBP_ESIZE;
    st = pybp__ws(&s, batch, &r);
    if (st == PYBP_OK)
        *ndoubles = r;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Workspace and input                                                      */

typedef struct pybp__work {
    double *S;                        /* P sums (backprop only) */
    double *a[PYBP_MAX_LAYERS];       /* a^l: n_l rows of c examples */
    double *y;                        /* targets: n_L rows of c examples */
    double *d[2];                     /* deltas (backprop only) */
    double *t;                        /* c rows of n_{l-1} (backprop only) */
    size_t cap;                       /* examples per chunk */
} pybp__work;

static void pybp__carve(const pybp__shape *s, double *work, size_t nwork,
                        int backprop, pybp__work *w)
{
    double *p = work;
    size_t l;
    if (backprop) {
        w->cap = (nwork - s->P) / s->per_bwd;
        w->S = p;
        p += s->P;
    } else {
        w->cap = nwork / s->per_fwd;
        w->S = NULL;
    }
    for (l = 0; l <= s->L; l++) {
        w->a[l] = p;
        p += s->n[l] * w->cap;
    }
    w->y = p;
    p += s->n[s->L] * w->cap;
    w->d[0] = w->d[1] = w->t = NULL;
    if (backprop) {
        w->d[0] = p;
        p += s->max_d * w->cap;
        w->d[1] = p;
        p += s->max_d * w->cap;
        w->t = p;
    }
}

/*
 * Gathers the c examples idx(first) .. idx(first + c - 1), idx(i) = perm[i]
 * or i, into a^0 (and their targets into y unless y is NULL), feature-major.
 * A uint8 input b becomes b / divisor; a label becomes its one-hot vector.
 */
static void pybp__load(const pybp__shape *s, const pybp_data *d,
                       const size_t *perm, size_t first, size_t c,
                       double *a0, double *y)
{
    size_t n0 = s->n[0], nL = s->n[s->L], x, k, j, i;
    for (x = 0; x < c; x++) {
        i = perm != NULL ? perm[first + x] : first + x;
        if (d->x != NULL) {
            const double *row = d->x + i * n0;
            for (k = 0; k < n0; k++)
                a0[k * c + x] = row[k];
        } else {
            const unsigned char *row = d->x_u8 + i * n0;
            double divisor = d->x_divisor;
            for (k = 0; k < n0; k++)
                a0[k * c + x] = (double)row[k] / divisor;
        }
        if (y == NULL)
            continue;
        if (d->y != NULL) {
            const double *row = d->y + i * nL;
            for (j = 0; j < nL; j++)
                y[j * c + x] = row[j];
        } else {
            for (j = 0; j < nL; j++)
                y[j * c + x] = 0.0;
            y[(size_t)d->labels[i] * c + x] = 1.0;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Activations, derivatives, cost                                           */

/* z[i] += w * a[i]: the product rounded, then one rounded add.  Elements are
 * independent, so this is the loop that vectorises; each z[i] is one term
 * further along its own ascending sum. */
static void pybp__axpy(size_t n, double w, const double *PYBP__RESTRICT a,
                       double *PYBP__RESTRICT z)
{
    size_t i;
    for (i = 0; i < n; i++)
        z[i] += w * a[i];
}

/* Branches on the sign of z so that exp never overflows. */
static double pybp__sigmoid(double z)
{
    double e;
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    e = exp(z);
    return e / (1.0 + e);
}

/* softmax of one example: n values with stride c.  The shift is the first
 * largest z; the sum of the exponentials runs in ascending j. */
static void pybp__softmax(double *v, size_t n, size_t c)
{
    double top = v[0], sum = 0.0;
    size_t j;
    for (j = 1; j < n; j++)
        if (v[j * c] > top)
            top = v[j * c];
    for (j = 0; j < n; j++)
        v[j * c] = exp(v[j * c] - top);
    for (j = 0; j < n; j++)
        sum += v[j * c];
    for (j = 0; j < n; j++)
        v[j * c] = v[j * c] / sum;
}

/* a = f(z) in place, for a layer of n rows of c examples. */
static void pybp__activate(int act, double *z, size_t n, size_t c)
{
    size_t i, x, nc = n * c;
    switch (act) {
    case PYBP_SIGMOID:
        for (i = 0; i < nc; i++)
            z[i] = pybp__sigmoid(z[i]);
        break;
    case PYBP_TANH:
        for (i = 0; i < nc; i++)
            z[i] = tanh(z[i]);
        break;
    case PYBP_RELU:
        for (i = 0; i < nc; i++)
            z[i] = z[i] > 0.0 ? z[i] : 0.0;
        break;
    case PYBP_SOFTMAX:
        for (x = 0; x < c; x++)
            pybp__softmax(z + x, n, c);
        break;
    default: /* identity */
        break;
    }
}

/*
 * d[i] = d[i] * f'(z_i), with f' computed from a = f(z) as the reference
 * does.  relu's f'(z) = (z > 0) equals (a > 0), so z need not be kept.  The
 * product is always taken (never a branch), so the sign of a zero delta and
 * NaN propagation match the reference.  Never called for softmax.
 */
static void pybp__times_derivative(int act, const double *PYBP__RESTRICT a,
                                   double *PYBP__RESTRICT d, size_t n)
{
    size_t i;
    switch (act) {
    case PYBP_SIGMOID:
        for (i = 0; i < n; i++)
            d[i] = d[i] * (a[i] * (1.0 - a[i]));
        break;
    case PYBP_TANH:
        for (i = 0; i < n; i++)
            d[i] = d[i] * (1.0 - a[i] * a[i]);
        break;
    case PYBP_RELU:
        for (i = 0; i < n; i++)
            d[i] = d[i] * (a[i] > 0.0 ? 1.0 : 0.0);
        break;
    default: /* identity: f' = 1.0 */
        for (i = 0; i < n; i++)
            d[i] = d[i] * 1.0;
        break;
    }
}

/* C's log with the reference's cases spelled out: -inf at 0, NaN below. */
static double pybp__ln(double x)
{
    if (x > 0.0)
        return log(x);
    if (x == 0.0)
        return -INFINITY;
    return NAN;
}

/* C_x of one example: n outputs a and targets y, both with stride c. */
static double pybp__cost_x(int cost, const double *a, const double *y,
                           size_t n, size_t c)
{
    double s = 0.0, aj, yj, diff;
    size_t j;
    switch (cost) {
    case PYBP_QUADRATIC:
        for (j = 0; j < n; j++) {
            diff = a[j * c] - y[j * c];
            s += diff * diff;
        }
        return 0.5 * s;
    case PYBP_CROSS_ENTROPY:
        for (j = 0; j < n; j++) {
            aj = a[j * c];
            yj = y[j * c];
            if (yj > 0.0)
                s += yj * pybp__ln(aj);
            if (yj < 1.0)
                s += (1.0 - yj) * pybp__ln(1.0 - aj);
        }
        return -s;
    default: /* log-likelihood */
        for (j = 0; j < n; j++) {
            yj = y[j * c];
            if (yj != 0.0)
                s += yj * pybp__ln(a[j * c]);
        }
        return -s;
    }
}

/* First index of the largest of n values with stride c. */
static size_t pybp__argmax(const double *v, size_t n, size_t c)
{
    size_t j, best = 0;
    for (j = 1; j < n; j++)
        if (v[j * c] > v[best * c])
            best = j;
    return best;
}

/* ------------------------------------------------------------------------ */
/* The equations                                                            */

/*
 * z^l = W^l a^(l-1) + b^l, a^l = f_l(z^l) for l = 1 .. L, on c examples
 * whose inputs are in a[0].  z_j is (sum_k W[j][k] a_k, k ascending, from
 * 0.0) + b_j for every example; k runs outermost so each step is one axpy
 * across the examples of a block.
 */
static void pybp__feedforward(const pybp__shape *s, const double *params,
                              double *const *a, size_t c)
{
    size_t l, j, k, x, x0, xn;
    for (l = 1; l <= s->L; l++) {
        size_t nin = s->n[l - 1], nout = s->n[l];
        const double *W = params + s->woff[l], *b = params + s->boff[l];
        const double *in = a[l - 1];
        double *z = a[l];
        for (x0 = 0; x0 < c; x0 += xn) {
            xn = pybp__min(PYBP__XBLOCK, c - x0);
            if (xn == 1) {
                /* one example: nothing to vectorise across, so walk each
                 * row of W in order instead of its columns */
                for (j = 0; j < nout; j++) {
                    double sum = 0.0;
                    for (k = 0; k < nin; k++)
                        sum += W[j * nin + k] * in[k * c + x0];
                    z[j * c + x0] = sum + b[j];
                }
                continue;
            }
            for (j = 0; j < nout; j++)
                for (x = 0; x < xn; x++)
                    z[j * c + x0 + x] = 0.0;
            for (k = 0; k < nin; k++)
                for (j = 0; j < nout; j++)
                    pybp__axpy(xn, W[j * nin + k], in + k * c + x0,
                               z + j * c + x0);
            for (j = 0; j < nout; j++)
                for (x = 0; x < xn; x++)
                    z[j * c + x0 + x] = z[j * c + x0 + x] + b[j];
        }
        pybp__activate(s->act[l], z, nout, c);
    }
}

/* BP1: delta^L = (a^L - y) (.) f_L'(z^L) for the quadratic cost; a^L - y for
 * cross-entropy with sigmoid and log-likelihood with softmax. */
static void pybp__delta(const pybp__shape *s, const double *a,
                        const double *y, double *d, size_t c)
{
    size_t i, n = s->n[s->L] * c;
    for (i = 0; i < n; i++)
        d[i] = a[i] - y[i];
    if (s->cost == PYBP_QUADRATIC)
        pybp__times_derivative(s->act[s->L], a, d, n);
}

/*
 * Backpropagation on the c examples of the chunk, forward pass done: adds
 * each example's dC_x/dp to S[p].  Every S[p] receives its c terms in
 * example order, continuing the sum of earlier chunks.
 */
static void pybp__backprop(const pybp__shape *s, const double *params,
                           const pybp__work *w, size_t c)
{
    double *d = w->d[0], *dn = w->d[1], *tmp;
    size_t l, j, k, x;

    pybp__delta(s, w->a[s->L], w->y, d, c);                 /* BP1 */
    for (l = s->L; l >= 1; l--) {
        size_t nin = s->n[l - 1], nout = s->n[l];
        const double *W = params + s->woff[l];
        const double *ain = w->a[l - 1], *at;
        double *Sw = w->S + s->woff[l], *Sb = w->S + s->boff[l];

        /* BP3: dC_x/db_j = delta_j */
        for (j = 0; j < nout; j++)
            for (x = 0; x < c; x++)
                Sb[j] += d[j * c + x];

        /* BP4: dC_x/dW[j][k] = delta_j a_k.  a^(l-1) is transposed first so
         * that row j of S_W takes each example's terms as one axpy (one
         * example is its own transpose). */
        at = ain;
        if (c > 1) {
            for (x = 0; x < c; x++)
                for (k = 0; k < nin; k++)
                    w->t[x * nin + k] = ain[k * c + x];
            at = w->t;
        }
        for (j = 0; j < nout; j++)
            for (x = 0; x < c; x++)
                pybp__axpy(nin, d[j * c + x], at + x * nin, Sw + j * nin);

        if (l == 1)
            break;
        /* BP2: delta^(l-1)_k = (sum_j W[j][k] delta_j, j ascending)
         *                      (.) f'(z^(l-1)_k) */
        for (k = 0; k < nin; k++) {
            double *row = dn + k * c;
            for (x = 0; x < c; x++)
                row[x] = 0.0;
            for (j = 0; j < nout; j++)
                pybp__axpy(c, W[j * nin + k], d + j * c, row);
        }
        pybp__times_derivative(s->act[l - 1], ain, dn, nin * c);
        tmp = d;
        d = dn;
        dn = tmp;
    }
}

/* W <- (1 - eta*lmbda/n) W - (eta/m) S_W,  b <- b - (eta/m) S_b. */
static void pybp__apply_update(const pybp__shape *s, double *params,
                               const double *S, double eta, double lmbda,
                               size_t n, size_t m)
{
    double decay = 1.0 - eta * lmbda / (double)n;
    double step = eta / (double)m;
    size_t l, p;
    for (l = 1; l <= s->L; l++) {
        for (p = s->woff[l]; p < s->boff[l]; p++)
            params[p] = decay * params[p] - step * S[p];
        for (p = s->boff[l]; p < s->boff[l] + s->n[l]; p++)
            params[p] = params[p] - step * S[p];
    }
}

static void pybp__zero(double *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        v[i] = 0.0;
}

/* Adds C_x of each example of the chunk to *total, in example order. */
static void pybp__add_costs(const pybp__shape *s, const pybp__work *w,
                            size_t c, double *total)
{
    size_t x;
    for (x = 0; x < c; x++)
        *total += pybp__cost_x(s->cost, w->a[s->L] + x, w->y + x,
                               s->n[s->L], c);
}

/*
 * One SGD step on the c examples idx(first) .. idx(first + c - 1), all in one
 * chunk (the caller checked that they fit).  Their costs, from the forward
 * pass before the update, go into *total unless total is NULL.
 */
static void pybp__sgd_step(const pybp__shape *s, double *params,
                           const pybp_data *data, const size_t *perm,
                           size_t first, size_t c, double eta, double lmbda,
                           size_t n, const pybp__work *w, double *total)
{
    pybp__zero(w->S, s->P);
    pybp__load(s, data, perm, first, c, w->a[0], w->y);
    pybp__feedforward(s, params, w->a, c);
    if (total != NULL)
        pybp__add_costs(s, w, c, total);
    pybp__backprop(s, params, w, c);
    pybp__apply_update(s, params, w->S, eta, lmbda, n, c);
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                             */

int pybp_feedforward(const pybp_net *net, const double *params, size_t nparams,
                     const pybp_data *data, double *out, size_t nout,
                     double *work, size_t nwork)
{
    pybp__shape s;
    pybp__work w;
    size_t first, c, x, j, nL;
    int st;

    if (params == NULL || data == NULL || out == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, nparams, data, 0, nwork, &s);
    if (st != PYBP_OK)
        return st;
    nL = s.n[s.L];
    if (nout != data->count * nL)
        return PYBP_ELENGTH;

    pybp__carve(&s, work, nwork, 0, &w);
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        pybp__load(&s, data, NULL, first, c, w.a[0], NULL);
        pybp__feedforward(&s, params, w.a, c);
        for (x = 0; x < c; x++)
            for (j = 0; j < nL; j++)
                out[(first + x) * nL + j] = w.a[s.L][j * c + x];
    }
    return PYBP_OK;
}

int pybp_cost(const pybp_net *net, const double *params, size_t nparams,
              const pybp_data *data, double *total,
              double *work, size_t nwork)
{
    pybp__shape s;
    pybp__work w;
    size_t first, c;
    double t;
    int st;

    if (params == NULL || data == NULL || total == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    t = *total;
    pybp__carve(&s, work, nwork, 0, &w);
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        pybp__load(&s, data, NULL, first, c, w.a[0], w.y);
        pybp__feedforward(&s, params, w.a, c);
        pybp__add_costs(&s, &w, c, &t);
    }
    *total = t;
    return PYBP_OK;
}

int pybp_gradient(const pybp_net *net, const double *params, size_t nparams,
                  const pybp_data *data, double *grad, size_t ngrad,
                  double *work, size_t nwork)
{
    pybp__shape s;
    pybp__work w;
    size_t first, c, p;
    int st;

    if (params == NULL || data == NULL || grad == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK && ngrad != s.P)
        st = PYBP_ELENGTH;
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    pybp__carve(&s, work, nwork, 1, &w);
    pybp__zero(w.S, s.P);
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        pybp__load(&s, data, NULL, first, c, w.a[0], w.y);
        pybp__feedforward(&s, params, w.a, c);
        pybp__backprop(&s, params, &w, c);
    }
    for (p = 0; p < s.P; p++)
        grad[p] = w.S[p] / (double)data->count;
    return PYBP_OK;
}

int pybp_evaluate(const pybp_net *net, const double *params, size_t nparams,
                  const pybp_data *data, size_t *correct,
                  double *work, size_t nwork)
{
    pybp__shape s;
    pybp__work w;
    size_t first, c, x, i, nL, target, hits = 0;
    int st;

    if (params == NULL || data == NULL || correct == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    nL = s.n[s.L];
    pybp__carve(&s, work, nwork, 0, &w);
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        pybp__load(&s, data, NULL, first, c, w.a[0], NULL);
        pybp__feedforward(&s, params, w.a, c);
        for (x = 0; x < c; x++) {
            i = first + x;
            target = data->labels != NULL
                ? (size_t)data->labels[i]
                : pybp__argmax(data->y + i * nL, nL, 1);
            if (pybp__argmax(w.a[s.L] + x, nL, c) == target)
                hits++;
        }
    }
    *correct = hits;
    return PYBP_OK;
}

int pybp_update_mini_batch(const pybp_net *net, double *params, size_t nparams,
                           const pybp_data *data, double eta, double lmbda,
                           size_t n, double *work, size_t nwork)
{
    pybp__shape s;
    pybp__work w;
    size_t need;
    int st;

    if (params == NULL || data == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK)
        st = pybp__check_sgd_values(eta, lmbda, n);
    if (st == PYBP_OK)
        st = pybp__ws(&s, data->count, &need);
    if (st == PYBP_OK && nwork < need)
        st = PYBP_EWORKSPACE;
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    pybp__carve(&s, work, nwork, 1, &w);
    pybp__sgd_step(&s, params, data, NULL, 0, data->count, eta, lmbda, n, &w,
                   NULL);
    return PYBP_OK;
}

int pybp_sgd_epoch(const pybp_net *net, double *params, size_t nparams,
                   const pybp_data *data, const size_t *perm, size_t nperm,
                   size_t mini_batch_size, double eta, double lmbda, size_t n,
                   double *cost_total, double *work, size_t nwork)
{
    pybp__shape s;
    pybp__work w;
    size_t need, first, c, i;
    double t = 0.0;
    int st;

    if (params == NULL || data == NULL || perm == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK && (nperm == 0 || mini_batch_size == 0))
        st = PYBP_ESIZE;
    if (st == PYBP_OK)
        st = pybp__check_sgd_values(eta, lmbda, n);
    /* The largest mini-batch must fit; a mini_batch_size above nperm is
     * one batch of nperm. */
    if (st == PYBP_OK)
        st = pybp__ws(&s, pybp__min(mini_batch_size, nperm), &need);
    if (st == PYBP_OK && nwork < need)
        st = PYBP_EWORKSPACE;
    /* Every index and label before the first update: on error params are
     * untouched. */
    for (i = 0; st == PYBP_OK && i < nperm; i++)
        if (perm[i] >= data->count)
            st = PYBP_EINDEX;
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, perm, nperm);
    if (st != PYBP_OK)
        return st;

    if (cost_total != NULL)
        t = *cost_total;
    pybp__carve(&s, work, nwork, 1, &w);
    for (first = 0; first < nperm; first += c) {
        c = pybp__min(mini_batch_size, nperm - first);
        pybp__sgd_step(&s, params, data, perm, first, c, eta, lmbda, n, &w,
                       cost_total != NULL ? &t : NULL);
    }
    if (cost_total != NULL)
        *cost_total = t;
    return PYBP_OK;
}
