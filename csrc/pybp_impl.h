/*
 * pybp_impl.h - feedforward, BP1-BP4 and mini-batch SGD, written once for an
 * element type `real` and compiled once per type: pybp.c includes it for
 * double (the public pybp_* functions), pybp_f32.c for float (pybp_*_f32).
 * Internal: nothing else includes it.  An including file defines
 *
 *   PYBP__REAL        the element type, double or float
 *   PYBP__REAL_SIZE   sizeof(PYBP__REAL), as a plain number for attributes
 *   PYBP__API(name)   the public name of entry point `name`: pybp_name
 *                     (pybp.c) or pybp_name_f32 (pybp_f32.c); each
 *                     definition below names both in a comment
 *   PYBP__SUFFIXED    when the names carry a suffix (the type-independent
 *                     pybp_nparams is then left to pybp.c)
 *   PYBP__X(d)        the data set's inputs of this type (d->x or d->x_f32),
 *   PYBP__X_OTHER(d)  and those of the other type, which must be NULL
 *   PYBP__EXP, PYBP__LOG, PYBP__TANH   pybp's own functions for the type
 *                                      (pybp_elementary.h)
 *   PYBP__FLUSH_SUBNORMALS   flush subnormals to zero during calls (float)
 *
 * In float64 every number equals what pybp/_kernels/reference.py computes, bit for
 * bit: each sum starts at 0.0 and adds its terms in ascending index order,
 * and every product is rounded before it is added (docs/exactness.md).
 * Speed comes only from computing many independent sums at once, never from
 * reordering one sum.
 *
 * Internal layout.  Each call copies the parameters into the workspace in a
 * layout made for the loops, and (when it trains) copies them back at the
 * end; callers only ever see the flat layout of docs/math.md.  Inside:
 *   Wt^l  n_{l-1} rows of pw_l reals, Wt^l[k][j] = W^l[j][k]: row k holds
 *         the weights out of input k, so the outputs j of a layer form a
 *         contiguous vector and the forward pass and BP4 vectorise over j;
 *   b^l   pw_l reals;
 * where pw_l is n_l rounded up to a whole 64-byte line (8 doubles, 16
 * floats), the padding zero.  Activations a^l and deltas of a mini-batch
 * are stored example-major: one row of pw_l reals per example.
 *
 * Equations (docs/math.md; pybp_kernels.h holds the vector loops, compiled
 * once per instruction set and called through the table K; the rest is
 * here):
 *   feedforward  z^l = W^l a^(l-1) + b^l, a^l = f(z^l)  pybp__feedforward()
 *   BP1          delta^L = grad_a C (.) f'(z^L)          pybp__delta()
 *   BP2          delta^(l-1) = (W^l)^T delta^l (.) f'    pybp__backward()
 *                (the sums in K->bp2, lanes = examples)
 *   BP3, BP4 and the SGD update, fused per block of weights: each weight's
 *   sum over the mini-batch stays in a register from 0.0 to the update
 *   W <- decay W - step S                   pybp__bp34() (K->bp3, K->bp4)
 *   (a large mini-batch goes part by part, its sums kept in memory between
 *   the parts: pybp__parts())
 * All deltas of a mini-batch are computed before any weight changes (BP2
 * reads the old W).  For small mini-batches, where streaming the weights
 * through the cache costs more than the arithmetic, the update of each
 * weight row is also fused with its use by the next mini-batch's forward
 * pass (pybp__update_forward()).
 *
 * Inputs are read where the caller keeps them (uint8 ones through a table
 * of byte / divisor), never copied or converted into the workspace.
 *
 * Validation: every call checks its arguments whole before it computes.
 * The network rules are pybp_net.c's, which the model files share; the
 * layout and workspace sizes derived from them are checked here.
 *
 * Workspace (elements of the type), for a chunk or mini-batch of B
 * examples, sums over l = 1 .. L:
 *   PAD - 1 (alignment) + 256 (uint8 table) + Pi (internal parameters)
 *   + Pi (sums S, for gradients) + B * (sum_l pw_l (activations)
 *   + n_L (targets) + 1 (cost) + sum_l pw_l (deltas)
 *   + sum_l pw_l (the next mini-batch's activations)),
 * Pi = sum_l (n_{l-1} + 1) pw_l.  The forward-only functions need neither S
 * nor the deltas nor the second activations, so a given workspace holds
 * more examples for them.
 *
 * Instruction sets: the loops of pybp_kernels.h are compiled for AVX-512F
 * and AVX2 (x86 with GCC or Clang, chosen at run time) and for the portable
 * path; each gives the same bits, since every vector lane is one element's
 * own sum.  pybp_net.isa forces a path (for tests and benchmarks).
 *
 * Threads (pybp_threads.h): pybp_sgd_epoch can share each mini-batch
 * among worker threads: the forward and backward passes by examples, BP4
 * and the update by blocks of weight rows.  Every sum is still computed
 * whole by one thread, so the results do not depend on the number of
 * threads.
 *
 * Build with -ffp-contract=off and without -ffast-math: a fused
 * multiply-add or a reassociated sum would change result bits.
 *
 * float32 follows exactly the same order of operations in single
 * precision (the per-unit formulas of activations, derivatives and costs
 * are evaluated with float64 constants and rounded to float), so its
 * results are also the same on every instruction set and thread count;
 * they differ from the float64 reference by rounding only.
 */
#ifndef PYBP__REAL
#error "pybp_impl.h is included by pybp.c and pybp_f32.c only"
#endif

#include "pybp.h"
#include "pybp_net.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __FAST_MATH__
#error "pybp must not be built with -ffast-math: it changes result bits"
#endif
/*
 * Every operation must round to its own type.  FLT_EVAL_METHOD 0 says so;
 * 1 says float operations are evaluated in double (double ones still in
 * double), which is harmless for the float64 instance but would round the
 * float32 one's sums once instead of at every step.  GCC reports 1 on s390x
 * in the strict -std=c99 mode and then really widens float arithmetic
 * (ldebr/mdbr/adbr/ledbr instead of meebr/aebr), although the hardware has
 * single-precision instructions: -fexcess-precision=fast lets it use them
 * (FLT_EVAL_METHOD 0), and csrc/Makefile and build_ffi.py pass it there.
 * 2 (x87) or -1 (unknown) is refused for both.
 */
#if PYBP__REAL_SIZE == 8 && FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != 1
#error "pybp needs double arithmetic in double precision (i386: -msse2 -mfpmath=sse)"
#endif
#if PYBP__REAL_SIZE == 4 && FLT_EVAL_METHOD != 0
#error "pybp's float32 instance needs float arithmetic in single precision (s390x: -fexcess-precision=fast; i386: -msse2 -mfpmath=sse)"
#endif

/* No contraction into fused multiply-adds even if the build flags forget
 * -ffp-contract=off: GCC's GNU modes contract by default, and the AVX-512
 * path has FMA instructions available. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) \
    && !defined(PYBP_NO_X86_PATHS)
#define PYBP__X86 1
#endif
#if defined(__GNUC__) && defined(__aarch64__) && !defined(PYBP_NO_VECTORS)
#define PYBP__ARM64 1   /* NEON is part of every AArch64 CPU */
#endif

typedef PYBP__REAL real;

/* Internal rows are padded to a multiple of 64 bytes, the widest vector,
 * so one layout serves every instruction set. */
#define PYBP__PAD (64 / PYBP__REAL_SIZE)

/* ------------------------------------------------------------------------ */
/* Floating-point mode                                                      */

/*
 * float32 flushes subnormal results and operands to zero (x86: MXCSR's FTZ
 * and DAZ bits, set for the duration of a call on every thread of it, and
 * restored after): the deltas of saturated units fall below float's normal
 * range early in training, and the CPU's slow path for subnormals made
 * float32 epochs several times slower than float64.  float64 keeps IEEE
 * subnormals, as the reference does.
 */
#if defined(PYBP__FLUSH_SUBNORMALS) && defined(PYBP__X86)
#include <xmmintrin.h>
typedef unsigned pybp__fpmode;
#define PYBP__FTZ_DAZ 0x8040u

static pybp__fpmode pybp__fp_enter(void)
{
    pybp__fpmode mode = _mm_getcsr();
    _mm_setcsr(mode | PYBP__FTZ_DAZ);
    return mode;
}

/* Only the two bits changed go back: status flags the call raised stay. */
static void pybp__fp_leave(pybp__fpmode mode)
{
    _mm_setcsr((_mm_getcsr() & ~PYBP__FTZ_DAZ) | (mode & PYBP__FTZ_DAZ));
}
#else
typedef int pybp__fpmode;

static pybp__fpmode pybp__fp_enter(void)
{
    return 0;
}

static void pybp__fp_leave(pybp__fpmode mode)
{
    (void)mode;
}
#endif

/* ------------------------------------------------------------------------ */
/* Kernel instances, one per instruction set                                */

#if defined(__GNUC__)
#define PYBP_K_INLINE inline __attribute__((always_inline))
#else
#define PYBP_K_INLINE
#endif

/*
 * A layer's inputs for a batch of examples: rows of reals (the
 * activations of the layer below, or a data set of the same element type
 * read in place), or,
 * for the first layer of uint8 data, the data set's bytes read in place
 * through the byte -> value table.  Inputs are thus never copied or
 * converted into a separate array.  Example x of the batch is row idx[x]
 * (row first + x when idx is NULL).
 */
typedef struct pybp__src {
    const real *a;                /* rows of reals, or NULL and */
    const unsigned char *u8;      /* rows of bytes, byte b standing for */
    const real *table;            /* table[b] */
    const size_t *idx;
    size_t first;
    size_t pitch;                 /* elements from one row to the next */
} pybp__src;

