/*
 * Check an implementation of backpropagation against pybp's golden cases.
 *
 *     pybp golden -o cases            (or tests/golden in the source tree)
 *     cc -std=c99 -O2 golden_check.c -lm -o golden_check
 *     ./golden_check cases/sigmoid_quadratic.txt ... [--max-ulps N]
 *
 * The pattern for another implementation's C test suite: read a case file
 * (the text form of docs/golden.md: "NAME COUNT V1 .. VCOUNT" lines, floats
 * as hex, which strtod reads exactly), run the implementation under test on
 * it, and compare a^L of every example, the summed cost, the mean gradient
 * and the parameters after one SGD step, in that order.  The
 * implementation here, backprop() and friends, is a plain textbook one
 * written for this example with libm's exp, log1p and tanh; replace it by
 * a call into your own.  Being different code, it comes within a few ulps
 * of pybp, not to its bits: the default tolerance allows for that
 * (--max-ulps 0 --abs 0 demands the bits).  Needs only C99 and libm, not
 * pybp.  Exit status 0: every case agrees.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 16
#define MAX_FIELDS 64

typedef struct {
    char *name[MAX_FIELDS];
    size_t count[MAX_FIELDS];
    char *values[MAX_FIELDS]; /* the rest of the line */
    size_t n;
    char *text;
} casefile;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    rewind(f);
    buf = malloc((size_t)len + 1);
    if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf != NULL)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Splits the file into lines and each line into name, count, values. */
