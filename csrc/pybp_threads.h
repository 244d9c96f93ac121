/*
 * pybp_threads.h - the worker threads of pybp_sgd_epoch: a team of threads,
 * its barrier and the scheduler that shares each mini-batch out among them.
 * Internal: only pybp_impl.h includes it, once per element type, after the
 * single-threaded epoch (pybp__epoch, pybp__epoch_single and the pieces
 * they use), and it defines
 *
 *   PYBP__THREADS         when worker threads are built (POSIX threads,
 *                         unless -DPYBP_NO_THREADS)
 *   PYBP__THREAD_SHARE    the fewest examples of a mini-batch per thread
 *   PYBP__COLUMN_SHARE    the same when the first layer goes by columns
 *   pybp__team_size()     how many threads an epoch runs on
 *   pybp__epoch_threads() an epoch's whole mini-batches on a team
 */
#ifndef PYBP__REAL
#error "pybp_threads.h is included by pybp_impl.h only"
#endif

#if !defined(PYBP_NO_THREADS) && (defined(__unix__) || defined(__APPLE__))
#define PYBP__THREADS 1
#include <pthread.h>
#include <sched.h>
#endif

/* Fewest examples of a mini-batch per worker thread (pybp_sgd_epoch), and
 * when the team computes the first layer by columns. */
#define PYBP__THREAD_SHARE 16
#define PYBP__COLUMN_SHARE 4

#ifdef PYBP__THREADS
/*
 * Worker threads for one pybp_sgd_epoch call.  A mini-batch runs in two
 * or three phases, each ended by a barrier:
 *   (0) when the first layer's weights outgrow a core's L2 (and it is a
 *       hidden layer, f_1 applied element by element): z^1 and a^1 of the
 *       whole batch, in work items of a block of W^1's columns, so that W^1
 *       goes through the cache once per batch rather than once per thread;
 *   (1) the forward and backward passes (feedforward from the first layer
 *       phase (0) did not do, costs, BP1, BP2), in work items of a few
 *       examples;
 *   (2) BP4 and the update, in work items of a block of rows of one W^l
 *       (over all the examples of the batch, or of its part); one more
 *       item updates the biases and adds the costs to the total in order.
 * A large mini-batch runs the phases once per part (pybp__parts()), BP4
 * carrying its sums on in w->S from one part to the next.
 * Each thread owns a fixed range of each phase's items, the same in every
 * batch, so that the rows it updates stay in its core's cache; when done
 * with its own, it takes what is left of the others' ranges, so that a
 * delayed thread (interrupted, or sharing its core) does not hold the
 * others up by a whole share.  Every item computes whole sums of its own,
 * so the results are the same bits whichever thread computes what, and for
 * any number of threads.
 */

/* One thread's range of a phase's work items: next (taken atomically by
 * the owner, or by another thread once its own are done) up to end.  One
 * cache line each, so that the counters of different threads do not
 * share one. */
typedef struct pybp__items {
    size_t next, begin, end;
    char pad[64 - 3 * sizeof(size_t)];
} pybp__items;

/* Phase (1) for the examples x0 .. x1-1 of the batch of c at `first`:
 * feedforward from layer l0, C_x, BP1 and BP2. */
static void pybp__passes(const pybp__epoch *e, size_t first, size_t c,
                         size_t l0, size_t x0, size_t x1)
{
    pybp__src in;
    if (x1 <= x0)
        return;
    in = pybp__start_batch(e, first, c, x0, x1);
    pybp__forward_from(e->s, e->K, e->p, e->w->a, &in, l0, x0, x1);
    if (e->want_cost)
        pybp__costs(e->s, e->w, e->w->a, x0, x1);
    pybp__backward(e->s, e->K, e->p, e->w, e->w->a, x0, x1, c);
}

typedef struct pybp__barrier {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned count, parties;
    unsigned gen;                     /* read atomically while spinning */
} pybp__barrier;

static int pybp__barrier_init(pybp__barrier *b, unsigned parties)
{
    b->count = 0;
    b->parties = parties;
    b->gen = 0;
    if (pthread_mutex_init(&b->mu, NULL) != 0)
        return 0;
    if (pthread_cond_init(&b->cv, NULL) != 0) {
        pthread_mutex_destroy(&b->mu);
        return 0;
    }
    return 1;
}