static PYBP_K_INLINE size_t pybp__in_offset(const pybp__src *in, size_t x)
{
    return (in->idx != NULL ? in->idx[x] : in->first + x) * in->pitch;
}

static PYBP_K_INLINE const real *pybp__in_row(const pybp__src *in,
                                              size_t x)
{
    return in->a + pybp__in_offset(in, x);
}

static PYBP_K_INLINE const unsigned char *pybp__in_u8row(const pybp__src *in,
                                                         size_t x)
{
    return in->u8 + pybp__in_offset(in, x);
}

/*
 * Asks the cache for examples x0 .. x1-1 of inputs read in place from a
 * shuffled data set (in->idx set; rows of n elements scattered over it),
 * ahead of their use: waiting for each row from memory would cost about
 * as much as the arithmetic.  Other inputs are in the cache already.  A
 * hint only, no effect on results.  (Always inlined: GCC deletes calls to
 * a function that only prefetches.)
 */
#if defined(__GNUC__)
__attribute__((always_inline)) inline
#endif
static void pybp__prefetch_rows(const pybp__src *in, size_t x0, size_t x1,
                                size_t n)
{
#if defined(__GNUC__)
    size_t x, off, bytes = n * (in->u8 != NULL ? 1 : sizeof(real));
    if (in->idx == NULL || bytes == 0)
        return;
    for (x = x0; x < x1; x++) {
        const char *row = in->u8 != NULL
                              ? (const char *)pybp__in_u8row(in, x)
                              : (const char *)pybp__in_row(in, x);
        for (off = 0; off < bytes; off += 64)
            __builtin_prefetch(row + off, 0, 2);
        __builtin_prefetch(row + bytes - 1, 0, 2);
    }
#else
    (void)in; (void)x0; (void)x1; (void)n;
#endif
}

/* Branches on the sign of z so that exp never overflows. */
static real pybp__sigmoid(real z)
{
    real e;
    if (z >= 0.0)
        return 1.0 / (1.0 + PYBP__EXP(-z));
    e = PYBP__EXP(z);
    return e / (1.0 + e);
}

/* (Here, before the kernel instances: their K->sigmoid ends with it.) */

/* The signatures every instance of pybp_kernels.h provides. */
typedef void pybp__forward_fn(const real *W, size_t wp, const real *b,
                              size_t nin, size_t nvec, const pybp__src *in,
                              real *z, size_t zp, size_t x0, size_t x1);
typedef void pybp__bp4_fn(real *W, real *S, size_t wp, size_t nvec,
                          const pybp__src *in, const real *d, size_t dp,
                          const real *dpk, size_t m, size_t k0, size_t k1,
                          real decay, real step, int how);
typedef void pybp__bp3_fn(real *b, real *S, size_t nvec, const real *d,
                          size_t dp, size_t m, real step, int how);
typedef void pybp__forward_direct_fn(const real *W, size_t nin, size_t nout,
                                     const real *a, size_t ap, size_t m,
                                     real *z, size_t zp);
typedef void pybp__update_forward_fn(real *W, size_t wp, size_t nin,
                                     size_t nvec, const pybp__src *in,
                                     const real *d, size_t dp, size_t m,
                                     real decay, real step,
                                     const pybp__src *next, const real *bn,
                                     real *z, size_t zp, size_t mn);
typedef void pybp__bp2_fn(const real *Wt, size_t wp, size_t nin,
                          size_t nout, const real *d, size_t dp, real *dn,
                          size_t dnp, size_t m);
typedef void pybp__sigmoid_fn(real *z, size_t n);

/* One instruction set's kernels, the K-> of the code below: the tables
 * pybp__kern_portable, pybp__kern_avx2 and pybp__kern_avx512 (see
 * pybp__kernels()) point at the pybp_kernels.h functions of their path,
 * e.g. K->bp4 at pybp__bp4_portable, pybp__bp4_avx2 or pybp__bp4_avx512. */
typedef struct pybp__kern {
    size_t vw;                        /* elements per vector */
    pybp__forward_fn *forward;        /* pybp__forward_<isa> */
    pybp__bp4_fn *bp4;                /* pybp__bp4_<isa> */
    pybp__bp3_fn *bp3;                /* pybp__bp3_<isa> */
    pybp__update_forward_fn *update_forward;  /* pybp__update_forward_<isa> */
    pybp__bp2_fn *bp2;                /* pybp__bp2_<isa> */
    size_t fuse_max;                  /* fuse batches up to this size */
    pybp__forward_direct_fn *forward_direct;  /* pybp__forward_direct_<isa> */
    pybp__sigmoid_fn *sigmoid;        /* pybp__sigmoid_<isa>: z[j] =
                                         pybp__sigmoid(z[j]), j < n */
} pybp__kern;

/* The bytes of a column panel's deltas in BP4 (pybp_kernels.h): inside a
 * core's L2 (1 MiB and more on current x86 and Arm cores) beside the
 * inputs BP4 reads with them. */
#define PYBP__PANEL_BYTES (512u * 1024u)

/*
 * BP4's column panels for a batch of m examples, in vectors of vw
 * elements: as many as keep the panel's m rows of deltas within
 * PYBP__PANEL_BYTES, a multiple of 8 (of every path's BP4 block), at
 * least 8.
 * A layer whose rows of deltas are wider has them also stored panel by
 * panel (pybp__pack()), so that BP4 reads each panel as one contiguous
 * block instead of one short piece per example a row's pitch apart (which
 * defeats the hardware prefetchers once rows are kilobytes long).
 */
static size_t pybp__panel(size_t m, size_t vw)
{
    size_t pv = PYBP__PANEL_BYTES / (m * vw * sizeof(real) + 1);
    return pv < 8 ? 8 : pv - pv % 8;
}

/* BP4's chunks of a large batch, in examples (pybp_kernels.h): the
 * chunk's rows of byte inputs and of a panel's deltas stay in L2 together;
 * a batch of up to 1.5 chunks is one chunk.  (Training's parts,
 * PYBP__PART, are smaller: this is for gradients over many examples.) */
#define PYBP_K_CHUNK 256
#define PYBP_K_ONE_CHUNK (PYBP_K_CHUNK * 3 / 2)

/* The examples per thread of a part of a large mini-batch (pybp__parts()):
 * on Zen 5, 64, 128 and 256 were within noise of each other, all 5-16%
 * faster than one pass over a batch of 1000 (bench/epoch_c.c). */
#ifndef PYBP__PART
#define PYBP__PART 128
#endif

/* BP4's bitmaps of the examples with nonzero bytes, in 64-bit words:
 * 32 KiB on the stack of the calling thread. */
#define PYBP_K_BMWORDS 4096

/* The modes of a BP4 register block: start from the partial sums in S
 * (else from 0.0); finish with the SGD step on W (else store the sums). */
#define PYBP_K_FROM 1
#define PYBP_K_TO_W 2

/* The size of W^1 beyond which worker threads compute the first layer by
 * columns (pybp_threads.h, phase (0)). */
#define PYBP__COLUMNS_BYTES (512u * 1024u)

/* BP2's tile of deltas (pybp_kernels.h), in elements: 32 KiB on the
 * stack of the calling thread. */
#define PYBP__BP2_TILE (32768 / PYBP__REAL_SIZE)

/* The portable path: 16-byte vectors where the compiler has vector
 * extensions (SSE2 on x86-64, NEON on AArch64, plain code elsewhere),
 * otherwise (or with -DPYBP_NO_VECTORS) plain scalars.  Block shapes here
 * and below were chosen by timing float64 MNIST epochs; a vector holds
 * twice as many floats, so float32 runs the same blocks over half the
 * vectors. */
#if defined(__GNUC__) && !defined(PYBP_NO_VECTORS)
typedef real pybp__v16 __attribute__((vector_size(16)));
typedef real pybp__v16u __attribute__((vector_size(16),
                                       aligned(PYBP__REAL_SIZE),
                                       __may_alias__));
#define PYBP_K_VW (16 / PYBP__REAL_SIZE)
#define PYBP_K_V pybp__v16
#define PYBP_K_VU pybp__v16u
#else
#define PYBP_K_VW 1
#define PYBP_K_V real
#define PYBP_K_VU real
#endif
#define PYBP_K(name) pybp__##name##_portable
#define PYBP_K_ATTR
#define PYBP_K_XB 3
#define PYBP_K_XB2 3
#define PYBP_K_SPAN 24
#define PYBP_K_JB 4
#define PYBP_K_FJB8 4
#define PYBP_K_KB 3
#define PYBP_K_BJB 4
#define PYBP_K_FXB 2
#define PYBP_K_FJB 2
#define PYBP_K_BKB 6
#define PYBP_K_BXV 2
#include "pybp_kernels.h"     /* defines pybp__kern_portable:
                                 pybp__forward_portable, pybp__bp4_portable,
                                 pybp__bp3_portable,
                                 pybp__update_forward_portable,
                                 pybp__bp2_portable */

#ifdef PYBP__X86
/* AVX2: 16 ymm registers hold 12 accumulators plus operands. */
typedef real pybp__v32 __attribute__((vector_size(32)));
typedef real pybp__v32u __attribute__((vector_size(32),
                                       aligned(PYBP__REAL_SIZE),
                                       __may_alias__));
#define PYBP_K(name) pybp__##name##_avx2
#define PYBP_K_ATTR __attribute__((target("avx2")))
#define PYBP_K_VW (32 / PYBP__REAL_SIZE)
#define PYBP_K_V pybp__v32
#define PYBP_K_VU pybp__v32u
#define PYBP_K_XB 6
#define PYBP_K_XB2 6
#define PYBP_K_SPAN 24
#define PYBP_K_JB 2
#define PYBP_K_FJB8 2
#define PYBP_K_KB 6
#define PYBP_K_BJB 2
#define PYBP_K_FXB 2
#define PYBP_K_FJB 2
#define PYBP_K_BKB 6
#define PYBP_K_BXV 2
#include "pybp_kernels.h"     /* defines pybp__kern_avx2: pybp__forward_avx2,
                                 pybp__bp4_avx2, pybp__bp3_avx2,
                                 pybp__update_forward_avx2,
                                 pybp__bp2_avx2 */