static int parse(casefile *c)
{
    char *p = c->text;
    c->n = 0;
    while (*p != '\0') {
        char *end = strchr(p, '\n'), *sp;
        if (end != NULL)
            *end = '\0';
        if (*p != '#' && *p != '\0') {
            if (c->n == MAX_FIELDS || (sp = strchr(p, ' ')) == NULL)
                return -1;
            *sp = '\0';
            c->name[c->n] = p;
            c->count[c->n] = strtoul(sp + 1, &sp, 10);
            c->values[c->n++] = sp;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

/* The values of field `name` as doubles (malloc'd); NULL if it is missing.
 * `want` values are expected (0: any number up to `limit`); a file that
 * says otherwise ends the program, as a test suite's reader should. */
static const char *current;
static double *doubles(const casefile *c, const char *name, size_t want, size_t *count)
{
    size_t i, k, limit = 1u << 20;
    for (i = 0; i < c->n; i++) {
        if (strcmp(c->name[i], name) == 0) {
            char *p = c->values[i], *end;
            double *v;
            if ((want != 0 && c->count[i] != want) || c->count[i] == 0 || c->count[i] > limit) {
                fprintf(stderr, "%s: %s has %lu values, expected %lu\n", current, name,
                        (unsigned long)c->count[i], (unsigned long)want);
                exit(2);
            }
            if ((v = malloc(c->count[i] * sizeof *v)) == NULL)
                exit(2);
            for (k = 0; k < c->count[i]; k++, p = end)
                if (v[k] = strtod(p, &end), end == p) {
                    fprintf(stderr, "%s: %s: value %lu is not a number\n", current, name,
                            (unsigned long)k);
                    exit(2);
                }
            if (count != NULL)
                *count = c->count[i];
            return v;
        }
    }
    return NULL;
}

/* A field that must be there. */
static double *need(const casefile *c, const char *name, size_t want)
{
    double *v = doubles(c, name, want, NULL);
    if (v == NULL) {
        fprintf(stderr, "%s: no %s line\n", current, name);
        exit(2);
    }
    return v;
}

static const char *word(const casefile *c, const char *name, size_t k)
{
    static char buf[64];
    size_t i, j;
    for (i = 0; i < c->n; i++) {
        if (strcmp(c->name[i], name) == 0) {
            const char *p = c->values[i];
            for (j = 0; j <= k; j++) {
                size_t len;
                while (*p == ' ')
                    p++;
                len = strcspn(p, " ");
                if (j == k && len < sizeof buf) {
                    memcpy(buf, p, len);
                    buf[len] = '\0';
                    return buf;
                }
                p += len;
            }
        }
    }
    return "";
}

/* ------------------------------------------------------------------------ */
/* The implementation under test                                            */

typedef struct {
    size_t L, sizes[MAX_LAYERS + 1];
    char act[MAX_LAYERS][16], cost[16];
} shape;

static void activate(const char *f, const double *z, double *a, size_t n)
{
    size_t j;
    double top = z[0], s = 0.0;
    for (j = 0; j < n; j++) {
        if (strcmp(f, "sigmoid") == 0)
            a[j] = z[j] >= 0 ? 1 / (1 + exp(-z[j])) : exp(z[j]) / (1 + exp(z[j]));
        else if (strcmp(f, "tanh") == 0)
            a[j] = tanh(z[j]);
        else if (strcmp(f, "relu") == 0)
            a[j] = z[j] > 0 ? z[j] : 0.0;
        else if (strcmp(f, "identity") == 0)
            a[j] = z[j];
        else if (z[j] > top)
            top = z[j];
    }
    if (strcmp(f, "softmax") == 0) { /* largest logit out first */
        for (j = 0; j < n; j++)
            s += a[j] = exp(z[j] - top);
        for (j = 0; j < n; j++)
            a[j] /= s;
    }
}

static double prime(const char *f, double z, double a)
{
    if (strcmp(f, "sigmoid") == 0)
        return a * (1 - a);
    if (strcmp(f, "tanh") == 0)
        return 1 - a * a;
    if (strcmp(f, "relu") == 0)
        return z > 0 ? 1.0 : 0.0;
    return 1.0;
}

static double cost_x(const shape *s, const double *z, const double *a, const double *y)
{
    size_t j, n = s->sizes[s->L];
    double c = 0.0, top = z[0], sum = 0.0;
    if (strcmp(s->cost, "quadratic") == 0) {
        for (j = 0; j < n; j++)
            c += 0.5 * (a[j] - y[j]) * (a[j] - y[j]);
    } else if (strcmp(s->cost, "cross-entropy") == 0) { /* from z: stays finite */
        for (j = 0; j < n; j++)
            c += (z[j] > 0 ? z[j] : 0.0) - z[j] * y[j] + log1p(exp(-fabs(z[j])));
    } else { /* log-likelihood: log-sum-exp minus the target's logit */
        for (j = 0; j < n; j++)
            top = z[j] > top ? z[j] : top;
        for (j = 0; j < n; j++)
            sum += exp(z[j] - top);
        for (j = 0; j < n; j++)
            if (y[j] != 0)
                c += y[j] * (top + log(sum) - z[j]);
    }
    return c;
}

/* Feedforward, BP1-BP4 for one example; adds its gradient to grad and
 * returns C_x.  z and a hold every layer, w_off the weights' offsets. */
static double backprop(const shape *s, const double *p, const size_t *w_off,
                       const double *x, const double *y, double *grad,
                       double **z, double **a, double **d, double *out)
{
    size_t l, j, k, L = s->L;
    memcpy(a[0], x, s->sizes[0] * sizeof *x);
    for (l = 1; l <= L; l++) {
        size_t nin = s->sizes[l - 1], nout = s->sizes[l];
        for (j = 0; j < nout; j++) { /* z = w a + b */
            double acc = 0.0;
            for (k = 0; k < nin; k++)
                acc += p[w_off[l] + j * nin + k] * a[l - 1][k];
            z[l][j] = acc + p[w_off[l] + nout * nin + j];
        }
        activate(s->act[l - 1], z[l], a[l], nout);
    }
    memcpy(out, a[L], s->sizes[L] * sizeof *out);
    for (j = 0; j < s->sizes[L]; j++) { /* BP1 */
        d[L][j] = a[L][j] - y[j];
        if (strcmp(s->cost, "quadratic") == 0)
            d[L][j] *= prime(s->act[L - 1], z[L][j], a[L][j]);
    }
    for (l = L - 1; l >= 1; l--) /* BP2 */
        for (k = 0; k < s->sizes[l]; k++) {
            double acc = 0.0;
            for (j = 0; j < s->sizes[l + 1]; j++)
                acc += p[w_off[l + 1] + j * s->sizes[l] + k] * d[l + 1][j];
            d[l][k] = acc * prime(s->act[l - 1], z[l][k], a[l][k]);
        }
    for (l = 1; l <= L; l++) { /* BP3, BP4 */
        size_t nin = s->sizes[l - 1], nout = s->sizes[l];
        for (j = 0; j < nout; j++) {
            grad[w_off[l] + nout * nin + j] += d[l][j];
            for (k = 0; k < nin; k++)
                grad[w_off[l] + j * nin + k] += d[l][j] * a[l - 1][k];
        }
    }
    return cost_x(s, z[L], a[L], y);
}

/* ------------------------------------------------------------------------ */
/* Comparing                                                                */

static double max_ulps = 1024, abs_tol = 1e-13, worst;
static unsigned long near_zero; /* values let through by abs_tol */
static char problem[256];

static int64_t ordered(double v)
{
    int64_t i;
    memcpy(&i, &v, sizeof i);
    return i >= 0 ? i : -(i & INT64_MAX);
}

/* How many doubles lie between a and b; unsigned, so no int64 overflow. */
static double ulps(double a, double b)
{
    int64_t x = ordered(a), y = ordered(b);
    if (a == b)
        return 0.0;
    if (isnan(a) || isnan(b))
        return INFINITY;
    return (double)(x > y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x);
}

/* 0 when got agrees with want everywhere; else describes the first miss. */
static int agrees(const char *what, const double *got, const double *want, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        double u = ulps(got[i], want[i]);
        if (u > max_ulps && !(fabs(got[i] - want[i]) <= abs_tol)) {
            snprintf(problem, sizeof problem, "%s, value %lu: %a, expected %a (%.0f ulps)",
                     what, (unsigned long)i, got[i], want[i], u);
            return 0;
        }
        if (u <= max_ulps)
            worst = u > worst ? u : worst;
        else
            near_zero++;
    }
    return 1;
}

static int check(const char *path)
{
    casefile c;
    shape s;
    size_t l, i, j, np = 0, count, nx, n1, m, w_off[MAX_LAYERS + 1] = {0}, width = 0;
    double *params, *x, *y = NULL, *out, *grad, *upd, *want, *buf[3 * (MAX_LAYERS + 1)];
    double total = 0.0, eta, lmbda, n, decay, *v, *sz;
    int ok = 1;

    worst = 0;
    near_zero = 0;
    problem[0] = '\0';
    if ((c.text = slurp(path)) == NULL || parse(&c) != 0) {
        printf("%s: cannot read\n", path);
        return 0;
    }
    current = path;
    if ((sz = doubles(&c, "sizes", 0, &n1)) == NULL || n1 < 2 || n1 > MAX_LAYERS + 1) {
        fprintf(stderr, "%s: %lu sizes, expected 2 to %d\n", path, (unsigned long)n1,
                MAX_LAYERS + 1);
        exit(2);
    }
    s.L = n1 - 1;
    for (l = 0; l < n1; l++) {
        if (!(sz[l] >= 1 && sz[l] <= 65536)) {
            fprintf(stderr, "%s: size %lu out of range\n", path, (unsigned long)l);
            exit(2);
        }
        s.sizes[l] = (size_t)sz[l];
        width = s.sizes[l] > width ? s.sizes[l] : width;
        if (l > 0) {
            w_off[l] = np;
            np += s.sizes[l] * (s.sizes[l - 1] + 1);
            snprintf(s.act[l - 1], sizeof s.act[0], "%s", word(&c, "activations", l - 1));
        }
    }
    free(sz);
    snprintf(s.cost, sizeof s.cost, "%s", word(&c, "cost", 0));
    for (l = 0; l <= s.L; l++) {
        const char *name = l < s.L ? s.act[l] : s.cost;
        char key[24];
        snprintf(key, sizeof key, " %s ", name);
        if (strstr(l < s.L ? " sigmoid tanh relu identity softmax "
                           : " quadratic cross-entropy log-likelihood ", key) == NULL
            || name[0] == '\0') {
            fprintf(stderr, "%s: unknown %s '%s'\n", path, l < s.L ? "activation" : "cost",
                    name);
            exit(2);
        }
    }
    params = need(&c, "params", np);
    count = (size_t)strtoul(word(&c, "count", 0), NULL, 10);
    if (count < 1 || count > 65536) {
        fprintf(stderr, "%s: count out of range\n", path);
        exit(2);
    }
    m = s.sizes[s.L];
    nx = count * s.sizes[0];
    if ((x = doubles(&c, "x", nx, NULL)) == NULL) { /* u8 inputs over a divisor */
        double *div = need(&c, "divisor", 1);
        x = need(&c, "x_u8", nx);
        for (i = 0; i < nx; i++)
            x[i] /= div[0];
        free(div);
    }
    if ((y = doubles(&c, "y", count * m, NULL)) == NULL) { /* labels: one-hot */
        double *lab = need(&c, "labels", count);
        if ((y = calloc(count * m, sizeof *y)) == NULL)
            exit(2);
        for (i = 0; i < count; i++) {
            if (!(lab[i] >= 0 && lab[i] < (double)m)) {
                fprintf(stderr, "%s: label %lu out of range\n", path, (unsigned long)i);
                exit(2);
            }
            y[i * m + (size_t)lab[i]] = 1.0;
        }
        free(lab);
    }
    out = malloc(count * m * sizeof *out);
    grad = calloc(np, sizeof *grad);
    upd = malloc(np * sizeof *upd);
    for (i = 0; i < 3 * (s.L + 1); i++)
        buf[i] = malloc(width * sizeof **buf);

    for (i = 0; i < count; i++)
        total += backprop(&s, params, w_off, x + i * s.sizes[0], y + i * m, grad,
                          buf, buf + s.L + 1, buf + 2 * (s.L + 1), out + i * m);
    for (j = 0; j < np; j++)
        grad[j] /= (double)count;
    v = need(&c, "eta", 1), eta = v[0], free(v);
    v = need(&c, "lmbda", 1), lmbda = v[0], free(v);
    n = strtod(word(&c, "n", 0), NULL);
    decay = 1 - eta * lmbda / n;
    for (l = 1; l <= s.L; l++) { /* weights decay, biases do not */
        size_t nw = s.sizes[l] * s.sizes[l - 1];
        for (j = w_off[l]; j < w_off[l] + nw; j++)
            upd[j] = decay * params[j] - eta * grad[j];
        for (; j < w_off[l] + nw + s.sizes[l]; j++)
            upd[j] = params[j] - eta * grad[j];
    }

    want = need(&c, "out", count * m), ok = agrees("out", out, want, count * m);
    free(want);
    want = need(&c, "cost_total", 1);
    ok = ok && agrees("cost_total", &total, want, 1), free(want);
    want = need(&c, "gradient", np), ok = ok && agrees("gradient", grad, want, np);
    free(want);
    want = need(&c, "update", np);
    ok = ok && agrees("params after one step", upd, want, np), free(want);
    if (ok)
        printf("%s: agrees to %.0f ulp (%lu values near zero within %g)\n", path, worst,
               near_zero, abs_tol);
    else
        printf("%s: first difference: %s\n", path, problem);

    for (i = 0; i < 3 * (s.L + 1); i++)
        free(buf[i]);
    free(params), free(x), free(y), free(out), free(grad), free(upd), free(c.text);
    return ok;
}

int main(int argc, char **argv)
{
    int i, cases = 0, good = 0;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-ulps") == 0 && i + 1 < argc)
            max_ulps = atof(argv[++i]);
        else if (strcmp(argv[i], "--abs") == 0 && i + 1 < argc)
            abs_tol = atof(argv[++i]);
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-ulps") == 0 || strcmp(argv[i], "--abs") == 0) {
            i++;
            continue;
        }
        cases++;
        good += check(argv[i]);
    }
    if (cases == 0) {
        fprintf(stderr, "usage: golden_check CASE.txt... [--max-ulps N] [--abs X]\n");
        return 2;
    }
    printf("%d of %d cases agree\n", good, cases);
    return good == cases ? 0 : 1;
}
