/*
 * test_golden.c - checks the C library against the golden cases, bit for bit.
 *
 *   test_golden [-o RESULTS] GOLDEN_DIR
 *
 * GOLDEN_DIR is tests/golden: a MANIFEST naming the cases and one text file
 * per case (tests/golden/README.md has the format), written by the
 * pure-Python reference.  Every case runs on every instruction-set path this
 * CPU and build support, and pybp_sgd_epoch with one and with two threads;
 * each result (outputs, cost, gradient, evaluation count, parameters after
 * pybp_update_mini_batch, after pybp_sgd_epoch, and the epoch's cost) must
 * have the expected bits.  The program prints "N passed, M failed" and exits
 * 1 if a check failed, 2 if a file could not be read.
 *
 * With -o, it writes the results of the portable path, one thread, in the
 * golden files' own text, to RESULTS: the expected lines of every case in
 * MANIFEST order.  Its SHA-256 is then the MANIFEST's "results" digest on
 * every platform that computes the same bits (.ci/platforms compares them).
 *
 * Plain C99 with libm: numbers are read as text (strtod reads hex floats)
 * and written by this file's own formatter, never as binary doubles, so
 * byte order and the C library's printf do not matter.
 */
#include "pybp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 32

typedef struct field {
    const char *name;
    size_t count;
    char **words;
} field;

typedef struct casefile {
    char *text;
    field fields[MAX_FIELDS];
    size_t nfields;
} casefile;

static unsigned long passed, failed;

/* ------------------------------------------------------------------------ */
/* Numbers as text                                                          */

/* A double as Python's float.hex writes it: "-0x1.<13 hex digits>p+E",
 * "0x0.<13 digits>p-1022" for subnormals, "0x0.0p+0", "inf", "nan". */