static void pybp__barrier_destroy(pybp__barrier *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

/*
 * Waiting at the barrier: first spin (the usual imbalance between threads
 * is microseconds, and waking a sleeping thread takes tens), then yield the
 * core for a while (if the machine is oversubscribed, the thread being
 * waited for may need it), then sleep.  -DPYBP_BARRIER_SPINS=0 leaves only
 * the mutex and condition variable, for race detectors that do not model
 * atomics (helgrind, DRD).
 */
#if defined(__GNUC__)
#define PYBP__LOAD_GEN(b) __atomic_load_n(&(b)->gen, __ATOMIC_ACQUIRE)
#define PYBP__STORE_GEN(b, v) \
    __atomic_store_n(&(b)->gen, (v), __ATOMIC_RELEASE)
#define PYBP__STORE_ITEM(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#ifndef PYBP_BARRIER_SPINS
#define PYBP_BARRIER_SPINS 2000
#endif
#else
#define PYBP__LOAD_GEN(b) ((b)->gen)
#define PYBP__STORE_GEN(b, v) ((b)->gen = (v))
#define PYBP__STORE_ITEM(p, v) (*(p) = (v))
#undef PYBP_BARRIER_SPINS
#define PYBP_BARRIER_SPINS 0
#endif
#define PYBP__YIELDS (PYBP_BARRIER_SPINS / 10)
#if defined(PYBP__X86)
#define PYBP__PAUSE() __builtin_ia32_pause()
#else
#define PYBP__PAUSE() ((void)0)
#endif

/* Waits until all parties have arrived; the last one to arrive first
 * rewinds the parties' item ranges `reset` (if not NULL), for their next
 * use. */
static void pybp__barrier_wait(pybp__barrier *b, pybp__items *reset)
{
    unsigned gen, i;
    long spin;
    pthread_mutex_lock(&b->mu);
    gen = b->gen;
    if (++b->count == b->parties) {
        b->count = 0;
        for (i = 0; reset != NULL && i < b->parties; i++)
            PYBP__STORE_ITEM(&reset[i].next, reset[i].begin);
        PYBP__STORE_GEN(b, gen + 1);
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        return;
    }
    pthread_mutex_unlock(&b->mu);
    for (spin = 0; spin < PYBP_BARRIER_SPINS; spin++) {
        if (PYBP__LOAD_GEN(b) != gen)
            return;
        PYBP__PAUSE();
    }
    for (spin = 0; spin < PYBP__YIELDS; spin++) {
        if (PYBP__LOAD_GEN(b) != gen)
            return;
        sched_yield();
    }
    pthread_mutex_lock(&b->mu);
    while (b->gen == gen)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

/* What the threads of one call share. */
typedef struct pybp__team {
    pybp__epoch *e;
    pybp__barrier bar;
    size_t parts;                     /* threads running */
    size_t xi;                        /* examples per item of phase (1) */
    size_t qmax;                      /* examples of a batch's largest part
                                         (pybp__parts()) */
    size_t cb;                        /* vectors of columns per item of
                                         phase (0); 0: no phase (0) */
    pybp__items items[3][PYBP_MAX_THREADS];   /* per phase, per thread */
} pybp__team;

typedef struct pybp__worker {
    pybp__team *team;
    size_t part;
    pthread_t tid;
} pybp__worker;

/* Thread u's share of n things (examples, rows): [n u / T, n (u+1) / T). */
static size_t pybp__share_start(size_t n, size_t u, size_t parts)
{
    return n * u / parts;
}

/* Items of phase (1) of every thread: a share of the c examples (or of
 * fewer: the items past a share's end are empty), in items of tm->xi. */
static size_t pybp__pass_items(const pybp__team *tm, size_t c)
{
    size_t n = (c + tm->parts - 1) / tm->parts;    /* the largest share */
    return (n + tm->xi - 1) / tm->xi;
}

/* The bytes of W^1 when the team runs phase (0) (a hidden first layer,
 * f_1 element by element, over PYBP__COLUMNS_BYTES of weights), else 0. */
static size_t pybp__columns_w1(const pybp__shape *s)
{
    size_t bytes = s->n[0] * s->pw[1] * sizeof(real);
    return s->L >= 2 && s->act[1] != PYBP_SOFTMAX
           && bytes > PYBP__COLUMNS_BYTES ? bytes : 0;
}

/* The width of phase (0)'s items: blocks of about a quarter of a thread's
 * share of W^1's nvec vectors of columns, in multiples of 4 (whole register
 * blocks on every path); 0 when there is no phase (0). */
static size_t pybp__column_block(const pybp__shape *s, const pybp__kern *K,
                                 size_t parts)
{
    size_t nvec = pybp__nvec(s->n[1], K->vw), r;
    if (pybp__columns_w1(s) == 0)
        return 0;
    r = (nvec + 4 * parts - 1) / (4 * parts);
    return r < 4 ? 4 : (r + 3) / 4 * 4;
}

/*
 * Threads for mini-batches of mbs, at most `threads`: one per
 * PYBP__THREAD_SHARE examples, as on smaller shares the barriers cost more
 * than the threads save; one per PYBP__COLUMN_SHARE when phase (0) shares
 * out a W^1 of more than twice PYBP__COLUMNS_BYTES, whose passes then
 * dominate even small batches (at 784-100-10's 650 KB they do not).
 */
static size_t pybp__team_size(const pybp__shape *s, size_t threads,
                              size_t mbs)
{
    size_t share = pybp__columns_w1(s) > 2 * PYBP__COLUMNS_BYTES
                   ? PYBP__COLUMN_SHARE : PYBP__THREAD_SHARE;
    return pybp__min(threads, mbs / share);
}

/* Thread u's vectors of W^1's columns, v0 .. v1-1 (phase (0)). */
static void pybp__column_share(const pybp__team *tm, size_t u, size_t *v0,
                               size_t *v1)
{
    size_t nvec = pybp__nvec(tm->e->s->n[1], tm->e->K->vw);
    *v0 = pybp__share_start(nvec, u, tm->parts);
    *v1 = pybp__share_start(nvec, u + 1, tm->parts);
}

/* Items of phase (0) of thread u. */
static size_t pybp__column_items(const pybp__team *tm, size_t u)
{
    size_t v0, v1;
    if (tm->cb == 0)
        return 0;
    pybp__column_share(tm, u, &v0, &v1);
    return (v1 - v0 + tm->cb - 1) / tm->cb;
}

/* Item `item` of thread u's phase (0), for the batch of c at `first`:
 * z^1 = W^1 a^0 + b^1 and a^1 = f_1(z^1) of every example of the batch, in
 * the item's columns.  Each sum is whole, as in the forward pass by
 * examples, and f_1 acts on each element alone: the same bits. */
static void pybp__column_item(const pybp__team *tm, size_t u, size_t item,
                              size_t first, size_t c)
{
    const pybp__epoch *e = tm->e;
    const pybp__shape *s = e->s;
    const pybp__kern *K = e->K;
    size_t v0, v1, j0, j1, x, pw = s->pw[1];
    real *a1 = e->w->a[1];
    pybp__src in = pybp__input(s, e->data, e->w->table, e->perm, first);
    pybp__column_share(tm, u, &v0, &v1);
    v0 += item * tm->cb;
    v1 = pybp__min(v0 + tm->cb, v1);
    K->forward(e->p + s->iw[1] + v0 * K->vw, pw, e->p + s->ib[1] + v0 * K->vw,
               s->n[0], v1 - v0, &in, a1 + v0 * K->vw, pw, 0, c);
    j0 = v0 * K->vw;
    j1 = pybp__min(v1 * K->vw, s->n[1]);
    for (x = 0; x < c; x++)          /* the padding lanes keep z = 0 */
        pybp__activate(K, s->act[1], a1 + x * pw + j0, j1 - j0);
}

/* Rows per item of phase (2) in a layer of nin rows: about 4 items per
 * thread, in multiples of 6 rows (whole register blocks). */
static size_t pybp__row_block(size_t nin, size_t parts)
{
    size_t r = (nin + 4 * parts - 1) / (4 * parts);
    return r < 6 ? 6 : (r + 5) / 6 * 6;
}

/* Items of phase (2) of thread u: blocks of its share of the rows of each
 * W^l, and for thread 0 one more (the first) for the biases. */
static size_t pybp__update_items(const pybp__team *tm, size_t u)
{
    const pybp__shape *s = tm->e->s;
    size_t l, n = u == 0;
    for (l = 1; l <= s->L; l++) {
        size_t nin = s->n[l - 1], rb = pybp__row_block(nin, tm->parts);
        size_t rows = pybp__share_start(nin, u + 1, tm->parts)
                      - pybp__share_start(nin, u, tm->parts);
        n += (rows + rb - 1) / rb;
    }
    return n;
}

/* Item `item` of thread u's phase (1): forward and backward passes of a
 * block of its examples. */
static void pybp__pass_item(const pybp__team *tm, size_t u, size_t item,
                            size_t first, size_t c)
{
    size_t x0 = pybp__share_start(c, u, tm->parts) + item * tm->xi;
    size_t x1 = pybp__min(x0 + tm->xi, pybp__share_start(c, u + 1,
                                                         tm->parts));
    pybp__passes(tm->e, first, c, tm->cb != 0 ? 2 : 1, x0, x1);
}

/* Item `item` of thread u's phase (2), for the batch (or part of one) of
 * c at `first`, BP3 and BP4 in mode `how` (pybp__part_how()). */
static void pybp__update_item(const pybp__team *tm, size_t u, size_t item,
                              size_t first, size_t c, int how)
{
    pybp__epoch *e = tm->e;
    const pybp__shape *s = e->s;
    const pybp__kern *K = e->K;
    const pybp__work *w = e->w;
    size_t l;
    if (u == 0 && item == 0) {        /* the costs; BP3, step on every b^l */
        pybp__add_costs(e, c);
        for (l = 1; l <= s->L; l++)
            K->bp3(e->p + s->ib[l], w->S + s->ib[l],
                   pybp__nvec(s->n[l], K->vw), w->d[l], s->pw[l], c,
                   e->step, how);
        return;
    }
    item -= u == 0;
    for (l = 1; l <= s->L; l++) {
        size_t nin = s->n[l - 1], rb = pybp__row_block(nin, tm->parts);
        size_t r0 = pybp__share_start(nin, u, tm->parts);
        size_t r1 = pybp__share_start(nin, u + 1, tm->parts);
        size_t items = (r1 - r0 + rb - 1) / rb;
        if (item < items) {   /* BP4, step on rows k0 .. k1-1 of W^l */
            size_t k0 = r0 + item * rb, k1 = pybp__min(k0 + rb, r1);
            pybp__src in = l == 1
                ? pybp__input(s, e->data, w->table, e->perm, first)
                : pybp__rows(w->a[l - 1], s->pw[l - 1]);
            K->bp4(e->p + s->iw[l], w->S + s->iw[l], s->pw[l],
                   pybp__nvec(s->n[l], K->vw),
                   &in, w->d[l], s->pw[l], pybp__packed(s, K, w, l, c), c,
                   k0, k1, e->decay, e->step, how);
            return;
        }
        item -= items;
    }
}

/* The next item of a phase for thread `part`: its own, else what is left
 * of the others'.  Returns 0 when none is left; else 1, with the owner of
 * the item in *owner and its number among the owner's in *item. */
static int pybp__grab(pybp__team *tm, int phase, size_t part, size_t *owner,
                      size_t *item)
{
    size_t i;
    for (i = 0; i < tm->parts; i++) {
        size_t u = (part + i) % tm->parts;
        pybp__items *q = &tm->items[phase][u];
#if defined(__GNUC__)
        *item = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
#else
        pthread_mutex_lock(&tm->bar.mu);
        *item = q->next++;
        pthread_mutex_unlock(&tm->bar.mu);
#endif
        if (*item < q->end) {
            *owner = u;
            return 1;
        }
    }
    return 0;
}

static void pybp__epoch_part(pybp__worker *wk)
{
    pybp__team *tm = wk->team;
    pybp__epoch *e = tm->e;
    size_t first, c, u, item, np, i, f, q;
    int how;
    for (first = 0; first < e->nperm; first += c) {
        c = pybp__min(e->mbs, e->nperm - first);   /* == mbs: whole batches */
        np = pybp__parts(c, tm->parts);
        for (i = 0; i < np; i++) {     /* the batch's parts, in order */
            f = first + pybp__part_start(c, np, i);
            q = first + pybp__part_start(c, np, i + 1) - f;
            how = pybp__part_how(i, np);
            if (tm->cb != 0) {
                while (pybp__grab(tm, 0, wk->part, &u, &item))
                    pybp__column_item(tm, u, item, f, q);
                pybp__barrier_wait(&tm->bar, tm->items[0]);
            }
            while (pybp__grab(tm, 1, wk->part, &u, &item))
                pybp__pass_item(tm, u, item, f, q);
            pybp__barrier_wait(&tm->bar, tm->items[1]);
            while (pybp__grab(tm, 2, wk->part, &u, &item))
                pybp__update_item(tm, u, item, f, q, how);
            pybp__barrier_wait(&tm->bar, tm->items[2]);
        }
    }
}

/* A worker first waits at the start gate: by then the caller has fixed how
 * many threads run and their ranges of items. */
static void *pybp__worker_main(void *arg)
{
    pybp__worker *wk = (pybp__worker *)arg;
    (void)pybp__fp_enter();           /* the mode the calling thread has */
    pybp__barrier_wait(&wk->team->bar, NULL);
    pybp__epoch_part(wk);
    return NULL;
}

/* Each thread's items, for every phase (item numbers count from 0 in each
 * thread's range). */
static void pybp__plan(pybp__team *tm)
{
    size_t t;
    for (t = 0; t < tm->parts; t++) {
        pybp__items *q = &tm->items[0][t];
        q->begin = q->next = 0;
        q->end = pybp__column_items(tm, t);
        q = &tm->items[1][t];
        q->begin = q->next = 0;
        q->end = pybp__pass_items(tm, tm->qmax);
        q = &tm->items[2][t];
        q->begin = q->next = 0;
        q->end = pybp__update_items(tm, t);
    }
}

/* Runs the epoch's whole mini-batches (e->mbs each) on up to `threads`
 * threads, the caller's among them; on fewer if some cannot be created
 * (the same bits either way). */
static void pybp__epoch_threads(pybp__epoch *e, size_t threads)
{
    pybp__worker wk[PYBP_MAX_THREADS];
    pybp__team tm;
    size_t t, started, xi;
    memset(&tm, 0, sizeof tm);
    tm.e = e;
    if (!pybp__barrier_init(&tm.bar, (unsigned)threads)) {
        pybp__epoch_single(e);
        return;
    }
    for (t = 0; t < threads; t++) {
        wk[t].team = &tm;
        wk[t].part = t;
    }
    for (started = 1; started < threads; started++)
        if (pthread_create(&wk[started].tid, NULL, pybp__worker_main,
                           &wk[started]) != 0)
            break;
    /* The workers are held at the start gate until this thread arrives.
     * Items of phase (1): xi examples, about 4 per thread, in whole
     * register blocks of 6. */
    pthread_mutex_lock(&tm.bar.mu);
    tm.bar.parties = (unsigned)started;
    tm.parts = started;
    tm.qmax = (e->mbs + pybp__parts(e->mbs, started) - 1)
              / pybp__parts(e->mbs, started);
    xi = (tm.qmax + 4 * started - 1) / (4 * started);
    tm.xi = xi < 6 ? 6 : (xi + 5) / 6 * 6;
    tm.cb = pybp__column_block(e->s, e->K, started);
    pybp__plan(&tm);
    pthread_mutex_unlock(&tm.bar.mu);
    pybp__barrier_wait(&tm.bar, NULL);
    pybp__epoch_part(&wk[0]);
    for (t = 1; t < started; t++)
        pthread_join(wk[t].tid, NULL);
    pybp__barrier_destroy(&tm.bar);
}
#endif /* PYBP__THREADS */