/* AVX-512F: 32 zmm registers hold 24 accumulators plus operands. */
typedef real pybp__v64 __attribute__((vector_size(64)));
typedef real pybp__v64u __attribute__((vector_size(64),
                                       aligned(PYBP__REAL_SIZE),
                                       __may_alias__));
#define PYBP_K(name) pybp__##name##_avx512
#define PYBP_K_ATTR __attribute__((target("avx512f")))
#define PYBP_K_VW (64 / PYBP__REAL_SIZE)
#define PYBP_K_V pybp__v64
#define PYBP_K_VU pybp__v64u
#define PYBP_K_XB 6
#define PYBP_K_XB2 8
#define PYBP_K_SPAN 24
#define PYBP_K_JB 4
#define PYBP_K_FJB8 8
#define PYBP_K_KB 3
#define PYBP_K_BJB 8
#define PYBP_K_FXB 3
#define PYBP_K_FJB 4
#define PYBP_K_BKB 6
#define PYBP_K_BXV 4
#include "pybp_kernels.h"     /* defines pybp__kern_avx512:
                                 pybp__forward_avx512, pybp__bp4_avx512,
                                 pybp__bp3_avx512,
                                 pybp__update_forward_avx512,
                                 pybp__bp2_avx512 */
#endif /* PYBP__X86 */

#ifdef PYBP__ARM64
/* NEON: 16-byte vectors like the portable path's, but 32 registers hold
 * 24 accumulators plus operands, so the blocks are AVX-512's shapes. */
#define PYBP_K(name) pybp__##name##_neon
#define PYBP_K_ATTR
#define PYBP_K_VW (16 / PYBP__REAL_SIZE)
#define PYBP_K_V pybp__v16
#define PYBP_K_VU pybp__v16u
#define PYBP_K_XB 6
#define PYBP_K_XB2 8
#define PYBP_K_SPAN 24
#define PYBP_K_JB 4
#define PYBP_K_FJB8 4
#define PYBP_K_KB 6
#define PYBP_K_BJB 4
#define PYBP_K_FXB 3
#define PYBP_K_FJB 4
#define PYBP_K_BKB 6
#define PYBP_K_BXV 4
#include "pybp_kernels.h"     /* defines pybp__kern_neon: pybp__forward_neon,
                                 pybp__bp4_neon, pybp__bp3_neon,
                                 pybp__update_forward_neon,
                                 pybp__bp2_neon */
#endif /* PYBP__ARM64 */

/* The kernel table of a resolved PYBP_ISA_* code: pybp__kern_avx512,
 * pybp__kern_avx2, pybp__kern_neon or pybp__kern_portable. */
