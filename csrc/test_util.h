/*
 * test_util.h - what the C test programs share: counted checks, a
 * reproducible random generator, allocation that never returns NULL.
 * Each test program includes it once.
 */
#ifndef PYBP_TEST_UTIL_H
#define PYBP_TEST_UTIL_H

#include "pybp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static inline void check(int ok, const char *what, const char *file, int line)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
    }
}

#define CHECK(cond) check(!!(cond), #cond, __FILE__, __LINE__)

static inline void check_status(int got, int want, const char *what,
                         const char *file, int line)
{
    if (got == want) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "%s:%d: FAILED: %s returned %d (%s), want %d (%s)\n",
                file, line, what, got, pybp_strerror(got), want,
                pybp_strerror(want));
    }
}

#define CHECK_ST(call, want) \
    check_status((call), (want), #call, __FILE__, __LINE__)

static inline int same(const double *a, const double *b, size_t n)
{
    return memcmp(a, b, n * sizeof(double)) == 0;
}

static inline int all_finite(const double *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!(v[i] - v[i] == 0.0))  /* inf - inf and NaN - NaN are NaN */
            return 0;
    return 1;
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static inline double *dalloc(size_t n)
{
    return xmalloc(n * sizeof(double));
}

/* xorshift64*: reproducible data for every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static inline uint64_t rng_u64(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* uniform in [lo, hi) */
static inline double rng_uniform(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_u64() >> 11) / 9007199254740992.0);
}

static inline size_t rng_below(size_t n)
{
    return (size_t)(rng_u64() % n);
}

static inline void fill_uniform(double *v, size_t n, double lo, double hi)
{
    size_t i;
    for (i = 0; i < n; i++)
        v[i] = rng_uniform(lo, hi);
}

static inline void shuffle(size_t *perm, size_t n)
{
    size_t i, j, t;
    for (i = 0; i < n; i++)
        perm[i] = i;
    for (i = n; i > 1; i--) {
        j = rng_below(i);
        t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

static inline pybp_net make_net(size_t nlayers, const size_t *sizes,
                         const int *acts, int cost)
{
    pybp_net net;
    memset(&net, 0, sizeof net);
    net.nlayers = nlayers;
    net.sizes = sizes;
    net.activations = acts;
    net.cost = cost;
    return net;
}

#endif /* PYBP_TEST_UTIL_H */