static void format_double(double v, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t bits, mant;
    int exp, i;
    char *p = buf;
    memcpy(&bits, &v, sizeof bits);
    mant = bits & ((UINT64_C(1) << 52) - 1);
    exp = (int)((bits >> 52) & 0x7ff);
    if (exp == 0x7ff && mant != 0) {
        strcpy(buf, "nan");
        return;
    }
    if (bits >> 63)
        *p++ = '-';
    if (exp == 0x7ff) {
        strcpy(p, "inf");
        return;
    }
    if (exp == 0 && mant == 0) {
        strcpy(p, "0x0.0p+0");
        return;
    }
    *p++ = '0';
    *p++ = 'x';
    *p++ = exp == 0 ? '0' : '1';
    *p++ = '.';
    for (i = 12; i >= 0; i--)
        *p++ = hex[(mant >> (4 * i)) & 0xf];
    sprintf(p, "p%+d", exp == 0 ? -1022 : exp - 1023);
}

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    if (f == NULL)
        return NULL;
    do {
        if (cap - len < 4096) {
            char *more = realloc(buf, cap = 2 * cap + 4096);
            if (more == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = more;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    } else {
        buf[len] = '\0';
    }
    fclose(f);
    return buf;
}

/* Splits text in place into lines of words ("name count v1 .. vcount");
 * '#' lines and blank lines are skipped.  Returns 0 on success. */
static int parse_case(casefile *c, const char *path)
{
    char *p = c->text;
    c->nfields = 0;
    while (*p != '\0') {
        char *end = strchr(p, '\n'), *next, *tok;
        size_t n = 0, want;
        field *f;
        if (end == NULL)
            end = p + strlen(p);
        next = *end != '\0' ? end + 1 : end;
        *end = '\0';
        if (end > p && end[-1] == '\r')
            end[-1] = '\0';
        if (*p == '#' || *p == '\0') {
            p = next;
            continue;
        }
        if (c->nfields == MAX_FIELDS) {
            fprintf(stderr, "%s: too many lines\n", path);
            return -1;
        }
        f = &c->fields[c->nfields++];
        f->name = strtok(p, " ");
        tok = strtok(NULL, " ");
        if (f->name == NULL || tok == NULL) {
            fprintf(stderr, "%s: a line without a count\n", path);
            return -1;
        }
        want = (size_t)strtoul(tok, NULL, 10);
        f->count = want;
        f->words = malloc((want + 1) * sizeof *f->words);
        if (f->words == NULL)
            return -1;
        while ((tok = strtok(NULL, " ")) != NULL) {
            if (n == want) {
                n++;
                break;
            }
            f->words[n++] = tok;
        }
        if (n != want) {
            fprintf(stderr, "%s: %s: %lu values expected\n", path, f->name,
                    (unsigned long)want);
            return -1;
        }
        p = next;
    }
    return 0;
}

static void free_case(casefile *c)
{
    size_t i;
    for (i = 0; i < c->nfields; i++)
        free(c->fields[i].words);
    free(c->text);
}

static const field *get(const casefile *c, const char *name, int required)
{
    size_t i;
    for (i = 0; i < c->nfields; i++)
        if (strcmp(c->fields[i].name, name) == 0)
            return &c->fields[i];
    if (required)
        fprintf(stderr, "missing line: %s\n", name);
    return NULL;
}

/* The values of a line as doubles.  Each must be written exactly as
 * format_double writes it: a misread by strtod, or a hand-edited value,
 * shows up as a difference here. */
static double *doubles(const field *f)
{
    double *v = malloc((f->count + 1) * sizeof *v);
    char buf[40];
    size_t i;
    if (v == NULL)
        return NULL;
    for (i = 0; i < f->count; i++) {
        char *end;
        v[i] = strtod(f->words[i], &end);
        format_double(v[i], buf);
        if (*end != '\0' || strcmp(buf, f->words[i]) != 0) {
            fprintf(stderr, "%s: value %lu: \"%s\" reads as %s\n", f->name,
                    (unsigned long)i, f->words[i], buf);
            free(v);
            return NULL;
        }
    }
    return v;
}

static long *integers(const field *f)
{
    long *v = malloc((f->count + 1) * sizeof *v);
    size_t i;
    if (v == NULL)
        return NULL;
    for (i = 0; i < f->count; i++) {
        char *end;
        v[i] = strtol(f->words[i], &end, 10);
        if (*end != '\0' || end == f->words[i]) {
            fprintf(stderr, "%s: \"%s\" is not an integer\n", f->name,
                    f->words[i]);
            free(v);
            return NULL;
        }
    }
    return v;
}

static int code_of(const char *name, const char *const *names, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i + 1;
    return 0;
}

static const char *const activation_names[] = {
    "sigmoid", "tanh", "relu", "identity", "softmax"};  /* PYBP_SIGMOID .. */
static const char *const cost_names[] = {
    "quadratic", "cross-entropy", "log-likelihood"};     /* PYBP_QUADRATIC .. */

/* ------------------------------------------------------------------------ */
/* Checks and results                                                       */

static void check_doubles(const char *cname, const char *isa, const char *what,
                          const double *got, const field *want)
{
    double *w = doubles(want);
    size_t i;
    char a[40], b[40];
    if (w != NULL) {
        for (i = 0; i < want->count; i++) {
            if (bits_of(got[i]) != bits_of(w[i])) {
                format_double(got[i], a);
                format_double(w[i], b);
                printf("FAIL %s [%s] %s[%lu]: %s, expected %s\n", cname, isa,
                       what, (unsigned long)i, a, b);
                failed++;
                free(w);
                return;
            }
        }
        passed++;
        free(w);
        return;
    }
    printf("FAIL %s [%s] %s: unreadable expected values\n", cname, isa, what);
    failed++;
}

static void check_status(const char *cname, const char *isa, const char *what,
                         int status)
{
    if (status != PYBP_OK) {
        printf("FAIL %s [%s] %s: %s\n", cname, isa, what,
               pybp_strerror(status));
        failed++;
    }
}

static void put_doubles(FILE *out, const char *name, const double *v,
                        size_t n)
{
    char buf[40];
    size_t i;
    fprintf(out, "%s %lu", name, (unsigned long)n);
    for (i = 0; i < n; i++) {
        format_double(v[i], buf);
        fprintf(out, " %s", buf);
    }
    fputc('\n', out);
}

/* ------------------------------------------------------------------------ */
/* One case                                                                 */

static int run_case(const char *dir, const char *cname, FILE *results)
{
    char *path;
    casefile c;
    const field *f;
    size_t sizes[PYBP_MAX_LAYERS], nlayers, count, np, nout, nwork, mbs, n, i;
    int acts[PYBP_MAX_LAYERS], cost, isa, t, ret = 2;
    long *iv = NULL, *perm_l = NULL;
    double *params = NULL, *x = NULL, *y = NULL, *work = NULL, *buf = NULL;
    double eta, lmbda, divisor = 0.0, *dv;
    unsigned char *x_u8 = NULL;
    int32_t *labels = NULL;
    size_t *perm = NULL;
    pybp_net net;
    pybp_data data;

    memset(&net, 0, sizeof net);
    memset(&data, 0, sizeof data);
    if ((path = malloc(strlen(dir) + strlen(cname) + 6)) == NULL)
        return 2;
    sprintf(path, "%s/%s.txt", dir, cname);
    c.nfields = 0;
    c.text = read_file(path);
    if (c.text == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        free(path);
        return 2;
    }
    if (parse_case(&c, path) != 0)
        goto done;

    /* The network. */
    if ((f = get(&c, "sizes", 1)) == NULL || f->count < 2
        || f->count > PYBP_MAX_LAYERS || (iv = integers(f)) == NULL)
        goto bad;
    nlayers = f->count;
    for (i = 0; i < nlayers; i++)
        sizes[i] = (size_t)iv[i];
    if ((f = get(&c, "activations", 1)) == NULL || f->count != nlayers - 1)
        goto bad;
    for (i = 0; i + 1 < nlayers; i++)
        if ((acts[i] = code_of(f->words[i], activation_names, 5)) == 0)
            goto bad;
    if ((f = get(&c, "cost", 1)) == NULL || f->count != 1
        || (cost = code_of(f->words[0], cost_names, 3)) == 0)
        goto bad;
    net.nlayers = nlayers;
    net.sizes = sizes;
    net.activations = acts;
    net.cost = cost;
    if (pybp_nparams(&net, &np) != PYBP_OK)
        goto bad;

    /* The data and the settings. */
    free(iv);
    if ((f = get(&c, "count", 1)) == NULL || (iv = integers(f)) == NULL)
        goto bad;
    count = (size_t)iv[0];
    nout = count * sizes[nlayers - 1];
    if ((f = get(&c, "params", 1)) == NULL || f->count != np
        || (params = doubles(f)) == NULL)
        goto bad;
    if ((f = get(&c, "x", 0)) != NULL) {
        if (f->count != count * sizes[0] || (x = doubles(f)) == NULL)
            goto bad;
        data.x = x;
    } else {
        free(iv);
        if ((f = get(&c, "x_u8", 1)) == NULL || f->count != count * sizes[0]
            || (iv = integers(f)) == NULL
            || (x_u8 = malloc(f->count)) == NULL)
            goto bad;
        for (i = 0; i < f->count; i++)
            x_u8[i] = (unsigned char)iv[i];
        if ((f = get(&c, "divisor", 1)) == NULL || (dv = doubles(f)) == NULL)
            goto bad;
        divisor = dv[0];
        free(dv);
        data.x_u8 = x_u8;
        data.x_divisor = divisor;
    }
    if ((f = get(&c, "y", 0)) != NULL) {
        if (f->count != nout || (y = doubles(f)) == NULL)
            goto bad;
        data.y = y;
    } else {
        free(iv);
        if ((f = get(&c, "labels", 1)) == NULL || f->count != count
            || (iv = integers(f)) == NULL
            || (labels = malloc(count * sizeof *labels)) == NULL)
            goto bad;
        for (i = 0; i < count; i++)
            labels[i] = (int32_t)iv[i];
        data.labels = labels;
    }
    data.count = count;
    if ((f = get(&c, "eta", 1)) == NULL || (dv = doubles(f)) == NULL)
        goto bad;
    eta = dv[0];
    free(dv);
    if ((f = get(&c, "lmbda", 1)) == NULL || (dv = doubles(f)) == NULL)
        goto bad;
    lmbda = dv[0];
    free(dv);
    free(iv);
    if ((f = get(&c, "n", 1)) == NULL || (iv = integers(f)) == NULL)
        goto bad;
    n = (size_t)iv[0];
    free(iv);
    if ((f = get(&c, "mini_batch_size", 1)) == NULL
        || (iv = integers(f)) == NULL)
        goto bad;
    mbs = (size_t)iv[0];
    if ((f = get(&c, "perm", 1)) == NULL || f->count != count
        || (perm_l = integers(f)) == NULL
        || (perm = malloc(count * sizeof *perm)) == NULL)
        goto bad;
    for (i = 0; i < count; i++)
        perm[i] = (size_t)perm_l[i];
    if (get(&c, "out", 1) == NULL || get(&c, "cost_total", 1) == NULL
        || get(&c, "gradient", 1) == NULL || get(&c, "correct", 1) == NULL
        || get(&c, "update", 1) == NULL || get(&c, "epoch", 1) == NULL
        || get(&c, "epoch_cost", 1) == NULL)
        goto bad;

    if (pybp_workspace_size(&net, count > mbs ? count : mbs, &nwork)
            != PYBP_OK
        || (work = malloc(nwork * sizeof *work)) == NULL
        || (buf = malloc((np > nout ? np : nout) * sizeof *buf)) == NULL)
        goto bad;

    /* Every path; the results file gets the portable path's numbers. */
    for (isa = PYBP_ISA_SCALAR; isa <= PYBP_ISA_NEON; isa++) {
        const char *iname = pybp_isa_name(isa);
        double total = 0.0;
        size_t correct = 0;
        char tn[32];
        if (!pybp_isa_supported(isa))
            continue;
        net.isa = isa;
        net.threads = 1;
        if (results != NULL && isa == PYBP_ISA_SCALAR)
            fprintf(results, "case 1 %s\n", cname);

        check_status(cname, iname, "feedforward",
                     pybp_feedforward(&net, params, np, &data, buf, nout,
                                      work, nwork));
        check_doubles(cname, iname, "out", buf, get(&c, "out", 1));
        if (results != NULL && isa == PYBP_ISA_SCALAR)
            put_doubles(results, "out", buf, nout);

        check_status(cname, iname, "cost",
                     pybp_cost(&net, params, np, &data, &total, work, nwork));
        check_doubles(cname, iname, "cost_total", &total,
                      get(&c, "cost_total", 1));
        if (results != NULL && isa == PYBP_ISA_SCALAR)
            put_doubles(results, "cost_total", &total, 1);

        check_status(cname, iname, "gradient",
                     pybp_gradient(&net, params, np, &data, buf, np, work,
                                   nwork));
        check_doubles(cname, iname, "gradient", buf, get(&c, "gradient", 1));
        if (results != NULL && isa == PYBP_ISA_SCALAR)
            put_doubles(results, "gradient", buf, np);

        check_status(cname, iname, "evaluate",
                     pybp_evaluate(&net, params, np, &data, &correct, work,
                                   nwork));
        free(iv);
        if ((iv = integers(get(&c, "correct", 1))) == NULL)
            goto bad;
        if ((long)correct == iv[0]) {
            passed++;
        } else {
            printf("FAIL %s [%s] correct: %lu, expected %ld\n", cname, iname,
                   (unsigned long)correct, iv[0]);
            failed++;
        }
        if (results != NULL && isa == PYBP_ISA_SCALAR)
            fprintf(results, "correct 1 %lu\n", (unsigned long)correct);

        memcpy(buf, params, np * sizeof *buf);
        check_status(cname, iname, "update_mini_batch",
                     pybp_update_mini_batch(&net, buf, np, &data, eta, lmbda,
                                            n, work, nwork));
        check_doubles(cname, iname, "update", buf, get(&c, "update", 1));
        if (results != NULL && isa == PYBP_ISA_SCALAR)
            put_doubles(results, "update", buf, np);

        for (t = 1; t <= 2; t++) {
            net.threads = t;
            sprintf(tn, "%s, %d thread%s", iname, t, t == 1 ? "" : "s");
            total = 0.0;
            memcpy(buf, params, np * sizeof *buf);
            check_status(cname, tn, "sgd_epoch",
                         pybp_sgd_epoch(&net, buf, np, &data, perm, count,
                                        mbs, eta, lmbda, n, &total, work,
                                        nwork));
            check_doubles(cname, tn, "epoch", buf, get(&c, "epoch", 1));
            check_doubles(cname, tn, "epoch_cost", &total,
                          get(&c, "epoch_cost", 1));
            if (results != NULL && isa == PYBP_ISA_SCALAR && t == 1) {
                put_doubles(results, "epoch", buf, np);
                put_doubles(results, "epoch_cost", &total, 1);
            }
        }
    }
    ret = 0;
    goto done;
bad:
    fprintf(stderr, "%s: malformed or unreadable case\n", path);
done:
    free(iv);
    free(perm_l);
    free(perm);
    free(params);
    free(x);
    free(x_u8);
    free(y);
    free(labels);
    free(work);
    free(buf);
    free_case(&c);
    free(path);
    return ret;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *results_path = NULL;
    char path[4096];
    char *manifest, *p;
    FILE *results = NULL;
    int i, status = 0, cases = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            results_path = argv[++i];
        else if (dir == NULL && argv[i][0] != '-')
            dir = argv[i];
        else
            dir = NULL, i = argc;
    }
    if (dir == NULL) {
        fprintf(stderr, "usage: test_golden [-o RESULTS] GOLDEN_DIR\n");
        return 2;
    }
    if (strlen(dir) + 10 > sizeof path)
        return 2;
    sprintf(path, "%s/MANIFEST", dir);
    if ((manifest = read_file(path)) == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    if (results_path != NULL && (results = fopen(results_path, "wb")) == NULL) {
        fprintf(stderr, "cannot write %s\n", results_path);
        free(manifest);
        return 2;
    }
    printf("pybp %s, %s; paths:", pybp_version(), pybp_compiler());
    for (i = PYBP_ISA_SCALAR; i <= PYBP_ISA_NEON; i++)
        if (pybp_isa_supported(i))
            printf(" %s", pybp_isa_name(i));
    printf("\n");

    /* "case NAME SHA256" lines name the cases, in order. */
    for (p = manifest; *p != '\0';) {
        char name[256], *end = strchr(p, '\n');
        if (end == NULL)
            end = p + strlen(p);
        if (strncmp(p, "case ", 5) == 0 && sscanf(p + 5, "%255s", name) == 1) {
            cases++;
            if (run_case(dir, name, results) != 0)
                status = 2;
        }
        p = *end != '\0' ? end + 1 : end;
    }
    free(manifest);
    if (results != NULL && fclose(results) != 0) {
        fprintf(stderr, "cannot write %s\n", results_path);
        status = 2;
    }
    if (cases == 0) {
        fprintf(stderr, "%s names no case\n", path);
        status = 2;
    }
    printf("%d cases\n", cases);
    printf("golden: %lu passed, %lu failed\n", passed, failed);
    return status != 0 ? status : failed != 0 ? 1 : 0;
}