static const pybp__kern *pybp__kernels(int isa)
{
#ifdef PYBP__X86
    if (isa == PYBP_ISA_AVX512)
        return &pybp__kern_avx512;
    if (isa == PYBP_ISA_AVX2)
        return &pybp__kern_avx2;
#endif
#ifdef PYBP__ARM64
    if (isa == PYBP_ISA_NEON)
        return &pybp__kern_neon;
#endif
    (void)isa;
    return &pybp__kern_portable;
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
    int isa;                          /* resolved: never PYBP_ISA_AUTO */
    int threads;                      /* >= 1 */
    size_t woff[PYBP_MAX_LAYERS];     /* offset of W^l in the flat layout */
    size_t boff[PYBP_MAX_LAYERS];     /* offset of b^l */
    size_t P;                         /* parameter count */
    size_t pw[PYBP_MAX_LAYERS];       /* n_l rounded up to PYBP__PAD */
    size_t iw[PYBP_MAX_LAYERS];       /* offset of Wt^l internally */
    size_t ib[PYBP_MAX_LAYERS];       /* offset of b^l internally */
    size_t Pi;                        /* internal parameter elements */
    size_t fixed_fwd;                 /* workspace besides the examples */
    size_t fixed_bwd;
    size_t per_fwd;                   /* workspace elements per example */
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

/* Doubles of alignment slack and of the uint8 table, in every workspace. */
#define PYBP__SLACK (PYBP__PAD - 1)
#define PYBP__TABLE 256

/* Checks the network (the rules, then threads and isa) and fills in the
 * shape: the flat and internal layouts and the workspace, overflow-checked. */
static int pybp__check_net(const pybp_net *net, pybp__shape *s)
{
    size_t l, L, off = 0, ioff = 0, w, acts = 0, deltas = 0;
    int st;

    if (net == NULL || net->sizes == NULL || net->activations == NULL)
        return PYBP_ENULL;
    /* The rules shared with the model files (pybp_net.c); P is counted
     * below, with the internal layout and the workspace. */
    st = pybp__check_net_rules(net->nlayers, net->sizes, net->activations,
                               net->cost, SIZE_MAX, NULL);
    if (st != PYBP_OK)
        return st;
    L = net->nlayers - 1;
    s->L = L;
    for (l = 0; l <= L; l++)
        s->n[l] = net->sizes[l];
    s->act[0] = 0;
    for (l = 1; l <= L; l++)
        s->act[l] = net->activations[l - 1];
    s->cost = net->cost;
    if (net->threads < 0 || net->threads > PYBP_MAX_THREADS)
        return PYBP_ESIZE;
    s->threads = net->threads > 1 ? net->threads : 1;
    if (!pybp_isa_supported(net->isa))
        return PYBP_EISA;
    s->isa = net->isa == PYBP_ISA_AUTO ? pybp_isa_best() : net->isa;

    /* P = sum_l n_l (n_{l-1} + 1), the internal layout and the workspace,
     * all checked: a network whose pybp_workspace_size(net, 1) overflows is
     * unusable. */
    for (l = 0; l <= L; l++) {
        if (!pybp__add(s->n[l], PYBP__PAD - 1, &w))
            return PYBP_EOVERFLOW;
        s->pw[l] = w / PYBP__PAD * PYBP__PAD;
        /* A pitch of a multiple of 512 bytes maps a column of rows onto a
         * few cache sets (2 of L1's 64 at 2 KiB), so a block of columns of
         * Wt, a^l or delta^l would miss every cache it should live in: one
         * more line makes the pitch an odd number of lines. */
        if (s->pw[l] % (512 / sizeof(real)) == 0
            && !pybp__add(s->pw[l], PYBP__PAD, &s->pw[l]))
            return PYBP_EOVERFLOW;
        if (l > 0 && (!pybp__add(acts, s->pw[l], &acts)
                      || !pybp__add(deltas, s->pw[l], &deltas)))
            return PYBP_EOVERFLOW;
    }
    for (l = 1; l <= L; l++) {
        s->woff[l] = off;
        if (!pybp__mul(s->n[l], s->n[l - 1], &w)
            || !pybp__add(off, w, &s->boff[l])
            || !pybp__add(s->boff[l], s->n[l], &off))
            return PYBP_EOVERFLOW;
        s->iw[l] = ioff;
        if (!pybp__mul(s->pw[l], s->n[l - 1], &w)
            || !pybp__add(ioff, w, &s->ib[l])
            || !pybp__add(s->ib[l], s->pw[l], &ioff))
            return PYBP_EOVERFLOW;
    }
    s->P = off;
    s->Pi = ioff;
    /* forward-only: slack, table, internal params; per example a^1 .. a^L,
     * z^L (for the costs), the targets and the cost.  backprop adds the
     * sums S, the deltas and a second set of activations and z^L (the next
     * mini-batch's, see pybp__epoch_single).  Inputs a^0 are read in
     * place. */
    if (!pybp__add(acts, s->pw[L], &acts)
        || !pybp__add(PYBP__SLACK + PYBP__TABLE, s->Pi, &s->fixed_fwd)
        || !pybp__add(s->fixed_fwd, s->Pi, &s->fixed_bwd)
        || !pybp__add(acts, s->n[L], &s->per_fwd)
        || !pybp__add(s->per_fwd, 1, &s->per_fwd)
        || !pybp__add(s->per_fwd, deltas, &s->per_bwd)
        || !pybp__add(s->per_bwd, acts, &s->per_bwd)
        || !pybp__add(s->fixed_bwd, s->per_bwd, &s->ws1))
        return PYBP_EOVERFLOW;
    return PYBP_OK;
}

/* Workspace elements for backprop on `batch` examples at once. */
static int pybp__ws(const pybp__shape *s, size_t batch, size_t *r)
{
    size_t t;
    if (!pybp__mul(batch, s->per_bwd, &t) || !pybp__add(s->fixed_bwd, t, r))
        return PYBP_EOVERFLOW;
    return PYBP_OK;
}

static int pybp__check_data(const pybp__shape *s, const pybp_data *d,
                            int need_targets)
{
    size_t t;
    if (d->count == 0)
        return PYBP_ESIZE;
    if ((PYBP__X(d) == NULL) == (d->x_u8 == NULL) || PYBP__X_OTHER(d) != NULL)
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

/* Dense targets of examples perm[0..m-1] (or 0..m-1) inside the cost's
 * domain, as pybp/network.py checks them: cross-entropy targets in [0, 1];
 * log-likelihood targets >= 0 with |sum_j y_j - 1| <= 1e-9 n_L (the sum
 * from 0.0, ascending).  NaN is outside every domain. */
static int pybp__check_targets(const pybp__shape *s, const pybp_data *d,
                               const size_t *perm, size_t m)
{
    size_t i, j, nL = s->n[s->L];
    const double *y;
    double sum;
    if (d->y == NULL || s->cost == PYBP_QUADRATIC)
        return PYBP_OK;
    for (i = 0; i < m; i++) {
        y = d->y + (perm != NULL ? perm[i] : i) * nL;
        sum = 0.0;
        for (j = 0; j < nL; j++) {
            if (!(y[j] >= 0.0))
                return PYBP_EVALUE;
            if (s->cost == PYBP_CROSS_ENTROPY && !(y[j] <= 1.0))
                return PYBP_EVALUE;
            sum += y[j];
        }
        if (s->cost == PYBP_LOG_LIKELIHOOD
            && !(fabs(sum - 1.0) <= 1e-9 * (double)nL))
            return PYBP_EVALUE;
    }
    return PYBP_OK;
}

/* No result is computed from parameters that are not all finite (a NaN
   written into them, say: a ReLU would turn it into a plausible 0).  Tested
   on the bits, exponent all ones, so that the loop is integer work. */
static int pybp__check_params(const real *p, size_t n)
{
    size_t i;
    unsigned bad = 0;
#if PYBP__REAL_SIZE == 8
    const uint64_t e = UINT64_C(0x7ff0000000000000);
    uint64_t b;
#else
    const uint32_t e = UINT32_C(0x7f800000);
    uint32_t b;
#endif
    for (i = 0; i < n; i++) {
        memcpy(&b, p + i, sizeof b);
        bad |= (b & e) == e;
    }
    return bad ? PYBP_EPARAMS : PYBP_OK;
}

/* The checks every kernel shares but the parameters' finiteness; on
 * success the shape is filled in. */
static int pybp__check_shape(const pybp_net *net, size_t nparams,
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

/* The checks every kernel shares; on success the shape is filled in. */
static int pybp__check_common(const pybp_net *net, const real *params,
                              size_t nparams, const pybp_data *data,
                              int need_targets, size_t nwork, pybp__shape *s)
{
    int st = pybp__check_shape(net, nparams, data, need_targets, nwork, s);
    if (st != PYBP_OK)
        return st;
    return pybp__check_params(params, nparams);
}

static int pybp__check_sgd_values(double eta, double lmbda, size_t n)
{
    if (n == 0)
        return PYBP_ESIZE;
    if (!isfinite(eta) || !isfinite(lmbda) || lmbda < 0.0)
        return PYBP_EVALUE;
    return PYBP_OK;
}

#ifndef PYBP__SUFFIXED   /* the parameter count is the same for every type */
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
#endif

/* The checks every workspace-size query starts with: a result pointer, a
 * valid network (its shape into *s) and a count of at least one. */
static int pybp__size_query(const pybp_net *net, size_t count,
                            const size_t *nelems, pybp__shape *s)
{
    int st;
    if (nelems == NULL)
        return PYBP_ENULL;
    st = pybp__check_net(net, s);
    if (st != PYBP_OK)
        return st;
    return count == 0 ? PYBP_ESIZE : PYBP_OK;
}

/* defines pybp_workspace_size and pybp_workspace_size_f32 */
int PYBP__API(workspace_size)(const pybp_net *net, size_t batch,
                              size_t *nelems)
{
    pybp__shape s;
    size_t r;
    int st = pybp__size_query(net, batch, nelems, &s);
    if (st != PYBP_OK)
        return st;
    st = pybp__ws(&s, batch, &r);
    if (st == PYBP_OK)
        *nelems = r;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Workspace, layout conversion and input                                   */

typedef struct pybp__work {
    real *table;                      /* byte b -> b / divisor */
    real *p;                          /* internal parameters, Pi elements */
    real *S;                          /* sums in the same layout (backprop) */
    real *a[PYBP_MAX_LAYERS + 1];     /* a^l, l >= 1: a row of pw_l per
                                         example (a[0] is NULL); a[L + 1]
                                         holds z^L, the output layer's z
                                         before f_L, a row of pw_L each */
    real *an[PYBP_MAX_LAYERS + 1];    /* the same for the next mini-batch */
    real *d[PYBP_MAX_LAYERS];         /* delta^l, l >= 1 (backprop only) */
    real *y;                          /* targets: one row of n_L per example */
    real *cost;                       /* C_x per example */
    size_t cap;                       /* examples per chunk */
} pybp__work;

/* Carves the workspace (nwork >= ws1 checked): 64-byte aligned blocks, so
 * that rows of pw_l elements never straddle a cache line. */
static void pybp__carve(const pybp__shape *s, real *work, size_t nwork,
                        int backprop, pybp__work *w)
{
    size_t l, skip;
    real *p;
    skip = (size_t)((64 - (uintptr_t)work % 64) % 64) / sizeof(real);
    if (skip > PYBP__SLACK)
        skip = 0;    /* work not aligned to its element size: go unaligned */
    p = work + skip;
    w->p = p;
    p += s->Pi;
    w->table = p;
    p += PYBP__TABLE;
    if (backprop) {
        w->S = p;
        p += s->Pi;
        w->cap = (nwork - s->fixed_bwd) / s->per_bwd;
    } else {
        w->S = NULL;
        w->cap = (nwork - s->fixed_fwd) / s->per_fwd;
    }
    w->a[0] = w->an[0] = w->d[0] = NULL;
    for (l = 1; l <= s->L + 1; l++) {      /* a^1 .. a^L, z^L */
        w->a[l] = p;
        p += s->pw[l <= s->L ? l : s->L] * w->cap;
    }
    w->an[s->L + 1] = NULL;
    for (l = 1; l <= s->L; l++) {
        w->an[l] = w->d[l] = NULL;
        if (backprop) {
            w->an[l] = p;
            p += s->pw[l] * w->cap;
            w->d[l] = p;
            p += s->pw[l] * w->cap;
        }
    }
    if (backprop) {
        w->an[s->L + 1] = p;
        p += s->pw[s->L] * w->cap;
    }
    w->y = p;
    p += s->n[s->L] * w->cap;
    w->cost = p;
}

/* The flat parameters into the internal layout (Wt^l, b^l, zero padding). */
static void pybp__to_internal(const pybp__shape *s, const real *params,
                              real *p)
{
    size_t l, j, k;
    for (l = 1; l <= s->L; l++) {
        size_t nin = s->n[l - 1], nout = s->n[l], pw = s->pw[l];
        const real *W = params + s->woff[l], *b = params + s->boff[l];
        real *Wt = p + s->iw[l], *bi = p + s->ib[l];
        for (k = 0; k < nin; k++) {
            for (j = 0; j < nout; j++)
                Wt[k * pw + j] = W[j * nin + k];
            for (; j < pw; j++)
                Wt[k * pw + j] = 0.0;
        }
        for (j = 0; j < nout; j++)
            bi[j] = b[j];
        for (; j < pw; j++)
            bi[j] = 0.0;
    }
}

/* The internal layout back to flat parameters. */
static void pybp__from_internal(const pybp__shape *s, const real *p,
                                real *params)
{
    size_t l, j, k;
    for (l = 1; l <= s->L; l++) {
        size_t nin = s->n[l - 1], nout = s->n[l], pw = s->pw[l];
        real *W = params + s->woff[l], *b = params + s->boff[l];
        const real *Wt = p + s->iw[l], *bi = p + s->ib[l];
        for (j = 0; j < nout; j++)
            for (k = 0; k < nin; k++)
                W[j * nin + k] = Wt[k * pw + j];
        for (j = 0; j < nout; j++)
            b[j] = bi[j];
    }
}

/* The gradient: the sums S (internal layout) over count examples, each
 * divided by count, in the flat layout. */
static void pybp__mean_out(const pybp__shape *s, const real *S,
                           real *grad, size_t count)
{
    real m = (real)count;
    size_t l, j, k;
    for (l = 1; l <= s->L; l++) {
        size_t nin = s->n[l - 1], nout = s->n[l], pw = s->pw[l];
        real *W = grad + s->woff[l], *b = grad + s->boff[l];
        const real *Wt = S + s->iw[l], *bi = S + s->ib[l];
        for (j = 0; j < nout; j++)
            for (k = 0; k < nin; k++)
                W[j * nin + k] = Wt[k * pw + j] / m;
        for (j = 0; j < nout; j++)
            b[j] = bi[j] / m;
    }
}

/* (real)b / divisor for every byte b: the same bits as dividing each
 * input, computed once per call. */
static void pybp__fill_table(const pybp_data *d, real *table)
{
    int b;
    if (d->x_u8 == NULL)
        return;
    for (b = 0; b < PYBP__TABLE; b++)
        table[b] = (real)((double)b / d->x_divisor);
}

/*
 * The targets of examples idx(first + x), x = x0 .. x1-1 (idx(i) = perm[i]
 * or i), into row x of y; a label becomes its one-hot vector.  (Inputs are
 * read in place, see pybp__input.)
 */
static void pybp__load_targets(const pybp__shape *s, const pybp_data *d,
                               const size_t *perm, size_t first, size_t x0,
                               size_t x1, real *y)
{
    size_t nL = s->n[s->L], x, j, i;
    for (x = x0; x < x1; x++) {
        i = perm != NULL ? perm[first + x] : first + x;
        if (d->y != NULL) {
            for (j = 0; j < nL; j++)
                y[x * nL + j] = (real)d->y[i * nL + j];
        } else {
            for (j = 0; j < nL; j++)
                y[x * nL + j] = 0.0;
            y[x * nL + (size_t)d->labels[i]] = 1.0;
        }
    }
}

/* The first layer's inputs for the batch whose example x is idx(first + x):
 * the data set's own rows, reals or bytes. */
static pybp__src pybp__input(const pybp__shape *s, const pybp_data *d,
                             const real *table, const size_t *perm,
                             size_t first)
{
    pybp__src in;
    memset(&in, 0, sizeof in);
    in.a = PYBP__X(d);
    in.u8 = d->x_u8;
    in.table = d->x_u8 != NULL ? table : NULL;
    in.idx = perm != NULL ? perm + first : NULL;
    in.first = perm != NULL ? 0 : first;
    in.pitch = s->n[0];
    return in;
}

/* Rows a^l of a batch (pitch pw_l), as the inputs of layer l + 1. */
static pybp__src pybp__rows(const real *a, size_t pitch)
{
    pybp__src in;
    memset(&in, 0, sizeof in);
    in.a = a;
    in.pitch = pitch;
    return in;
}

/* ------------------------------------------------------------------------ */
/* Activations, derivatives, cost                                           */

/* softmax of one example's n values: the shift is the first largest z; the
 * sum of the exponentials runs in ascending j. */
static real pybp__softmax_top(const real *v, size_t n)
{
    real top = v[0];
    size_t j;
    for (j = 1; j < n; j++)
        if (v[j] > top)
            top = v[j];
    return top;
}

static void pybp__softmax(real *v, size_t n)
{
    real top = pybp__softmax_top(v, n), sum = 0.0;
    size_t j;
    for (j = 0; j < n; j++)
        v[j] = PYBP__EXP(v[j] - top);
    for (j = 0; j < n; j++)
        sum += v[j];
    for (j = 0; j < n; j++)
        v[j] = v[j] / sum;
}

/* top and the sum of the exponentials exactly as pybp__softmax computes
 * them, from z (for the log-likelihood cost). */
static real pybp__softmax_sum(const real *z, size_t n, real *top)
{
    real sum = 0.0, e;
    size_t j;
    *top = pybp__softmax_top(z, n);
    for (j = 0; j < n; j++) {
        e = PYBP__EXP(z[j] - *top);
        sum += e;
    }
    return sum;
}

/* a = f(z) in place, for the n outputs of one example. */
static void pybp__activate(const pybp__kern *K, int act, real *z, size_t n)
{
    size_t j;
    switch (act) {
    case PYBP_SIGMOID:
        K->sigmoid(z, n);
        break;
    case PYBP_TANH:
        for (j = 0; j < n; j++)
            z[j] = PYBP__TANH(z[j]);
        break;
    case PYBP_RELU:
        for (j = 0; j < n; j++)
            z[j] = z[j] > 0.0 ? z[j] : 0.0;
        break;
    case PYBP_SOFTMAX:
        pybp__softmax(z, n);
        break;
    default: /* identity */
        break;
    }
}

/* a^l = f_l(z^l) in place for example x of the set a; for the output
 * layer z^L is first copied to a[L + 1] (the costs need it). */
static void pybp__activate_layer(const pybp__shape *s, real *const *a,
                                 size_t l, size_t x)
{
    real *z = a[l] + x * s->pw[l];
    if (l == s->L)
        memcpy(a[l + 1] + x * s->pw[l], z, s->n[l] * sizeof(real));
    pybp__activate(pybp__kernels(s->isa), s->act[l], z, s->n[l]);
}

/*
 * d[i] = d[i] * f'(z_i), with f' computed from a = f(z) as the reference
 * does.  relu's f'(z) = (z > 0) equals (a > 0), so z need not be kept.  The
 * product is always taken (never a branch), so the sign of a zero delta and
 * NaN propagation match the reference.  Never called for softmax.
 */
static void pybp__times_derivative(int act, const real *a, real *d,
                                   size_t n)
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
static real pybp__ln(real x)
{
    if (x > 0.0)
        return PYBP__LOG(x);
    if (x == 0.0)
        return -INFINITY;
    return NAN;
}

/*
 * C_x of one example: the output layer's n values z, its outputs a = f(z)
 * and the targets y, as the reference's cost_x: cross-entropy and
 * log-likelihood from z, so that they stay finite and accurate where a
 * rounds to 0 or 1.
 */
static real pybp__cost_x(int cost, const real *z, const real *a,
                         const real *y, size_t n)
{
    real s = 0.0, diff, c, m, t, top, lse;
    size_t j;
    switch (cost) {
    case PYBP_QUADRATIC:
        for (j = 0; j < n; j++) {
            diff = a[j] - y[j];
            s += diff * diff;
        }
        return 0.5 * s;
    case PYBP_CROSS_ENTROPY:
        /* (1 - y) max(z, 0) + y max(-z, 0) + log1p(e^-|z|), one product */
        for (j = 0; j < n; j++) {
            if (z[j] >= 0.0) {
                c = 1.0 - y[j];
                m = z[j];
            } else {
                c = y[j];
                m = -z[j];
            }
            t = PYBP__LOG1P(PYBP__EXP(-m));
            if (c != 0.0)
                t = c * m + t;
            s += t;
        }
        return s;
    default: /* log-likelihood: ln a_j = (z_j - top) - ln sum */
        lse = pybp__ln(pybp__softmax_sum(z, n, &top));
        for (j = 0; j < n; j++)
            if (y[j] != 0.0)
                s += y[j] * ((z[j] - top) - lse);
        return -s;
    }
}

/* First index of the largest of n values. */
static size_t pybp__argmax(const real *v, size_t n)
{
    size_t j, best = 0;
    for (j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* The class example i stands for: its label, or the first largest entry of
 * its target row (float64, whatever the element type). */
static size_t pybp__target_class(const pybp_data *d, size_t i, size_t n)
{
    const double *v;
    size_t j, best = 0;
    if (d->labels != NULL)
        return (size_t)d->labels[i];
    v = d->y + i * n;
    for (j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* ------------------------------------------------------------------------ */
/* The equations                                                            */

/* Vectors of vw elements covering n outputs. */
static size_t pybp__nvec(size_t n, size_t vw)
{
    return (n + vw - 1) / vw;
}

/* Layer l's inputs: the batch's own for l = 1, else the rows a^(l-1). */
static pybp__src pybp__layer_in(const pybp__shape *s, real *const *a,
                                const pybp__src *in, size_t l)
{
    return l == 1 ? *in : pybp__rows(a[l - 1], s->pw[l - 1]);
}

/*
 * Feedforward for examples x0 .. x1-1 of a batch whose inputs are `in`,
 * layers l0 .. L: z^l = W^l a^(l-1) + b^l (the kernel), then a^l = f_l(z^l)
 * in place.
 */
static void pybp__forward_from(const pybp__shape *s, const pybp__kern *K,
                               const real *p, real *const *a,
                               const pybp__src *in, size_t l0, size_t x0,
                               size_t x1)
{
    size_t l, x;
    for (l = l0; l <= s->L; l++) {
        pybp__src src = pybp__layer_in(s, a, in, l);
        /* z^l = W^l a^(l-1) + b^l */
        K->forward(p + s->iw[l], s->pw[l], p + s->ib[l], s->n[l - 1],
                   pybp__nvec(s->n[l], K->vw), &src, a[l], s->pw[l], x0, x1);
        /* a^l = f_l(z^l), z^L kept */
        for (x = x0; x < x1; x++)
            pybp__activate_layer(s, a, l, x);
    }
}

/* The whole forward pass, layers 1 .. L. */
static void pybp__feedforward(const pybp__shape *s, const pybp__kern *K,
                              const real *p, real *const *a,
                              const pybp__src *in, size_t x0, size_t x1)
{
    pybp__forward_from(s, K, p, a, in, 1, x0, x1);
}

/* C_x of examples x0 .. x1-1, from the forward pass (activations a and
 * z^L in a[L + 1]), into cost[x]. */
static void pybp__costs(const pybp__shape *s, const pybp__work *w,
                        real *const *a, size_t x0, size_t x1)
{
    size_t x, nL = s->n[s->L], pw = s->pw[s->L];
    for (x = x0; x < x1; x++)
        w->cost[x] = pybp__cost_x(s->cost, a[s->L + 1] + x * pw,
                                  a[s->L] + x * pw, w->y + x * nL, nL);
}

/* Zeroes the padding of a delta row, so that padded lanes (which the vector
 * loops carry along) stay finite and defined. */
static void pybp__zero_pad(real *d, size_t n, size_t pw)
{
    for (; n < pw; n++)
        d[n] = 0.0;
}

/* BP1 for one example: delta^L = (a^L - y) (.) f_L'(z^L) for the quadratic
 * cost; a^L - y for cross-entropy with sigmoid and log-likelihood with
 * softmax. */
static void pybp__delta(const pybp__shape *s, const real *a,
                        const real *y, real *d)
{
    size_t j, n = s->n[s->L];
    for (j = 0; j < n; j++)
        d[j] = a[j] - y[j];
    if (s->cost == PYBP_QUADRATIC)
        pybp__times_derivative(s->act[s->L], a, d, n);
    pybp__zero_pad(d, n, s->pw[s->L]);
}

/*
 * Where layer l's deltas of a batch of m are also kept panel by panel for
 * BP4 (pybp__panel()), or NULL when BP4 reads the rows themselves: when a
 * row is wider than a panel, in the next batch's activations a'^l (the
 * same size as delta^l), which only the fused update uses, and only for
 * batches of at most K->fuse_max.
 */
static real *pybp__packed(const pybp__shape *s, const pybp__kern *K,
                          const pybp__work *w, size_t l, size_t m)
{
    if (m <= K->fuse_max || w->an[l] == NULL
        || pybp__nvec(s->n[l], K->vw) <= pybp__panel(m, K->vw))
        return NULL;
    return w->an[l];
}

/* Row x of delta^l (d) into its place in every panel of dst (batch of m):
 * panel p0 .. p0+pv-1 (vectors) holds m rows of its pv vectors from
 * element p0 vw m on. */
static void pybp__pack(real *dst, const real *d, size_t nvec, size_t vw,
                       size_t m, size_t x)
{
    size_t p0, pv = pybp__panel(m, vw), w;
    for (p0 = 0; p0 < nvec; p0 += pv) {
        w = nvec - p0 < pv ? nvec - p0 : pv;
        memcpy(dst + p0 * vw * m + x * w * vw, d + p0 * vw,
               w * vw * sizeof(real));
    }
}

/*
 * BP1 and BP2 for examples x0 .. x1-1 of a batch of m, forward pass done:
 * every delta^l (and its panels, pybp__packed()),
 * as the reference's backward() computes them for one example.
 * BP2: delta^(l-1)_k = (sum_j W^l[j][k] delta^l_j, j ascending) (.) f'_k;
 * the kernel computes the sums of all the examples at once (lanes are
 * examples), the derivative is applied here.
 */
static void pybp__backward(const pybp__shape *s, const pybp__kern *K,
                           const real *p, const pybp__work *w,
                           real *const *a, size_t x0, size_t x1, size_t m)
{
    size_t l, x, nL = s->n[s->L];
    real *pk = pybp__packed(s, K, w, s->L, m);
    /* BP1: delta^L */
    for (x = x0; x < x1; x++) {
        real *d = w->d[s->L] + x * s->pw[s->L];
        pybp__delta(s, a[s->L] + x * s->pw[s->L], w->y + x * nL, d);
        if (pk != NULL)
            pybp__pack(pk, d, pybp__nvec(nL, K->vw), K->vw, m, x);
    }
    /* BP2: delta^(l-1) from delta^l, l = L .. 2 */
    for (l = s->L; l >= 2; l--) {
        size_t nin = s->n[l - 1], wp = s->pw[l], pn = s->pw[l - 1];
        /* (W^l)^T delta^l */
        K->bp2(p + s->iw[l], wp, nin, s->n[l], w->d[l] + x0 * wp, wp,
               w->d[l - 1] + x0 * pn, pn, x1 - x0);
        pk = pybp__packed(s, K, w, l - 1, m);
        for (x = x0; x < x1; x++) {
            real *dn = w->d[l - 1] + x * pn;
            /* (.) f_(l-1)'(z^(l-1)) */
            pybp__times_derivative(s->act[l - 1], a[l - 1] + x * pn, dn,
                                   nin);
            pybp__zero_pad(dn, nin, pn);
            if (pk != NULL)
                pybp__pack(pk, dn, pybp__nvec(nin, K->vw), K->vw, m, x);
        }
    }
}

/*
 * BP3 and BP4 over the m examples of the chunk, every layer, into the sums
 * S_W = s0 + sum_x delta^l (a^(l-1))^T and S_b = s0 + sum_x delta^l in
 * w->S, s0 being 0.0 or (how has PYBP_K_FROM) the sums already there: a
 * gradient's earlier chunks, or a mini-batch's earlier parts.  With
 * PYBP_K_TO_W the SGD step on p follows, W <- decay W - step S_W and
 * b <- b - step S_b (pybp__rates()).
 */
static void pybp__bp34(const pybp__shape *s, const pybp__kern *K, real *p,
                       const pybp__work *w, real *const *a,
                       const pybp__src *in, size_t m, real decay,
                       real step, int how)
{
    size_t l;
    for (l = 1; l <= s->L; l++) {
        size_t nvec = pybp__nvec(s->n[l], K->vw);
        pybp__src src = pybp__layer_in(s, a, in, l);
        /* BP4: dC_x/dW^l = delta^l (a^(l-1))^T, every row of W^l */
        K->bp4(p + s->iw[l], w->S + s->iw[l], s->pw[l], nvec, &src,
               w->d[l], s->pw[l], pybp__packed(s, K, w, l, m), m, 0,
               s->n[l - 1], decay, step, how);
        /* BP3: dC_x/db^l = delta^l */
        K->bp3(p + s->ib[l], w->S + s->ib[l], nvec, w->d[l], s->pw[l], m,
               step, how);
    }
}

/* ------------------------------------------------------------------------ */
/* SGD over mini-batches, on one or more threads                            */

/* Everything one sgd_epoch call shares with its worker threads. */
typedef struct pybp__epoch {
    const pybp__shape *s;
    const pybp__kern *K;
    const pybp_data *data;
    const size_t *perm;
    size_t nperm, mbs;
    real decay, step;
    real *p;                          /* internal parameters */
    const pybp__work *w;
    int want_cost;
    double total;
} pybp__epoch;

/*
 * Starts the batch of c examples at `first`: loads the targets of its
 * examples x0 .. x1-1, asks the cache for the inputs of the same share of
 * the next batch, and returns the batch's first-layer inputs (read in
 * place).
 */
static pybp__src pybp__start_batch(const pybp__epoch *e, size_t first,
                                   size_t c, size_t x0, size_t x1)
{
    pybp__load_targets(e->s, e->data, e->perm, first, x0, x1, e->w->y);
    if (e->perm != NULL && first + c < e->nperm) {
        size_t cn = pybp__min(c, e->nperm - first - c);
        pybp__src next = pybp__input(e->s, e->data, NULL, e->perm,
                                     first + c);
        pybp__prefetch_rows(&next, cn * x0 / c, cn * x1 / c, e->s->n[0]);
    }
    return pybp__input(e->s, e->data, e->w->table, e->perm, first);
}

/* The epoch's running cost gets each example's C_x in batch order. */
static void pybp__add_costs(pybp__epoch *e, size_t c)
{
    size_t x;
    if (e->want_cost)
        for (x = 0; x < c; x++)
            e->total += e->w->cost[x];
}

/*
 * The SGD update of this batch (c examples, activations a, inputs in, deltas
 * done) fused with the next batch's feedforward (cn examples, activations
 * an, inputs inn), layer by layer: b^l is updated first, then each row of
 * W^l is updated and at once used for the next batch's z^l; a^l = f(z^l).
 * The big weight matrices thus go through the cache once per batch instead
 * of twice, which is what limits small mini-batches.
 */
static void pybp__update_forward(const pybp__epoch *e, real *const *a,
                                 const pybp__src *in, real *const *an,
                                 const pybp__src *inn, size_t c, size_t cn)
{
    const pybp__shape *s = e->s;
    const pybp__kern *K = e->K;
    real *p = e->p;
    size_t l, x;
    for (l = 1; l <= s->L; l++) {
        size_t nvec = pybp__nvec(s->n[l], K->vw);
        pybp__src src = pybp__layer_in(s, a, in, l);
        pybp__src next = pybp__layer_in(s, an, inn, l);
        /* BP3 and the step on b^l */
        K->bp3(p + s->ib[l], NULL, nvec, e->w->d[l], s->pw[l], c, e->step,
               PYBP_K_TO_W);
        /* BP4 and the step on W^l; the next batch's z^l = W^l a^(l-1) + b^l */
        K->update_forward(p + s->iw[l], s->pw[l], s->n[l - 1], nvec, &src,
                          e->w->d[l], s->pw[l], c, e->decay, e->step, &next,
                          p + s->ib[l], an[l], s->pw[l], cn);
        /* the next batch's a^l = f_l(z^l), z^L kept */
        for (x = 0; x < cn; x++)
            pybp__activate_layer(s, an, l, x);
    }
}

/*
 * A large mini-batch goes in np parts of about PYBP__PART examples per
 * thread (pybp__part_start()): forward and
 * backward passes of a part, then its BP3 and BP4 terms on the sums in
 * w->S, so that a part's activations and deltas are still in cache when
 * BP4 reads them (a whole batch's outgrow L2); the last part ends with the
 * step.  Each sum takes its terms in the order of the examples, so the
 * bits are those of one pass over the batch.  The number of parts of a
 * batch of c on `threads` threads:
 */
static size_t pybp__parts(size_t c, size_t threads)
{
    size_t per = PYBP__PART * threads;
    return c <= per * 3 / 2 ? 1 : (c + per / 2) / per;
}

/* The first example of part i of np of a batch of c (i = np: c): the
 * first c % np parts have one example more (no product c i, which could
 * overflow). */
static size_t pybp__part_start(size_t c, size_t np, size_t i)
{
    return i * (c / np) + pybp__min(i, c % np);
}

/* BP3 and BP4's mode for part i of np: the sums go on from the earlier
 * parts', and the last part takes the step. */
static int pybp__part_how(size_t i, size_t np)
{
    return (i > 0 ? PYBP_K_FROM : 0) | (i + 1 == np ? PYBP_K_TO_W : 0);
}

/*
 * Mini-batches of e->mbs examples (the last may be shorter) on the calling
 * thread: forward pass, costs, BP1 and BP2 for a batch, then its update
 * fused with the next batch's forward pass; the activation sets of the two
 * batches alternate.
 */
static void pybp__epoch_single(pybp__epoch *e)
{
    const pybp__shape *s = e->s;
    const pybp__work *w = e->w;
    real *const *a = w->a, *const *an = w->an, *const *t;
    pybp__src in, inn;
    size_t first, c, cn, x0, q, np, i;

    if (pybp__parts(e->mbs, 1) > 1) {
        /* Large mini-batches part by part (pybp__parts()) */
        for (first = 0; first < e->nperm; first += c) {
            c = pybp__min(e->mbs, e->nperm - first);
            np = pybp__parts(c, 1);
            for (i = 0; i < np; i++) {
                x0 = pybp__part_start(c, np, i);
                q = pybp__part_start(c, np, i + 1) - x0;
                in = pybp__start_batch(e, first + x0, q, 0, q);
                pybp__feedforward(s, e->K, e->p, a, &in, 0, q);
                if (e->want_cost)
                    pybp__costs(s, w, a, 0, q);
                pybp__backward(s, e->K, e->p, w, a, 0, q, q);
                pybp__add_costs(e, q);
                pybp__bp34(s, e->K, e->p, w, a, &in, q, e->decay, e->step,
                           pybp__part_how(i, np));
            }
        }
        return;
    }
    c = pybp__min(e->mbs, e->nperm);
    in = pybp__start_batch(e, 0, c, 0, c);
    pybp__feedforward(s, e->K, e->p, a, &in, 0, c);
    for (first = 0;; first += c, c = cn) {
        if (e->want_cost)
            pybp__costs(s, w, a, 0, c);          /* C_x, before the update */
        pybp__backward(s, e->K, e->p, w, a, 0, c, c);  /* BP1, BP2 */
        pybp__add_costs(e, c);
        if (first + c >= e->nperm) {   /* BP3, BP4, update of the last */
            pybp__bp34(s, e->K, e->p, w, a, &in, c, e->decay, e->step,
                       PYBP_K_TO_W);
            return;
        }
        cn = pybp__min(e->mbs, e->nperm - first - c);
        if (c > e->K->fuse_max) {      /* BP3, BP4, update; feedforward */
            pybp__bp34(s, e->K, e->p, w, a, &in, c, e->decay, e->step,
                       PYBP_K_TO_W);
            in = pybp__start_batch(e, first + c, cn, 0, cn);
            pybp__feedforward(s, e->K, e->p, a, &in, 0, cn);
            continue;
        }
        inn = pybp__start_batch(e, first + c, cn, 0, cn);
        pybp__update_forward(e, a, &in, an, &inn, c, cn);
        t = a;
        a = an;
        an = t;
        in = inn;
    }
}

#include "pybp_threads.h"   /* worker threads: pybp__epoch_threads() */

/* ------------------------------------------------------------------------ */
/* Entry points                                                             */

/* Validated pieces every data entry point sets up; returns the caller's
 * floating-point mode, for pybp__fp_leave at the end of the call. */
static pybp__fpmode pybp__setup(const pybp__shape *s, const pybp_data *data,
                                const real *params, real *work, size_t nwork,
                                int backprop, pybp__work *w)
{
    pybp__fpmode fp = pybp__fp_enter();
    pybp__carve(s, work, nwork, backprop, w);
    pybp__to_internal(s, params, w->p);
    pybp__fill_table(data, w->table);
    return fp;
}

/* ------------------------------------------------------------------------ */
/* Feedforward straight from the flat layout (a few examples)              */

/*
 * Up to this many examples, feedforward reads the weights where the caller
 * keeps them (K->forward_direct, rows W^l[j] transposed in registers)
 * instead of first copying all parameters into the internal layout: for
 * one example the copy alone took longer than the arithmetic.  Above it the
 * copy is shared by enough examples to pay for itself.
 */
#define PYBP__DIRECT_MAX 4

/* The widest padded layer l >= 1. */
static size_t pybp__widest(const pybp__shape *s)
{
    size_t l, w = 0;
    for (l = 1; l <= s->L; l++)
        if (s->pw[l] > w)
            w = s->pw[l];
    return w;
}

/* Workspace of the direct path for m examples: alignment slack and two sets
 * of m rows of the widest layer (one layer's a, the next one's z). */
static int pybp__direct_ws(const pybp__shape *s, size_t m, size_t *r)
{
    size_t t;
    if (!pybp__mul(pybp__widest(s), m, &t) || !pybp__mul(t, 2, &t)
        || !pybp__add(t, PYBP__SLACK, r))
        return PYBP_EOVERFLOW;
    return PYBP_OK;
}

/*
 * Feedforward of m <= PYBP__DIRECT_MAX examples x (rows of n_0 reals) from
 * the flat parameters, a^L into out (m rows of n_L), written only on
 * success; work holds pybp__direct_ws(s, m) elements.
 *
 * Finiteness is checked on the z's: every parameter and input takes part in
 * some z (n_l >= 1), and a NaN or infinity stays one through products and
 * sums, so when every z is finite so are they.  Only when some z is not
 * (or finite values overflowed) do the full scans run: the inputs when
 * check_x (PYBP_EVALUE), then the parameters (PYBP_EPARAMS).
 */
static int pybp__direct(const pybp__shape *s, const pybp__kern *K,
                        const real *params, const real *x, size_t m,
                        int check_x, real *work, real *out)
{
    size_t l, i, j, n, wp = pybp__widest(s), ip = s->n[0], skip;
    const real *in = x, *b;
    real *buf[2], *z = NULL, *zi;
    int finite = 1, st;
    skip = (size_t)((64 - (uintptr_t)work % 64) % 64) / sizeof(real);
    if (skip > PYBP__SLACK)
        skip = 0;
    buf[0] = work + skip;
    buf[1] = buf[0] + m * wp;
    for (l = 1; l <= s->L; l++) {
        n = s->n[l];
        b = params + s->boff[l];
        z = buf[(l - 1) & 1];
        /* z^l = W^l a^(l-1) + b^l: the weighted sums, then the bias */
        K->forward_direct(params + s->woff[l], s->n[l - 1], n, in, ip, m, z,
                          wp);
        for (i = 0; i < m; i++) {
            zi = z + i * wp;
            for (j = 0; j < n; j++)
                zi[j] = zi[j] + b[j];
            finite &= pybp__check_params(zi, n) == PYBP_OK;
            /* a^l = f_l(z^l) */
            pybp__activate(K, s->act[l], zi, n);
        }
        in = z;
        ip = wp;
    }
    if (!finite) {
        if (check_x && pybp__check_params(x, m * s->n[0]) != PYBP_OK)
            return PYBP_EVALUE;
        st = pybp__check_params(params, s->P);
        if (st != PYBP_OK)
            return st;
    }
    for (i = 0; i < m; i++)
        memcpy(out + i * s->n[s->L], z + i * wp, s->n[s->L] * sizeof(real));
    return PYBP_OK;
}

/* Feedforward of all of data (checked) through the internal layout, in
 * chunks of as many examples as the workspace holds. */
static int pybp__forward_chunks(const pybp__shape *s, const pybp__kern *K,
                                const pybp_data *data, const real *params,
                                real *out, real *work, size_t nwork)
{
    pybp__fpmode fp;
    pybp__work w;
    pybp__src in;
    size_t first, c, x, nL = s->n[s->L];

    fp = pybp__setup(s, data, params, work, nwork, 0, &w);
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        in = pybp__input(s, data, w.table, NULL, first);
        pybp__feedforward(s, K, w.p, w.a, &in, 0, c);
        for (x = 0; x < c; x++)
            memcpy(out + (first + x) * nL, w.a[s->L] + x * s->pw[s->L],
                   nL * sizeof(real));
    }
    pybp__fp_leave(fp);
    return PYBP_OK;
}

/* defines pybp_feedforward and pybp_feedforward_f32 */
int PYBP__API(feedforward)(const pybp_net *net, const real *params,
                           size_t nparams, const pybp_data *data, real *out,
                           size_t nout, real *work, size_t nwork)
{
    pybp__shape s;
    pybp__fpmode fp;
    const pybp__kern *K;
    size_t need;
    int st;

    if (params == NULL || data == NULL || out == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_shape(net, nparams, data, 0, nwork, &s);
    if (st != PYBP_OK)
        return st;
    if (nout != data->count * s.n[s.L]) {
        st = pybp__check_params(params, nparams);  /* the first error */
        return st != PYBP_OK ? st : PYBP_ELENGTH;
    }

    K = pybp__kernels(s.isa);
    if (data->count <= PYBP__DIRECT_MAX && PYBP__X(data) != NULL
        && pybp__direct_ws(&s, data->count, &need) == PYBP_OK
        && nwork >= need) {
        fp = pybp__fp_enter();
        st = pybp__direct(&s, K, params, PYBP__X(data), data->count, 0, work,
                          out);
        pybp__fp_leave(fp);
        return st;
    }
    st = pybp__check_params(params, nparams);
    if (st != PYBP_OK)
        return st;
    return pybp__forward_chunks(&s, K, data, params, out, work, nwork);
}

/* defines pybp_infer_workspace_size and pybp_infer_workspace_size_f32 */
int PYBP__API(infer_workspace_size)(const pybp_net *net, size_t count,
                                    size_t *nelems)
{
    pybp__shape s;
    size_t r;
    int st = pybp__size_query(net, count, nelems, &s);
    if (st != PYBP_OK)
        return st;
    if (count <= PYBP__DIRECT_MAX)
        st = pybp__direct_ws(&s, count, &r);
    else if (!pybp__mul(count, s.per_fwd, &r)
             || !pybp__add(s.fixed_fwd, r, &r))
        st = PYBP_EOVERFLOW;
    if (st == PYBP_OK)
        *nelems = r;
    return st;
}

/* defines pybp_infer and pybp_infer_f32 */
int PYBP__API(infer)(const pybp_net *net, const real *params, size_t nparams,
                     const real *x, size_t nx, real *out, size_t nout,
                     real *work, size_t nwork)
{
    pybp__shape s;
    pybp__fpmode fp;
    pybp_data d;
    const pybp__kern *K;
    size_t count, need;
    int st;

    if (params == NULL || x == NULL || out == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_net(net, &s);
    if (st != PYBP_OK)
        return st;
    if (nparams != s.P || nx % s.n[0] != 0)
        return PYBP_ELENGTH;
    count = nx / s.n[0];
    if (count == 0)
        return PYBP_ESIZE;
    if (!pybp__mul(count, s.n[s.L], &need))
        return PYBP_EOVERFLOW;
    if (nout != need)
        return PYBP_ELENGTH;
    st = PYBP__API(infer_workspace_size)(net, pybp__min(count,
                                                        PYBP__DIRECT_MAX + 1),
                                         &need);
    if (st != PYBP_OK)
        return st;
    if (nwork < need)
        return PYBP_EWORKSPACE;

    K = pybp__kernels(s.isa);
    if (count <= PYBP__DIRECT_MAX) {
        fp = pybp__fp_enter();
        st = pybp__direct(&s, K, params, x, count, 1, work, out);
        pybp__fp_leave(fp);
        return st;
    }
    if (pybp__check_params(x, nx) != PYBP_OK)
        return PYBP_EVALUE;
    st = pybp__check_params(params, nparams);
    if (st != PYBP_OK)
        return st;
    memset(&d, 0, sizeof d);
    d.count = count;
    PYBP__X(&d) = x;
    return pybp__forward_chunks(&s, K, &d, params, out, work, nwork);
}

/* defines pybp_cost and pybp_cost_f32 */
int PYBP__API(cost)(const pybp_net *net, const real *params, size_t nparams,
                    const pybp_data *data, double *total,
                    real *work, size_t nwork)
{
    pybp__shape s;
    pybp__fpmode fp;
    pybp__work w;
    pybp__src in;
    const pybp__kern *K;
    size_t first, c, x;
    double t;
    int st;

    if (params == NULL || data == NULL || total == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, params, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st == PYBP_OK)
        st = pybp__check_targets(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    K = pybp__kernels(s.isa);
    t = *total;
    fp = pybp__setup(&s, data, params, work, nwork, 0, &w);
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        pybp__load_targets(&s, data, NULL, first, 0, c, w.y);
        in = pybp__input(&s, data, w.table, NULL, first);
        pybp__feedforward(&s, K, w.p, w.a, &in, 0, c);
        pybp__costs(&s, &w, w.a, 0, c);
        for (x = 0; x < c; x++)
            t += w.cost[x];
    }
    *total = t;
    pybp__fp_leave(fp);
    return PYBP_OK;
}

/* defines pybp_gradient and pybp_gradient_f32 */
int PYBP__API(gradient)(const pybp_net *net, const real *params,
                        size_t nparams, const pybp_data *data, real *grad,
                        size_t ngrad, real *work, size_t nwork)
{
    pybp__shape s;
    pybp__fpmode fp;
    pybp__work w;
    pybp__src in;
    const pybp__kern *K;
    size_t first, c;
    int st;

    if (params == NULL || data == NULL || grad == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, params, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK && ngrad != s.P)
        st = PYBP_ELENGTH;
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st == PYBP_OK)
        st = pybp__check_targets(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    K = pybp__kernels(s.isa);
    fp = pybp__setup(&s, data, params, work, nwork, 1, &w);
    memset(w.S, 0, s.Pi * sizeof(real));    /* all bits zero: +0.0 */
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        pybp__load_targets(&s, data, NULL, first, 0, c, w.y);
        in = pybp__input(&s, data, w.table, NULL, first);
        pybp__feedforward(&s, K, w.p, w.a, &in, 0, c);
        pybp__backward(&s, K, w.p, &w, w.a, 0, c, c);         /* BP1, BP2 */
        pybp__bp34(&s, K, w.p, &w, w.a, &in, c, 0.0, 0.0,   /* BP3, BP4 */
                   PYBP_K_FROM);
    }
    pybp__mean_out(&s, w.S, grad, data->count);
    pybp__fp_leave(fp);
    return PYBP_OK;
}

/* defines pybp_evaluate and pybp_evaluate_f32 */
int PYBP__API(evaluate)(const pybp_net *net, const real *params,
                        size_t nparams, const pybp_data *data,
                        size_t *correct, real *work, size_t nwork)
{
    pybp__shape s;
    pybp__fpmode fp;
    pybp__work w;
    pybp__src in;
    const pybp__kern *K;
    size_t first, c, x, i, nL, target, hits = 0;
    int st;

    if (params == NULL || data == NULL || correct == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, params, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st == PYBP_OK)
        st = pybp__check_targets(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    K = pybp__kernels(s.isa);
    nL = s.n[s.L];
    fp = pybp__setup(&s, data, params, work, nwork, 0, &w);
    for (first = 0; first < data->count; first += c) {
        c = pybp__min(w.cap, data->count - first);
        in = pybp__input(&s, data, w.table, NULL, first);
        pybp__feedforward(&s, K, w.p, w.a, &in, 0, c);
        for (x = 0; x < c; x++) {
            i = first + x;
            target = pybp__target_class(data, i, nL);
            if (pybp__argmax(w.a[s.L] + x * s.pw[s.L], nL) == target)
                hits++;
        }
    }
    *correct = hits;
    pybp__fp_leave(fp);
    return PYBP_OK;
}

/* decay = 1 - eta*lmbda/n and step = eta/m, as the reference computes them. */
static void pybp__rates(double eta, double lmbda, size_t n, size_t m,
                        real *decay, real *step)
{
    *decay = (real)(1.0 - eta * lmbda / (double)n);
    *step = (real)(eta / (double)m);
}

/* defines pybp_update_mini_batch and pybp_update_mini_batch_f32 */
int PYBP__API(update_mini_batch)(const pybp_net *net, real *params,
                                 size_t nparams, const pybp_data *data,
                                 double eta, double lmbda, size_t n,
                                 real *work, size_t nwork)
{
    pybp__shape s;
    pybp__fpmode fp;
    pybp__work w;
    pybp__epoch e;
    size_t need;
    int st;

    if (params == NULL || data == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, params, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK)
        st = pybp__check_sgd_values(eta, lmbda, n);
    if (st == PYBP_OK)
        st = pybp__ws(&s, data->count, &need);
    if (st == PYBP_OK && nwork < need)
        st = PYBP_EWORKSPACE;
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, NULL, data->count);
    if (st == PYBP_OK)
        st = pybp__check_targets(&s, data, NULL, data->count);
    if (st != PYBP_OK)
        return st;

    fp = pybp__setup(&s, data, params, work, nwork, 1, &w);
    memset(&e, 0, sizeof e);
    e.s = &s;
    e.K = pybp__kernels(s.isa);
    e.data = data;
    e.perm = NULL;
    e.nperm = e.mbs = data->count;
    pybp__rates(eta, lmbda, n, data->count, &e.decay, &e.step);
    e.p = w.p;
    e.w = &w;
    pybp__epoch_single(&e);
    pybp__from_internal(&s, w.p, params);
    pybp__fp_leave(fp);
    return PYBP_OK;
}

/* defines pybp_sgd_epoch and pybp_sgd_epoch_f32 */
int PYBP__API(sgd_epoch)(const pybp_net *net, real *params, size_t nparams,
                         const pybp_data *data, const size_t *perm,
                         size_t nperm, size_t mini_batch_size, double eta,
                         double lmbda, size_t n, double *cost_total,
                         real *work, size_t nwork)
{
    pybp__shape s;
    pybp__fpmode fp;
    pybp__work w;
    pybp__epoch e;
    size_t need, i, mbs, last;
    double t = 0.0;
    int st;

    if (params == NULL || data == NULL || perm == NULL || work == NULL)
        return PYBP_ENULL;
    st = pybp__check_common(net, params, nparams, data, 1, nwork, &s);
    if (st == PYBP_OK && (nperm == 0 || mini_batch_size == 0))
        st = PYBP_ESIZE;
    if (st == PYBP_OK)
        st = pybp__check_sgd_values(eta, lmbda, n);
    /* The largest mini-batch must fit; a mini_batch_size above nperm is
     * one batch of nperm. */
    mbs = pybp__min(mini_batch_size, nperm);
    if (st == PYBP_OK)
        st = pybp__ws(&s, mbs, &need);
    if (st == PYBP_OK && nwork < need)
        st = PYBP_EWORKSPACE;
    /* Every index and label before the first update: on error params are
     * untouched. */
    for (i = 0; st == PYBP_OK && i < nperm; i++)
        if (perm[i] >= data->count)
            st = PYBP_EINDEX;
    if (st == PYBP_OK)
        st = pybp__check_labels(&s, data, perm, nperm);
    if (st == PYBP_OK)
        st = pybp__check_targets(&s, data, perm, nperm);
    if (st != PYBP_OK)
        return st;

    if (cost_total != NULL)
        t = *cost_total;
    fp = pybp__setup(&s, data, params, work, nwork, 1, &w);
    memset(&e, 0, sizeof e);
    e.s = &s;
    e.K = pybp__kernels(s.isa);
    e.data = data;
    e.perm = perm;
    e.nperm = nperm;
    e.mbs = mbs;
    e.p = w.p;
    e.w = &w;
    e.want_cost = cost_total != NULL;
    e.total = t;
    /* Every batch but the last has mbs examples; the last may be shorter
     * and gets its own step eta / m. */
    last = nperm % mbs;
    pybp__rates(eta, lmbda, n, mbs, &e.decay, &e.step);
    if (last != 0) {
        /* the full batches, then the short last one */
        e.nperm = nperm - last;
    }
#ifdef PYBP__THREADS
    if (pybp__team_size(&s, (size_t)s.threads, mbs) > 1)
        pybp__epoch_threads(&e, pybp__team_size(&s, (size_t)s.threads, mbs));
    else
#endif
        pybp__epoch_single(&e);
    if (last != 0) {
        e.perm = perm + (nperm - last);
        e.nperm = e.mbs = last;
        pybp__rates(eta, lmbda, n, last, &e.decay, &e.step);
        pybp__epoch_single(&e);
    }
    pybp__from_internal(&s, w.p, params);
    if (cost_total != NULL)
        *cost_total = e.total;
    pybp__fp_leave(fp);
    return PYBP_OK;
}
