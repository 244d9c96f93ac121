/*
 * epoch_c.c - seconds per training epoch of the C core alone, without
 * Python: pybp_sgd_epoch (or _f32) on random MNIST-shaped bytes, for
 * comparing two builds of csrc/ (or instruction sets, or thread counts)
 * on the kernels themselves.
 *
 *   cc -std=c99 -O3 -ffp-contract=off -fno-fast-math -Icsrc \
 *      bench/epoch_c.c csrc/pybp.c csrc/pybp_f32.c csrc/pybp_net.c \
 *      -lm -pthread -o epoch_c
 *   ./epoch_c SIZES M DTYPE [EXAMPLES [THREADS [REPEAT]]]
 *   ./epoch_c 784,1000,10 1000 float64 8000 2
 *
 * Sigmoid layers, the quadratic cost, eta 3.0, one shuffle of EXAMPLES
 * (default 10000) uint8 inputs with labels, trained REPEAT times (default
 * 3); prints the best time scaled to a 50,000-example epoch and the
 * GFLOP/s that the step needs (2 n_l n_(l-1) for each layer's forward
 * pass and BP4, and for BP2 on layers 2 .. L).  PYBP_ISA_CODE=N forces an
 * instruction set (pybp.h's PYBP_ISA_* codes); EPOCH_C_IMAGES=FILE trains
 * on the images of an uncompressed IDX file (e.g. MNIST's
 * train-images-idx3-ubyte) instead of random bytes.
 */
#define _POSIX_C_SOURCE 200809L    /* clock_gettime */
#include "pybp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "epoch_c: out of memory\n");
        exit(2);
    }
    return p;
}

/* run_float, run_double: random parameters in [-1/30, 1/30], then reps
 * epochs on d; the best time in *best, the status of the last call. */
#define DEFINE_RUN(T, WS, EPOCH)                                            \
    static int run_##T(const pybp_net *net, size_t P, const pybp_data *d,   \
                       const size_t *perm, size_t m, int reps, double *best) \
    {                                                                       \
        size_t nw = 0, i;                                                   \
        int r, st = WS(net, m, &nw);                                        \
        T *p = alloc(P * sizeof *p), *w;                                    \
        w = alloc((st == PYBP_OK ? nw : 1) * sizeof *w);                    \
        for (i = 0; i < P; i++)                                             \
            p[i] = (T)(((double)(rng() % 2001) - 1000.0) / 30000.0);        \
        for (r = 0; r < reps && st == PYBP_OK; r++) {                       \
            double t = now();                                               \
            st = EPOCH(net, p, P, d, perm, d->count, m, 3.0, 0.0, d->count, \
                       NULL, w, nw);                                        \
            t = now() - t;                                                  \
            *best = t < *best ? t : *best;                                  \
        }                                                                   \
        free(p);                                                            \
        free(w);                                                            \
        return st;                                                          \
    }
DEFINE_RUN(float, pybp_workspace_size_f32, pybp_sgd_epoch_f32)
DEFINE_RUN(double, pybp_workspace_size, pybp_sgd_epoch)

/* count images of n bytes from an IDX file (its 16-byte header skipped) */
static int read_images(const char *path, unsigned char *x, size_t count,
                       size_t n)
{
    unsigned char head[16];
    FILE *f = fopen(path, "rb");
    int ok = f != NULL && fread(head, 1, 16, f) == 16
             && fread(x, n, count, f) == count;
    if (f != NULL)
        fclose(f);
    if (!ok)
        fprintf(stderr, "epoch_c: cannot read %lu images of %lu bytes "
                "from %s\n", (unsigned long)count, (unsigned long)n, path);
    return ok;
}

static int usage(void)
{
    fprintf(stderr, "usage: epoch_c SIZES M float64|float32 "
            "[EXAMPLES [THREADS [REPEAT]]]\n");
    return 2;
}

int main(int argc, char **argv)
{
    size_t sizes[PYBP_MAX_LAYERS], L = 0, m, count = 10000, P, i, l;
    int acts[PYBP_MAX_LAYERS], f32, reps = 3, st = PYBP_OK;
    char *list, *tok;
    double best = 1e300, flops = 0.0;
    pybp_net net;
    pybp_data d;
    unsigned char *x;
    int32_t *labels;
    size_t *perm;

    if (argc < 4)
        return usage();
    list = alloc(strlen(argv[1]) + 1);
    strcpy(list, argv[1]);
    for (tok = strtok(list, ","); tok != NULL && L < PYBP_MAX_LAYERS;
         tok = strtok(NULL, ","))
        sizes[L++] = strtoul(tok, NULL, 10);
    m = strtoul(argv[2], NULL, 10);
    f32 = strcmp(argv[3], "float32") == 0;
    if (L < 2 || m < 1 || (!f32 && strcmp(argv[3], "float64") != 0))
        return usage();
    if (argc > 4)
        count = strtoul(argv[4], NULL, 10);
    memset(&net, 0, sizeof net);
    if (argc > 5)
        net.threads = atoi(argv[5]);
    if (argc > 6)
        reps = atoi(argv[6]);
    if (getenv("PYBP_ISA_CODE") != NULL)
        net.isa = atoi(getenv("PYBP_ISA_CODE"));
    for (l = 0; l + 1 < L; l++)
        acts[l] = PYBP_SIGMOID;
    net.nlayers = L;
    net.sizes = sizes;
    net.activations = acts;
    net.cost = PYBP_QUADRATIC;
    if (count < 1 || pybp_nparams(&net, &P) != PYBP_OK)
        return usage();

    /* MNIST-like bytes: about two thirds zero; or the first images of
     * an uncompressed IDX file named by EPOCH_C_IMAGES (real images,
     * where zero bytes come in runs) */
    x = alloc(count * sizes[0]);
    if (getenv("EPOCH_C_IMAGES") != NULL) {
        if (!read_images(getenv("EPOCH_C_IMAGES"), x, count, sizes[0]))
            return 2;
    } else {
        for (i = 0; i < count * sizes[0]; i++)
            x[i] = rng() % 3 == 0 ? (unsigned char)(rng() & 255) : 0;
    }
    labels = alloc(count * sizeof *labels);
    perm = alloc(count * sizeof *perm);
    for (i = 0; i < count; i++) {
        labels[i] = (int32_t)(rng() % sizes[L - 1]);
        perm[i] = i;
    }
    for (i = count - 1; i > 0; i--) {
        size_t j = (size_t)(rng() % (i + 1)), s = perm[i];
        perm[i] = perm[j];
        perm[j] = s;
    }
    memset(&d, 0, sizeof d);
    d.count = count;
    d.x_u8 = x;
    d.x_divisor = 255.0;
    d.labels = labels;

    st = f32 ? run_float(&net, P, &d, perm, m, reps, &best)
             : run_double(&net, P, &d, perm, m, reps, &best);
    if (st != PYBP_OK) {
        fprintf(stderr, "epoch_c: %s\n", pybp_strerror(st));
        return 1;
    }
    for (l = 1; l < L; l++)
        flops += (l == 1 ? 4.0 : 6.0) * (double)sizes[l] * (double)sizes[l - 1];
    printf("%s m=%lu %s threads=%d: %.3f s per 50,000-example epoch, "
           "%.1f GFLOP/s needed\n", argv[1], (unsigned long)m, argv[3],
           net.threads, best * 50000.0 / (double)count,
           flops * (double)count / best / 1e9);
    free(list);
    free(x);
    free(labels);
    free(perm);
    return 0;
}
