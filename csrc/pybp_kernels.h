/*
 * pybp_kernels.h - the hot loops of pybp_impl.h, written once and compiled
 * once per instruction set and element type `real`.  Internal: only
 * pybp_impl.h includes it, once per path,
 * after defining pybp__src (a layer's inputs), pybp__kern (the table of a
 * path's functions, which this file fills in as PYBP_K(kern)), and
 *
 *   PYBP_K(name)   this instance's name for a function (name_avx512, ...)
 *   PYBP_K_ATTR    attributes of every function (e.g. target("avx512f"))
 *   PYBP_K_INLINE  "always inline" where the compiler has it
 *   PYBP_K_VW      elements per vector (64, 32 or 16 bytes' worth), or 1
 *                  for plain scalars
 *   PYBP_K_V       the vector type (PYBP_K_VW reals; real when 1)
 *   PYBP_K_VU      the same type with the element's alignment and
 *                  may_alias, for loads and stores at any element address
 *   PYBP_K_XB      examples per register block in the forward pass (<= 8)
 *   PYBP_K_XB2     the same for blocks of at most 2 vectors of outputs
 *   PYBP_K_SPAN    examples per span of the forward pass when their inputs
 *                  outweigh the weights (a multiple of XB and XB2)
 *   PYBP_K_JB      vectors of outputs per register block (<= 4)
 *   PYBP_K_FJB8    the same in the forward pass (<= 8)
 *   PYBP_K_KB      weight rows per register block in BP4 (<= 8)
 *   PYBP_K_BJB     vectors of columns per register block in BP4 (<= 8)
 *   PYBP_K_FXB, PYBP_K_FJB  examples (<= 4) and vectors (<= 4) per block
 *                  when the update is fused with the next mini-batch's
 *                  forward pass
 *   PYBP_K_BKB, PYBP_K_BXV  rows k and vectors of examples (<= 4) per
 *                  block in BP2 (which takes up to 8 rows when a tile has
 *                  fewer vectors of examples)
 *
 * Data layout (see pybp_impl.h): weights transposed, Wt[k][j] = W[j][k], row k
 * holding the n_out weights out of input k, rows padded to 64 bytes;
 * deltas and activations example-major, one padded row per
 * example.  A layer's inputs are a pybp__src: rows of reals, or, for the
 * first layer of uint8 data, the data set's own bytes read through the
 * byte -> value table (so they are never converted into a separate array).
 * A function gets `nvec`, the vectors covering a row's n_out outputs; lanes
 * past n_out are padding whose values nothing else reads.
 *
 * Exactness: every lane of every vector is one element's own sum, so a
 * vector add is as many independent scalar adds, each its own sum's next
 * term in ascending order.  Products are rounded before the add (no
 * contraction, see pybp_impl.h); `v * s` with a real s splats s without any
 * arithmetic.  Speed comes from keeping a block of independent sums in
 * registers: XB examples x JB vectors in the forward pass, KB rows x JB
 * vectors in BP4, BKB rows x BXV vectors of examples in BP2, enough chains
 * to hide the adder's latency.
 *
 * Each block function is inlined with constant shape and input kind (u8),
 * so the accumulators live in registers and the unused kind disappears; the
 * switch cases for shapes beyond this instance's limits are compiled out.
 */

#define PYBP_K_ZERO ((PYBP_K_V){0})
#define PYBP_K_LD(p) ((PYBP_K_V)(*(const PYBP_K_VU *)(const void *)(p)))
#define PYBP_K_ST(p, v) (*(PYBP_K_VU *)(void *)(p) = (v))

/* Input k of the example whose row is ra (reals) or ru (bytes). */
#define PYBP_K_IN(u8, in, ra, ru, k) \
    ((u8) ? (in)->table[(ru)[k]] : (ra)[k])

/*
 * Skipping zero inputs.  A term w a with a = +0.0 (byte 0) is w * 0.0 = +0.0
 * or -0.0 when w is finite, and adding a zero to a sum that started at
 * +0.0 never changes it: such a sum is never -0.0 (round to nearest gives
 * x + (-x) = +0.0, and +0.0 + -0.0 = +0.0), and s + 0.0 = s otherwise.  So
 * where every other factor is finite, the first layer of byte inputs may
 * leave out the terms of zero bytes, which are most of an image's, and
 * keep the reference's bits.  Where a factor is infinite or NaN, its
 * product with 0.0 is NaN, as in the reference: those blocks take every
 * term.
 */

/* 1 when every element of rows rows of nv vectors (pitch elements apart)
 * is finite: x - x is 0.0 for finite x and NaN for an infinity or a NaN,
 * and a sum of such differences is 0.0 only if each is. */
static PYBP_K_INLINE PYBP_K_ATTR int
PYBP_K(finite)(const real *p, size_t pitch, size_t rows, size_t nv)
{
    PYBP_K_V t = PYBP_K_ZERO, v;
    real lanes[PYBP_K_VW];
    size_t r, j;
    int i;
    for (r = 0; r < rows; r++)
        for (j = 0; j < nv; j++) {
            v = PYBP_K_LD(p + r * pitch + j * PYBP_K_VW);
            t += v - v;
        }
    memcpy(lanes, &t, sizeof lanes);
    for (i = 0; i < PYBP_K_VW; i++)
        if (lanes[i] != 0.0)
            return 0;
    return 1;
}

/* Bit i set when byte k0 + i (k0 + i < k1 <= k0 + 8) of some of the n
 * rows r[] is not 0.  On little-endian machines eight bytes at a time:
 * the high bit of each byte of b | ((b & 0x7f..) + 0x7f..) is set when the
 * byte is not 0 (no carry leaves a byte), and a multiply gathers byte i's
 * bit into bit 56 + i. */
static PYBP_K_INLINE unsigned
PYBP_K(nonzero8)(const unsigned char *const *r, int n, size_t k0,
                 size_t k1)
{
    unsigned bits = 0;
    size_t k;
    int x;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (k1 - k0 == 8) {
        const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fu, hi = 0x8080808080808080u;
        uint64_t o = 0, b;
        for (x = 0; x < n; x++) {
            memcpy(&b, r[x] + k0, 8);
            o |= b;
        }
        o = (o | ((o & lo7) + lo7)) & hi;
        return (unsigned)(((o >> 7) * 0x0102040810204080u) >> 56);
    }
#endif
    for (k = k0; k < k1; k++)
        for (x = 0; x < n; x++)
            if (r[x][k] != 0)
                bits |= 1u << (k - k0);
    return bits;
}

/* The index of the lowest set bit of a nonzero b. */
#if defined(__GNUC__)
#define PYBP_K_CTZ64(b) ((size_t)__builtin_ctzll(b))
#else
static size_t PYBP_K(ctz64)(uint64_t b)
{
    size_t i = 0;
    while (!(b >> i & 1u))
        i++;
    return i;
}
#define PYBP_K_CTZ64(b) PYBP_K(ctz64)(b)
#endif

/*
 * One register block of the feedforward equation z = W a + b:
 *   z[x][j] = (0.0 + Wt[0][j] a[x][0] + ... + Wt[nin-1][j] a[x][nin-1]) + b[j]
 * for the xb examples x0 .. x0+xb-1 of `in` and jb vectors of outputs.  W,
 * b and z point at the block's first weight column, bias and output.
 */
/* defines pybp__forward_block_portable, pybp__forward_block_avx2,
 * pybp__forward_block_avx512 */
static PYBP_K_INLINE PYBP_K_ATTR void
PYBP_K(forward_block)(const real *W, size_t wp, const real *b,
                      size_t nin, const pybp__src *in, size_t x0, real *z,
                      size_t zp, int skip, const int u8, const int xb,
                      const int jb)
{
    PYBP_K_V acc[8][8], w[8];
    const real *ra[8];
    const unsigned char *ru[8];
    size_t k, c0;
    int x, j;
    for (x = 0; x < xb; x++) {
        ra[x] = u8 ? NULL : pybp__in_row(in, x0 + (size_t)x);
        ru[x] = u8 ? pybp__in_u8row(in, x0 + (size_t)x) : NULL;
        for (j = 0; j < jb; j++)
            acc[x][j] = PYBP_K_ZERO;
    }
#define PYBP_K_FWD_TERM(k)                                                  \
    do {                                                                    \
        for (j = 0; j < jb; j++)                                            \
            w[j] = PYBP_K_LD(W + (k) * wp + (size_t)j * PYBP_K_VW);         \
        for (x = 0; x < xb; x++) {                                          \
            real ak = PYBP_K_IN(u8, in, ra[x], ru[x], (k));                 \
            for (j = 0; j < jb; j++)                                        \
                acc[x][j] += w[j] * ak;                                     \
        }                                                                   \
    } while (0)
    if (u8 && skip) {
        /* the inputs k whose byte is 0 in all xb examples left out (W
         * finite, see PYBP_K(finite)), found 8 at a time */
        for (c0 = 0; c0 < nin; c0 += 8) {
            unsigned bits = PYBP_K(nonzero8)(ru, xb, c0,
                                              nin - c0 < 8 ? nin : c0 + 8);
            while (bits != 0) {
                k = c0 + PYBP_K_CTZ64(bits);
                bits &= bits - 1;
                PYBP_K_FWD_TERM(k);
            }
        }
    } else {
        for (k = 0; k < nin; k++)
            PYBP_K_FWD_TERM(k);
    }
#undef PYBP_K_FWD_TERM
    for (x = 0; x < xb; x++)
        for (j = 0; j < jb; j++)
            PYBP_K_ST(z + (size_t)x * zp + (size_t)j * PYBP_K_VW,
                      acc[x][j] + PYBP_K_LD(b + (size_t)j * PYBP_K_VW));
}

/* Examples per forward block of J vectors: XB2 up to 2 vectors, else XB,
 * fewer for blocks wider than 4 vectors (about XB * 4 accumulators). */
#define PYBP_K_FWD_XM(J) ((J) <= 2 ? PYBP_K_XB2 \
                          : (J) <= 4 ? PYBP_K_XB : PYBP_K_XB * 4 / (J))
#define PYBP_K_FWD_CASE(U, X, J)                                            \
    case ((X) - 1) * 8 + (J) - 1:                                           \
        if ((X) <= PYBP_K_FWD_XM(J) && (J) <= PYBP_K_FJB8)                  \
            PYBP_K(forward_block)(W + j0 * PYBP_K_VW, wp,                   \
                                  b + j0 * PYBP_K_VW, nin, in, x,           \
                                  z + x * zp + j0 * PYBP_K_VW, zp, skip,    \
                                  U, X, J);                                 \
        break;
#define PYBP_K_FWD_CASES(U, X) PYBP_K_FWD_CASE(U, X, 1)                     \
    PYBP_K_FWD_CASE(U, X, 2) PYBP_K_FWD_CASE(U, X, 3)                       \
    PYBP_K_FWD_CASE(U, X, 4) PYBP_K_FWD_CASE(U, X, 5)                       \
    PYBP_K_FWD_CASE(U, X, 6) PYBP_K_FWD_CASE(U, X, 7)                       \
    PYBP_K_FWD_CASE(U, X, 8)
#define PYBP_K_FWD_SWITCH(U)                                                \
    switch ((xb - 1) * 8 + jb - 1) {                                        \
    PYBP_K_FWD_CASES(U, 1) PYBP_K_FWD_CASES(U, 2) PYBP_K_FWD_CASES(U, 3)    \
    PYBP_K_FWD_CASES(U, 4) PYBP_K_FWD_CASES(U, 5) PYBP_K_FWD_CASES(U, 6)    \
    PYBP_K_FWD_CASES(U, 7) PYBP_K_FWD_CASES(U, 8)                           \
    default:                                                                \
        break;                                                              \
    }

/*
 * Feedforward z = W a + b for examples x0 .. x1-1 of `in`: z[x][j] for the
 * nvec vectors of each output row.  Blocks of XB examples by JB vectors;
 * each block streams the whole of Wt once.
 */
/* defines pybp__forward_portable, pybp__forward_avx2, pybp__forward_avx512 */
static PYBP_K_ATTR void
PYBP_K(forward)(const real *W, size_t wp, const real *b, size_t nin,
                size_t nvec, const pybp__src *in, real *z, size_t zp,
                size_t x0, size_t x1)
{
    size_t j0, jb, x, xb, xm, s0, s1, span;
    /* Every register block streams its column block of Wt and its
     * examples' inputs.  When the inputs of x1 - x0 examples outweigh Wt,
     * spans of a few examples go through every column block while their
     * inputs stay in L1; otherwise each column block (in L2) goes through
     * all the examples. */
    int all = 1, skip = 1;
    span = (x1 - x0) * (in->u8 != NULL ? 1 : sizeof(real))
           > nvec * PYBP_K_VW * sizeof(real) ? PYBP_K_SPAN : x1 - x0;
    /* Byte inputs skip zero chunks where W is finite: checked once here
     * when spans go through all of W, else column block by column block
     * (as each goes into the cache to be used). */
    if (in->u8 != NULL && span < x1 - x0)
        all = PYBP_K(finite)(W, wp, nin, nvec);
    for (s0 = x0; s0 < x1; s0 = s1) {
        s1 = x1 - s0 < span ? x1 : s0 + span;
        /* the next span's rows of a shuffled data set, on their way to
         * the cache while this span computes */
        if (s1 < x1)
            pybp__prefetch_rows(in, s1, x1 - s1 < span ? x1 : s1 + span, nin);
        for (j0 = 0; j0 < nvec; j0 += jb) {
            jb = nvec - j0 < PYBP_K_FJB8 ? nvec - j0 : PYBP_K_FJB8;
            xm = PYBP_K_FWD_XM(jb);
            if (in->u8 != NULL)
                skip = span < x1 - x0 ? all
                       : PYBP_K(finite)(W + j0 * PYBP_K_VW, wp, nin, jb);
            for (x = s0; x < s1; x += xb) {
                xb = s1 - x < xm ? s1 - x : xm;
                /* the first column block asks for rows a few blocks on */
                if (j0 == 0 && span == x1 - x0 && x + 4 * xm < s1)
                    pybp__prefetch_rows(in, x + 4 * xm,
                                        s1 - x - 4 * xm < xb ? s1
                                        : x + 4 * xm + xb, nin);
                if (in->u8 != NULL) {
                    PYBP_K_FWD_SWITCH(1)
                } else {
                    PYBP_K_FWD_SWITCH(0)
                }
            }
        }
    }
}

/*
 * One register block of BP4 over examples of a mini-batch: for kb rows k
 * (from k0) and jb vectors of columns j, the sums
 *   s[k][j] = s0 + d[x][j] a[x][k] + ... (examples x in ascending order)
 * over the n examples x = x0 .. x0+n-1, or xs[0 .. n-1] when listed.  s0
 * is 0.0, or the partial sums stored in S when mode has PYBP_K_FROM (the
 * batch's earlier chunks, or a gradient's earlier examples).  Then with
 * PYBP_K_TO_W the SGD step W[k][j] <- decay W[k][j] - step s[k][j]
 * (docs/math.md's update, s the batch's sum), else s is stored in S.
 * W, S and d point at the block's first row and column.
 */
/* defines pybp__bp4_block_portable, pybp__bp4_block_avx2,
 * pybp__bp4_block_avx512 */
static PYBP_K_INLINE PYBP_K_ATTR void
PYBP_K(bp4_block)(real *W, real *S, size_t wp, const pybp__src *in,
                  size_t k0, const real *d, size_t dp, size_t x0, size_t n,
                  const uint32_t *xs, real decay, real step, int mode,
                  const int u8, const int listed, const int kb,
                  const int jb)
{
    PYBP_K_V s[8][8], dv;
    real ak[8];
    size_t i, x;
    int k, j;
    for (k = 0; k < kb; k++)
        for (j = 0; j < jb; j++)
            s[k][j] = mode & PYBP_K_FROM
                          ? PYBP_K_LD(S + (size_t)k * wp
                                      + (size_t)j * PYBP_K_VW)
                          : PYBP_K_ZERO;
    for (i = 0; i < n; i++) {
        x = listed ? xs[i] : x0 + i;
        {
            const real *ra = u8 ? NULL : pybp__in_row(in, x) + k0;
            const unsigned char *ru = u8 ? pybp__in_u8row(in, x) + k0 : NULL;
            /* one vector of deltas at a time against the kb inputs:
             * kb * jb sums, kb inputs and one vector fit the registers */
            for (k = 0; k < kb; k++)
                ak[k] = PYBP_K_IN(u8, in, ra, ru, k);
            for (j = 0; j < jb; j++) {
                dv = PYBP_K_LD(d + x * dp + (size_t)j * PYBP_K_VW);
                for (k = 0; k < kb; k++)
                    s[k][j] += dv * ak[k];
            }
        }
    }
    for (k = 0; k < kb; k++)
        for (j = 0; j < jb; j++) {
            size_t o = (size_t)k * wp + (size_t)j * PYBP_K_VW;
            if (mode & PYBP_K_TO_W)
                PYBP_K_ST(W + o, decay * PYBP_K_LD(W + o) - step * s[k][j]);
            else
                PYBP_K_ST(S + o, s[k][j]);
        }
}

/* Blocks of KB rows, or of 1 row for the few left at the end (KB >= 2). */
#define PYBP_K_BP4_CALL(MODE, U, LS, K, J)                                  \
    PYBP_K(bp4_block)(W + k * wp + j0 * PYBP_K_VW,                          \
                      S + k * wp + j0 * PYBP_K_VW, wp, in, k,               \
                      dq + (j0 - jq) * PYBP_K_VW, dqp, x0, nx, xs, decay,   \
                      step, MODE, U, LS, K, J)
/* (a one-chunk update, the common case, with its mode known: the block's
 * first and last steps then compile without branches, which small
 * mini-batches feel) */
#define PYBP_K_BP4_CASE(U, LS, K, J)                                        \
    case ((K) > 1) * 8 + (J) - 1:                                           \
        if ((J) <= PYBP_K_BJB) {                                            \
            if (mode == PYBP_K_TO_W)                                        \
                PYBP_K_BP4_CALL(PYBP_K_TO_W, U, LS, K, J);                  \
            else if (mode == PYBP_K_FROM)                                   \
                PYBP_K_BP4_CALL(PYBP_K_FROM, U, LS, K, J);                  \
            else                                                            \
                PYBP_K_BP4_CALL(mode, U, LS, K, J);                         \
        }                                                                   \
        break;
#define PYBP_K_BP4_CASES(U, LS, K) PYBP_K_BP4_CASE(U, LS, K, 1)             \
    PYBP_K_BP4_CASE(U, LS, K, 2) PYBP_K_BP4_CASE(U, LS, K, 3)               \
    PYBP_K_BP4_CASE(U, LS, K, 4) PYBP_K_BP4_CASE(U, LS, K, 5)               \
    PYBP_K_BP4_CASE(U, LS, K, 6) PYBP_K_BP4_CASE(U, LS, K, 7)               \
    PYBP_K_BP4_CASE(U, LS, K, 8)
#define PYBP_K_BP4_SWITCH(U, LS)                                            \
    switch ((kb > 1) * 8 + jb - 1) {                                        \
    PYBP_K_BP4_CASES(U, LS, 1) PYBP_K_BP4_CASES(U, LS, PYBP_K_KB)           \
    default:                                                                \
        break;                                                              \
    }

/*
 * For the blocks of rows from k up to k1 (KB rows each, 1 row each where
 * fewer than KB are left, as BP4 walks them; nq of them): bit x % 64 of
 * bm[q * mw + x / 64] is set when example x < m has a nonzero byte in
 * block q.  One pass over the examples reads each row's bytes once, where
 * a pass per block would fetch each cache line of every row again for each
 * block in it (the rows of a large batch do not stay in L1).
 */
static PYBP_K_INLINE void
PYBP_K(nonzero)(const pybp__src *in, size_t m, size_t k, size_t k1,
                size_t nq, uint64_t *bm, size_t mw)
{
    size_t full = (k1 - k) / PYBP_K_KB, q, x, x0, xe, i;
    uint64_t bit;
    full = full < nq ? full : nq;     /* the blocks of KB rows come first */
    for (x0 = 0; x0 < m; x0 += 64) {
        xe = m - x0 < 64 ? m : x0 + 64;
        for (q = 0; q < nq; q++)
            bm[q * mw + x0 / 64] = 0;
        for (x = x0; x < xe; x++) {
            const unsigned char *ru = pybp__in_u8row(in, x) + k;
            bit = (uint64_t)1 << (x - x0);
            for (q = 0; q < full; q++) {
                unsigned o = 0;
                for (i = 0; i < PYBP_K_KB; i++)
                    o |= ru[q * PYBP_K_KB + i];
                bm[q * mw + x0 / 64] |= o != 0 ? bit : 0;
            }
            for (; q < nq; q++)
                bm[q * mw + x0 / 64] |= ru[full * PYBP_K_KB + q - full] != 0
                                        ? bit : 0;
        }
    }
}

/* The examples x0 <= x < x1 (x0 a multiple of 64) whose bit is set in bm
 * (PYBP_K(nonzero)), ascending, into xs; returns their count. */
static PYBP_K_INLINE size_t
PYBP_K(listed)(const uint64_t *bm, size_t x0, size_t x1, uint32_t *xs)
{
    size_t w, n = 0;
    uint64_t b;
    for (w = x0 / 64; w * 64 < x1; w++)
        for (b = bm[w]; b != 0; b &= b - 1)
            xs[n++] = (uint32_t)(w * 64 + PYBP_K_CTZ64(b));
    return n;
}

/* How many of bits x0 .. x1-1 of bm are set (x0 a multiple of 64). */
static PYBP_K_INLINE size_t
PYBP_K(count)(const uint64_t *bm, size_t x0, size_t x1)
{
    size_t w, n = 0;
    uint64_t b;
    for (w = x0 / 64; w * 64 < x1; w++) {
        b = bm[w];
        b = b - (b >> 1 & 0x5555555555555555u);
        b = (b & 0x3333333333333333u) + (b >> 2 & 0x3333333333333333u);
        b = (b + (b >> 4)) & 0x0f0f0f0f0f0f0f0fu;
        n += (size_t)((b * 0x0101010101010101u) >> 56);
    }
    return n;
}

/*
 * BP4, rows k0 .. k1-1 of Wt: each weight's sum
 * S = s0 + d[0][j] a[0][k] + ... + d[m-1][j] a[m-1][k] over the m
 * examples of `in`, s0 being 0.0, or the partial sum already in S when
 * `how` has PYBP_K_FROM (the batch's earlier parts, a gradient's earlier
 * examples).  With PYBP_K_TO_W the step W <- decay W - step S follows,
 * else S is stored.  S: a sum array in W's layout (its rows k0 .. k1-1 are
 * overwritten, also with the partial sums of a large batch's chunks), or
 * NULL: W itself is the sum array, or (how == PYBP_K_TO_W) the batch is
 * one chunk.
 */
/* defines pybp__bp4_portable, pybp__bp4_avx2, pybp__bp4_avx512 */
static PYBP_K_ATTR void
PYBP_K(bp4)(real *W, real *S, size_t wp, size_t nvec, const pybp__src *in,
            const real *d, size_t dp, const real *dpk, size_t m,
            size_t k0, size_t k1, real decay, real step, int how)
{
    size_t p0, p1, pv = pybp__panel(m, PYBP_K_VW), j0, jb, kb, k, jq, dqp;
    size_t nx, x0, x1, ch, g0, g1, nq, q, mw = (m + 63) / 64, gmax;
    const real *dq;
    uint32_t list[PYBP_K_ONE_CHUNK];
    uint64_t bm[PYBP_K_BMWORDS];
    const uint32_t *xs;
    int skip, mode, lists;
    /* A batch of more than 1.5 chunks goes chunk by chunk, so that a
     * chunk's rows of inputs and of deltas stay in L2 while every row k
     * takes their terms; each weight's sum goes on in S from one chunk to
     * the next, in the order of the examples. */
    ch = m <= PYBP_K_ONE_CHUNK || (how == PYBP_K_TO_W && S == NULL)
         ? m : PYBP_K_CHUNK;
    if (S == NULL)
        S = W;            /* (a single chunk's update never touches S) */
    /* Byte inputs: a block of rows sums over the examples whose bytes
     * there are not all 0, found for a group of blocks at a time (a
     * chunk's list and the batch's bitmaps within their arrays) */
    lists = in->u8 != NULL && ch <= PYBP_K_ONE_CHUNK && m > 0
            && mw <= PYBP_K_BMWORDS;
    gmax = lists ? PYBP_K_BMWORDS / mw : k1 - k0;
    for (g0 = k0; g0 < k1; g0 = g1) {
        for (g1 = g0, nq = 0; g1 < k1 && nq < gmax; nq++)
            g1 += k1 - g1 < PYBP_K_KB ? 1 : PYBP_K_KB;
        if (lists)
            PYBP_K(nonzero)(in, m, g0, k1, nq, bm, mw);
        /* Panels of pv vectors of columns, whose deltas stay in L2 while
         * every row k of the panel is summed; one panel when a whole row
         * fits (W is then read row after row, as stored).  The deltas of
         * a panel: its block of dpk when packed (pybp__pack()), else d's
         * rows. */
        for (p0 = 0; p0 < nvec; p0 = p1) {
            p1 = nvec - p0 < pv ? nvec : p0 + pv;
            dq = dpk != NULL ? dpk + p0 * PYBP_K_VW * m : d;
            dqp = dpk != NULL ? (p1 - p0) * PYBP_K_VW : dp;
            jq = dpk != NULL ? p0 : 0;
            /* skipping needs the panel's deltas finite (PYBP_K(finite)) */
            skip = lists && PYBP_K(finite)(dq + (p0 - jq) * PYBP_K_VW,
                                           dqp, m, p1 - p0);
            x0 = 0;
            do {                          /* (one chunk even when m = 0) */
                x1 = m - x0 <= PYBP_K_ONE_CHUNK ? m : x0 + ch;
                mode = (x0 > 0 ? PYBP_K_FROM : how & PYBP_K_FROM)
                       | (x1 == m ? how & PYBP_K_TO_W : 0);
                for (k = g0, q = 0; k < g1; k += kb, q++) {
                    kb = k1 - k < PYBP_K_KB ? 1 : PYBP_K_KB;
                    nx = x1 - x0;
                    xs = NULL;
                    /* listed when that leaves out at least 1/8 */
                    if (skip && PYBP_K(count)(bm + q * mw, x0, x1)
                                    < nx - nx / 8) {
                        nx = PYBP_K(listed)(bm + q * mw, x0, x1, list);
                        xs = list;
                    }
                    for (j0 = p0; j0 < p1; j0 += jb) {
                        jb = p1 - j0 < PYBP_K_BJB ? p1 - j0 : PYBP_K_BJB;
                        if (in->u8 != NULL && xs != NULL) {
                            PYBP_K_BP4_SWITCH(1, 1)
                        } else if (in->u8 != NULL) {
                            PYBP_K_BP4_SWITCH(1, 0)
                        } else {
                            PYBP_K_BP4_SWITCH(0, 0)
                        }
                    }
                }
                x0 = x1;
            } while (x0 < m);
        }
    }
}

/*
 * One column block of the update fused with the next mini-batch's forward
 * pass: each row k of the block is updated (BP4 sum over this batch's m
 * examples of `in`, then W <- decay W - step S) and, still in registers,
 * takes its term W[k][j] a'[x][k] of the next batch's sums z'[x][j] for its
 * first xb examples (of `next`).  Row by row in ascending k, so each z' sum
 * keeps its order; the W values are the ones stored.  Both batches' inputs
 * are of the same kind (u8); m <= 4.
 */
/* defines pybp__fused_block_portable, pybp__fused_block_avx2,
 * pybp__fused_block_avx512 */
static PYBP_K_INLINE PYBP_K_ATTR void
PYBP_K(fused_block)(real *W, size_t wp, size_t nin, const pybp__src *in,
                    const real *d, size_t dp, size_t m, real decay,
                    real step, const pybp__src *next, const real *bn,
                    real *z, size_t zp, const int u8, const int xb,
                    const int jb)
{
    PYBP_K_V acc[4][4], s[4], w[4];
    const real *ra[4], *rx[4];
    const unsigned char *ru[4], *ux[4];
    size_t k, x;
    int i, j;
    for (i = 0; i < xb; i++) {
        ra[i] = u8 ? NULL : pybp__in_row(next, (size_t)i);
        ru[i] = u8 ? pybp__in_u8row(next, (size_t)i) : NULL;
        for (j = 0; j < jb; j++)
            acc[i][j] = PYBP_K_ZERO;
    }
    for (x = 0; x < m; x++) {
        rx[x] = u8 ? NULL : pybp__in_row(in, x);
        ux[x] = u8 ? pybp__in_u8row(in, x) : NULL;
    }
    for (k = 0; k < nin; k++) {
        real *row = W + k * wp;
        for (j = 0; j < jb; j++)
            s[j] = PYBP_K_ZERO;
        for (x = 0; x < m; x++) {
            real ak = PYBP_K_IN(u8, in, rx[x], ux[x], k);
            for (j = 0; j < jb; j++)
                s[j] += PYBP_K_LD(d + x * dp + (size_t)j * PYBP_K_VW) * ak;
        }
        for (j = 0; j < jb; j++) {
            real *p = row + (size_t)j * PYBP_K_VW;
            w[j] = decay * PYBP_K_LD(p) - step * s[j];
            PYBP_K_ST(p, w[j]);
        }
        for (i = 0; i < xb; i++) {
            real ank = PYBP_K_IN(u8, next, ra[i], ru[i], k);
            for (j = 0; j < jb; j++)
                acc[i][j] += w[j] * ank;
        }
    }
    for (i = 0; i < xb; i++)
        for (j = 0; j < jb; j++)
            PYBP_K_ST(z + (size_t)i * zp + (size_t)j * PYBP_K_VW,
                      acc[i][j] + PYBP_K_LD(bn + (size_t)j * PYBP_K_VW));
}

#define PYBP_K_FUSED_CASE(U, X, J)                                          \
    case ((X) - 1) * 4 + (J) - 1:                                           \
        if ((X) <= PYBP_K_FXB && (J) <= PYBP_K_FJB)                         \
            PYBP_K(fused_block)(W + j0 * PYBP_K_VW, wp, nin, in,            \
                                d + j0 * PYBP_K_VW, dp, m, decay, step,     \
                                next, bn + j0 * PYBP_K_VW,                  \
                                z + j0 * PYBP_K_VW, zp, U, X, J);           \
        break;
#define PYBP_K_FUSED_CASES(U, X) PYBP_K_FUSED_CASE(U, X, 1)                 \
    PYBP_K_FUSED_CASE(U, X, 2) PYBP_K_FUSED_CASE(U, X, 3)                   \
    PYBP_K_FUSED_CASE(U, X, 4)
#define PYBP_K_FUSED_SWITCH(U)                                              \
    switch ((xb - 1) * 4 + jb - 1) {                                        \
    PYBP_K_FUSED_CASES(U, 1) PYBP_K_FUSED_CASES(U, 2)                       \
    PYBP_K_FUSED_CASES(U, 3) PYBP_K_FUSED_CASES(U, 4)                       \
    default:                                                                \
        break;                                                              \
    }

/*
 * The SGD update of a layer's weights from this batch (m examples: in, d)
 * and the next batch's z' = W' a' + b' (mn examples: next, into z), W' being
 * the updated weights and b' the already updated biases.  The first FXB
 * examples of the next batch ride along with the update; the rest, if any,
 * are a plain forward pass over the updated weights.
 */
/* defines pybp__update_forward_portable, pybp__update_forward_avx2,
 * pybp__update_forward_avx512 */
static PYBP_K_ATTR void
PYBP_K(update_forward)(real *W, size_t wp, size_t nin, size_t nvec,
                       const pybp__src *in, const real *d, size_t dp,
                       size_t m, real decay, real step,
                       const pybp__src *next, const real *bn, real *z,
                       size_t zp, size_t mn)
{
    size_t j0, jb, xb = mn < PYBP_K_FXB ? mn : PYBP_K_FXB;
    if (m > 4) {   /* not worth fusing (and too many rows to hold) */
        PYBP_K(bp4)(W, NULL, wp, nvec, in, d, dp, NULL, m, 0, nin, decay, step,
                    PYBP_K_TO_W);
        PYBP_K(forward)(W, wp, bn, nin, nvec, next, z, zp, 0, mn);
        return;
    }
    for (j0 = 0; j0 < nvec; j0 += jb) {
        jb = nvec - j0 < PYBP_K_FJB ? nvec - j0 : PYBP_K_FJB;
        if (in->u8 != NULL) {
            PYBP_K_FUSED_SWITCH(1)
        } else {
            PYBP_K_FUSED_SWITCH(0)
        }
    }
    if (xb < mn)
        PYBP_K(forward)(W, wp, bn, nin, nvec, next, z, zp, xb, mn);
}

/*
 * BP3 over a mini-batch: S_b[j] = s0 + d[0][j] + ... + d[m-1][j], s0 being
 * 0.0, or the partial sum in S when `how` has PYBP_K_FROM (the batch's
 * earlier parts, a gradient's earlier examples); then with PYBP_K_TO_W
 * the step b <- b - step S_b, else S_b is stored in S.  S NULL: b is the
 * sum array.
 */
/* defines pybp__bp3_portable, pybp__bp3_avx2, pybp__bp3_avx512 */
static PYBP_K_ATTR void
PYBP_K(bp3)(real *b, real *S, size_t nvec, const real *d, size_t dp,
            size_t m, real step, int how)
{
    size_t j, x;
    if (S == NULL)
        S = b;
    for (j = 0; j < nvec; j++) {
        real *p = b + j * PYBP_K_VW, *q = S + j * PYBP_K_VW;
        PYBP_K_V s = how & PYBP_K_FROM ? PYBP_K_LD(q) : PYBP_K_ZERO;
        for (x = 0; x < m; x++)
            s += PYBP_K_LD(d + x * dp + j * PYBP_K_VW);
        if (how & PYBP_K_TO_W)
            PYBP_K_ST(p, PYBP_K_LD(p) - step * s);
        else
            PYBP_K_ST(q, s);
    }
}

/*
 * BP2 over a mini-batch, without the (.) f' (pybp__backward() applies it):
 *   dn[x][k] = 0.0 + W[0][k] d[x][0] + W[1][k] d[x][1] + ... (j ascending)
 * for the m examples x and the nin inputs k, where Wt[k][j] = W[j][k] is
 * row k of the transposed weights, d holds delta^l (m rows of n_out) and
 * dn receives the sums of delta^(l-1) (m rows of nin).  Vector lanes are
 * examples: a tile of up to BXV vectors of examples has its deltas copied
 * j-major into dT (dT[j][x] = d[x][j]), and then a register block of kb
 * rows k by xv vectors of examples adds Wt[k][j] dT[j][...] for j in
 * ascending order, one sum per lane.  A layer wider than a tile's JT
 * rows j is done JT rows at a time, the partial sums kept in dn in
 * between, so each sum still takes its terms in order.
 */
#define PYBP_K_XT (PYBP_K_BXV * PYBP_K_VW)       /* examples per tile */
#define PYBP_K_JT (PYBP__BP2_TILE / PYBP_K_XT)    /* rows j per tile */
/* Rows k per block for xv vectors of examples: about BKB * BXV
 * accumulators, at most 8 rows. */
#define PYBP_K_BP2_KB(xv) \
    (PYBP_K_BKB * PYBP_K_BXV / (xv) < 8 ? PYBP_K_BKB * PYBP_K_BXV / (xv) : 8)

/*
 * One register block of BP2: for kb rows k of Wt (from the block's first,
 * at Wt) and xv vectors of a tile's examples,
 *   t[k][x] = S0 + Wt[k][0] dT[0][x] + ... + Wt[k][jt-1] dT[jt-1][x],
 * S0 being 0.0 (first) or the partial sum already in t.
 */
/* defines pybp__bp2_block_portable, pybp__bp2_block_avx2,
 * pybp__bp2_block_avx512 */
static PYBP_K_INLINE PYBP_K_ATTR void
PYBP_K(bp2_block)(const real *Wt, size_t wp, const real *dT, size_t jt,
                  real *t, int first, const int kb, const int xv)
{
    PYBP_K_V acc[8][4], dv[4];
    size_t j;
    int k, v;
    for (k = 0; k < kb; k++)
        for (v = 0; v < xv; v++)
            acc[k][v] = first ? PYBP_K_ZERO
                              : PYBP_K_LD(t + (size_t)k * PYBP_K_XT
                                          + (size_t)v * PYBP_K_VW);
    for (j = 0; j < jt; j++) {
        for (v = 0; v < xv; v++)
            dv[v] = PYBP_K_LD(dT + j * PYBP_K_XT + (size_t)v * PYBP_K_VW);
        for (k = 0; k < kb; k++) {
            real wkj = Wt[(size_t)k * wp + j];
            for (v = 0; v < xv; v++)
                acc[k][v] += wkj * dv[v];
        }
    }
    for (k = 0; k < kb; k++)
        for (v = 0; v < xv; v++)
            PYBP_K_ST(t + (size_t)k * PYBP_K_XT + (size_t)v * PYBP_K_VW,
                      acc[k][v]);
}

/* Blocks of PYBP_K_BP2_KB(xv) rows, or of 1 row for the few left. */
#define PYBP_K_BP2_CASE(BIG, XV)                                            \
    case (BIG) * 4 + (XV) - 1:                                              \
        if ((XV) <= PYBP_K_BXV)                                             \
            PYBP_K(bp2_block)(Wt + k0 * wp + j0, wp, dT.r, jt, t.r,         \
                              j0 == 0, (BIG) ? PYBP_K_BP2_KB(XV) : 1, XV);  \
        break;
#define PYBP_K_BP2_CASES(BIG) PYBP_K_BP2_CASE(BIG, 1)                       \
    PYBP_K_BP2_CASE(BIG, 2) PYBP_K_BP2_CASE(BIG, 3) PYBP_K_BP2_CASE(BIG, 4)

/* defines pybp__bp2_portable, pybp__bp2_avx2, pybp__bp2_avx512 */
static PYBP_K_ATTR void
PYBP_K(bp2)(const real *Wt, size_t wp, size_t nin, size_t nout,
            const real *d, size_t dp, real *dn, size_t dnp, size_t m)
{
    /* the tile and a block's sums; unions for the vectors' alignment */
    union {
        PYBP_K_V v[PYBP_K_JT * PYBP_K_BXV];
        real r[PYBP_K_JT * PYBP_K_XT];
    } dT;
    union {
        PYBP_K_V v[8 * PYBP_K_BXV];
        real r[8 * PYBP_K_XT];
    } t;
    size_t x0, xt, xw, j0, jt, k0, kb, kbig, x, j, k;
    int xv;
    for (x0 = 0; x0 < m; x0 += xt) {
        xt = m - x0 < PYBP_K_XT ? m - x0 : PYBP_K_XT;
        xv = (int)((xt + PYBP_K_VW - 1) / PYBP_K_VW);
        xw = (size_t)xv * PYBP_K_VW;    /* lanes computed; past xt: 0.0 */
        kbig = (size_t)PYBP_K_BP2_KB(xv);
        for (j0 = 0; j0 < nout; j0 += jt) {
            jt = nout - j0 < PYBP_K_JT ? nout - j0 : PYBP_K_JT;
            /* delta^l of the tile, j-major: dT[j][x] = d[x0 + x][j0 + j] */
            for (x = 0; x < xw; x++) {
                const real *dx = d + (x0 + x) * dp + j0;
                for (j = 0; j < jt; j++)
                    dT.r[j * PYBP_K_XT + x] = x < xt ? dx[j] : 0.0;
            }
            for (k0 = 0; k0 < nin; k0 += kb) {
                kb = nin - k0 < kbig ? 1 : kbig;
                if (j0 > 0)   /* the sums so far, from dn */
                    for (k = 0; k < kb; k++)
                        for (x = 0; x < xw; x++)
                            t.r[k * PYBP_K_XT + x] =
                                x < xt ? dn[(x0 + x) * dnp + k0 + k] : 0.0;
                switch ((kb > 1) * 4 + xv - 1) {
                PYBP_K_BP2_CASES(0) PYBP_K_BP2_CASES(1)
                default:
                    break;
                }
                /* back to dn, example-major */
                for (x = 0; x < xt; x++)
                    for (k = 0; k < kb; k++)
                        dn[(x0 + x) * dnp + k0 + k] = t.r[k * PYBP_K_XT + x];
            }
        }
    }
}

/*
 * Feedforward read straight from the public layout, for a few examples (no
 * transposed copy of the parameters): for outputs j and examples x,
 *   z[x][j] = 0.0 + W[j][0] a[x][0] + W[j][1] a[x][1] + ... (k ascending)
 * with W row-major, n_out rows of nin (docs/math.md); the caller adds the
 * bias.  Lanes are outputs j, as in the forward kernel above: VW rows'
 * chunks W[j][k .. k+VW) are loaded and transposed in registers, so that
 * vector i holds column k+i of those rows, and each lane adds its terms
 * one at a time in ascending k.  The shuffles only move values.
 */
#if PYBP_K_VW > 1 && (defined(__clang__) || __GNUC__ >= 12)
/* One step of the transpose: rows r and r+h (r without bit h) exchange
 * their blocks of h elements; LO and HI name the lanes of the two results. */
#define PYBP_K_STAGE(h, LO, HI)                                             \
    for (r = 0; r < PYBP_K_VW; r++)                                         \
        if (!(r & (h))) {                                                   \
            PYBP_K_V t0_ = c[r], t1_ = c[r + (h)];                          \
            c[r] = __builtin_shufflevector(t0_, t1_, LO);                   \
            c[r + (h)] = __builtin_shufflevector(t0_, t1_, HI);             \
        }
#define PYBP_K_LO1_2 0, 2
#define PYBP_K_HI1_2 1, 3
#define PYBP_K_LO2_4 0, 1, 4, 5
#define PYBP_K_HI2_4 2, 3, 6, 7
#define PYBP_K_LO1_4 0, 4, 2, 6
#define PYBP_K_HI1_4 1, 5, 3, 7
#define PYBP_K_LO4_8 0, 1, 2, 3, 8, 9, 10, 11
#define PYBP_K_HI4_8 4, 5, 6, 7, 12, 13, 14, 15
#define PYBP_K_LO2_8 0, 1, 8, 9, 4, 5, 12, 13
#define PYBP_K_HI2_8 2, 3, 10, 11, 6, 7, 14, 15
#define PYBP_K_LO1_8 0, 8, 2, 10, 4, 12, 6, 14
#define PYBP_K_HI1_8 1, 9, 3, 11, 5, 13, 7, 15
#define PYBP_K_LO8_16 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define PYBP_K_HI8_16 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define PYBP_K_LO4_16 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define PYBP_K_HI4_16 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define PYBP_K_LO2_16 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define PYBP_K_HI2_16 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define PYBP_K_LO1_16 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define PYBP_K_HI1_16 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

/* c[i][q] <- c[q][i]: a VW x VW block in registers. */
/* defines pybp__transpose_portable, pybp__transpose_avx2, ... */
#if PYBP_K_VW * PYBP__REAL_SIZE == 64
/* 64-byte vectors (AVX-512): only interleaves within 16-byte lanes and
 * moves of whole 16-byte lanes (vunpck*, vshuff*), without the two-source
 * permutes (vpermt2*) that the stages below take for some exchanges: one
 * float32 image through 784-1000-10 took 8% less time on Zen 5, float64
 * 2% less.  Each step's comment says what its vectors hold, 16-byte lane
 * by 16-byte lane. */
#if PYBP_K_VW == 8
#define PYBP_K_UNLO 0, 8, 2, 10, 4, 12, 6, 14      /* vunpcklpd */
#define PYBP_K_UNHI 1, 9, 3, 11, 5, 13, 7, 15      /* vunpckhpd */
#define PYBP_K_L02 0, 1, 4, 5, 8, 9, 12, 13        /* lanes 0, 2 of a, b */
#define PYBP_K_L13 2, 3, 6, 7, 10, 11, 14, 15      /* lanes 1, 3 of a, b */
#else
#define PYBP_K_UNLO 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29
#define PYBP_K_UNHI 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31
#define PYBP_K_PDLO 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define PYBP_K_PDHI 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define PYBP_K_L02 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define PYBP_K_L13 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
#endif
#define PYBP_K_SH(a, b, P) __builtin_shufflevector(a, b, P)
static PYBP_K_INLINE PYBP_K_ATTR void PYBP_K(transpose)(PYBP_K_V *c)
{
    PYBP_K_V t[PYBP_K_VW], u[PYBP_K_VW];
    int i, g;
#if PYBP_K_VW == 8
    /* t[2i + h], lane L: rows 2i, 2i+1 of column 2L + h */
    for (i = 0; i < 4; i++) {
        t[2 * i] = PYBP_K_SH(c[2 * i], c[2 * i + 1], PYBP_K_UNLO);
        t[2 * i + 1] = PYBP_K_SH(c[2 * i], c[2 * i + 1], PYBP_K_UNHI);
    }
    /* u[4g + 2i + h]: rows 4g, 4g+1 of column i + 2h, of column
     * i + 2h + 4, then rows 4g+2, 4g+3 of the two */
    for (g = 0; g < 2; g++)
        for (i = 0; i < 2; i++) {
            u[4 * g + 2 * i] = PYBP_K_SH(t[4 * g + i], t[4 * g + i + 2],
                                         PYBP_K_L02);
            u[4 * g + 2 * i + 1] = PYBP_K_SH(t[4 * g + i], t[4 * g + i + 2],
                                             PYBP_K_L13);
        }
    /* c[q]: all 8 rows of column q */
    for (i = 0; i < 2; i++)
        for (g = 0; g < 2; g++) {
            c[i + 2 * g] = PYBP_K_SH(u[2 * i + g], u[4 + 2 * i + g],
                                     PYBP_K_L02);
            c[i + 2 * g + 4] = PYBP_K_SH(u[2 * i + g], u[4 + 2 * i + g],
                                         PYBP_K_L13);
        }
#else
    /* t[2i + h], lane L: rows 2i, 2i+1 of column 4L + 2h, then of column
     * 4L + 2h + 1 */
    for (i = 0; i < 8; i++) {
        t[2 * i] = PYBP_K_SH(c[2 * i], c[2 * i + 1], PYBP_K_UNLO);
        t[2 * i + 1] = PYBP_K_SH(c[2 * i], c[2 * i + 1], PYBP_K_UNHI);
    }
    /* u[4g + q], lane L: rows 4g .. 4g+3 of column 4L + q */
    for (g = 0; g < 4; g++) {
        u[4 * g] = PYBP_K_SH(t[4 * g], t[4 * g + 2], PYBP_K_PDLO);
        u[4 * g + 1] = PYBP_K_SH(t[4 * g], t[4 * g + 2], PYBP_K_PDHI);
        u[4 * g + 2] = PYBP_K_SH(t[4 * g + 1], t[4 * g + 3], PYBP_K_PDLO);
        u[4 * g + 3] = PYBP_K_SH(t[4 * g + 1], t[4 * g + 3], PYBP_K_PDHI);
    }
    /* t[8g + 4e + q]: rows 8g .. 8g+3 of column q + 4e, of column
     * q + 4e + 8, then rows 8g+4 .. 8g+7 of the two */
    for (g = 0; g < 2; g++)
        for (i = 0; i < 4; i++) {
            t[8 * g + i] = PYBP_K_SH(u[8 * g + i], u[8 * g + 4 + i],
                                     PYBP_K_L02);
            t[8 * g + 4 + i] = PYBP_K_SH(u[8 * g + i], u[8 * g + 4 + i],
                                         PYBP_K_L13);
        }
    /* c[q]: all 16 rows of column q */
    for (g = 0; g < 2; g++)
        for (i = 0; i < 4; i++) {
            c[4 * g + i] = PYBP_K_SH(t[4 * g + i], t[8 + 4 * g + i],
                                     PYBP_K_L02);
            c[4 * g + i + 8] = PYBP_K_SH(t[4 * g + i], t[8 + 4 * g + i],
                                         PYBP_K_L13);
        }
#endif
}
#undef PYBP_K_SH
#undef PYBP_K_UNLO
#undef PYBP_K_UNHI
#undef PYBP_K_L02
#undef PYBP_K_L13
#undef PYBP_K_PDLO
#undef PYBP_K_PDHI
#else
static PYBP_K_INLINE PYBP_K_ATTR void PYBP_K(transpose)(PYBP_K_V *c)
{
    int r;
#if PYBP_K_VW == 16
    PYBP_K_STAGE(8, PYBP_K_LO8_16, PYBP_K_HI8_16);
    PYBP_K_STAGE(4, PYBP_K_LO4_16, PYBP_K_HI4_16);
    PYBP_K_STAGE(2, PYBP_K_LO2_16, PYBP_K_HI2_16);
    PYBP_K_STAGE(1, PYBP_K_LO1_16, PYBP_K_HI1_16);
#elif PYBP_K_VW == 8
    PYBP_K_STAGE(4, PYBP_K_LO4_8, PYBP_K_HI4_8);
    PYBP_K_STAGE(2, PYBP_K_LO2_8, PYBP_K_HI2_8);
    PYBP_K_STAGE(1, PYBP_K_LO1_8, PYBP_K_HI1_8);
#elif PYBP_K_VW == 4
    PYBP_K_STAGE(2, PYBP_K_LO2_4, PYBP_K_HI2_4);
    PYBP_K_STAGE(1, PYBP_K_LO1_4, PYBP_K_HI1_4);
#elif PYBP_K_VW == 2
    PYBP_K_STAGE(1, PYBP_K_LO1_2, PYBP_K_HI1_2);
#else
#error "no transpose for this vector width"
#endif
}
#endif
#undef PYBP_K_STAGE
#elif PYBP_K_VW > 1
/* Compilers without __builtin_shufflevector: through memory. */
static PYBP_K_INLINE PYBP_K_ATTR void PYBP_K(transpose)(PYBP_K_V *c)
{
    real t[PYBP_K_VW][PYBP_K_VW], u[PYBP_K_VW];
    int i, q;
    for (i = 0; i < PYBP_K_VW; i++)
        PYBP_K_ST(t[i], c[i]);
    for (i = 0; i < PYBP_K_VW; i++) {
        for (q = 0; q < PYBP_K_VW; q++)
            u[q] = t[q][i];
        c[i] = PYBP_K_LD(u);
    }
}
#else
/* Plain scalars: a 1 x 1 block is its own transpose. */
static PYBP_K_INLINE PYBP_K_ATTR void PYBP_K(transpose)(PYBP_K_V *c)
{
    (void)c;
}
#endif

/*
 * One register block of the direct feedforward: rb vectors of outputs j
 * from j0 (rows past n_out read the last row again and are not stored)
 * for the xb examples a[0 .. xb-1] (rows of pitch ap), into z (pitch zp).
 */
/* defines pybp__direct_block_portable, pybp__direct_block_avx2, ... */
static PYBP_K_INLINE PYBP_K_ATTR void
PYBP_K(direct_block)(const real *W, size_t nin, size_t nout, size_t j0,
                     const real *a, size_t ap, real *z, size_t zp,
                     const int xb, const int rb)
{
    PYBP_K_V acc[4][4], c[PYBP_K_VW];
    const real *row[4 * PYBP_K_VW];
    real t[PYBP_K_VW][PYBP_K_VW];
    size_t k, kv = nin - nin % PYBP_K_VW, j, nt = nin - kv;
    int x, v, i, q;
    for (i = 0; i < rb * PYBP_K_VW; i++) {
        j = j0 + (size_t)i;
        row[i] = W + (j < nout ? j : nout - 1) * nin;
    }
    for (x = 0; x < xb; x++)
        for (v = 0; v < rb; v++)
            acc[x][v] = PYBP_K_ZERO;
    for (k = 0; k < kv; k += PYBP_K_VW) {
        for (v = 0; v < rb; v++) {
            for (i = 0; i < PYBP_K_VW; i++)
                c[i] = PYBP_K_LD(row[v * PYBP_K_VW + i] + k);
            PYBP_K(transpose)(c);
            /* z_j += W[j][k+i] a[k+i], i ascending */
            for (i = 0; i < PYBP_K_VW; i++)
                for (x = 0; x < xb; x++)
                    acc[x][v] += c[i] * a[(size_t)x * ap + k + (size_t)i];
        }
    }
    if (nt > 0) {   /* the last nin % VW columns, through a zeroed block */
        for (v = 0; v < rb; v++) {
            for (i = 0; i < PYBP_K_VW; i++) {
                for (q = 0; q < PYBP_K_VW; q++)
                    t[i][q] = (size_t)q < nt ? row[v * PYBP_K_VW + i][kv + (size_t)q]
                                             : (real)0.0;
                c[i] = PYBP_K_LD(t[i]);
            }
            PYBP_K(transpose)(c);
            for (i = 0; (size_t)i < nt; i++)
                for (x = 0; x < xb; x++)
                    acc[x][v] += c[i] * a[(size_t)x * ap + kv + (size_t)i];
        }
    }
    for (x = 0; x < xb; x++)
        for (v = 0; v < rb; v++) {
            PYBP_K_ST(t[0], acc[x][v]);
            for (i = 0; i < PYBP_K_VW; i++) {
                j = j0 + (size_t)(v * PYBP_K_VW + i);
                if (j < nout)
                    z[(size_t)x * zp + j] = t[0][i];
            }
        }
}

#define PYBP_K_DIRECT_CASE(X, R)                                            \
    case (X) * 16 + (R):                                                    \
        PYBP_K(direct_block)(W, nin, nout, j0, a + x * ap, ap, z + x * zp,  \
                             zp, X, R);                                     \
        break;

/*
 * z = W a (without the bias) for m examples, W in the public layout.
 * Blocks of up to 4 examples by up to 4 vectors of outputs (about eight
 * accumulators, enough chains to hide the adder's latency); each block
 * reads its rows of W once.  (Blocks of 8 vectors read 8 * VW rows at
 * once, more streams than the prefetchers follow: one float64 image
 * through 784-1000-10 took 280 us instead of 159 on AVX-512.)
 */
/* defines pybp__forward_direct_portable, pybp__forward_direct_avx2, ... */
static PYBP_K_ATTR void
PYBP_K(forward_direct)(const real *W, size_t nin, size_t nout,
                       const real *a, size_t ap, size_t m, real *z,
                       size_t zp)
{
    size_t x, j0, nv;
    int xb, rb;
    for (x = 0; x < m; x += (size_t)xb) {
        xb = m - x < 4 ? (int)(m - x) : 4;
        for (j0 = 0; j0 < nout; j0 += (size_t)rb * PYBP_K_VW) {
            nv = (nout - j0 + PYBP_K_VW - 1) / PYBP_K_VW;
            rb = nv >= 4 && xb <= 2 ? 4
                 : nv >= 2 ? 2 : 1;
            switch (xb * 16 + rb) {
            PYBP_K_DIRECT_CASE(1, 1) PYBP_K_DIRECT_CASE(1, 2)
            PYBP_K_DIRECT_CASE(1, 4)
            PYBP_K_DIRECT_CASE(2, 1) PYBP_K_DIRECT_CASE(2, 2)
            PYBP_K_DIRECT_CASE(2, 4)
            PYBP_K_DIRECT_CASE(3, 1) PYBP_K_DIRECT_CASE(3, 2)
            PYBP_K_DIRECT_CASE(4, 1) PYBP_K_DIRECT_CASE(4, 2)
            default:
                break;
            }
        }
    }
}

/*
 * Sigmoid in place, z[j] = pybp__sigmoid(z[j]) for j < n.  For float64
 * vectors, every lane runs pybp__sigmoid's and pybp__exp's operations in
 * their order, each rounded alone, so the bits are the scalar ones; the
 * branches become selects between lanes' results:
 *   the sign branch   e = exp(z >= 0 ? -z : z), then (z >= 0 ? 1 : e) / d:
 *                     the quotient of either branch, one division;
 *   exp's NaN, overflow and underflow tests  selects after the fact;
 *   exp's three scalings of y by 2^k  (y * s1) * s2, with s1 = 2^k and
 *       s2 = 1.0 (exact), s1 = 2.0 and s2 = 2^1023 (k = 1024), or
 *       s1 = 2^(k+54) and s2 = 2^-54 (k < -1021);
 *   (int)kd  read from the bits of x * INV_LN2 + SHIFT, which lies in
 *       [2^52, 2^53) and is thus SHIFT + kd exactly.
 * Lanes the tests reject compute garbage (unsigned, so it wraps) that is
 * never selected.  The last n mod VW elements take the scalar function.
 * float32: pybp__sigmoid in float rounds pybp__exp's double to float
 * (pybp__expf) and computes the quotient in double before rounding it to
 * float; the vector loop does the same, each half of a vector of floats
 * widened to a vector of doubles (exactly) for exp_v and the quotient,
 * the exponential narrowed to float and widened back in between.
 */
#if PYBP_K_VW > 1
/* Vectors of doubles and of their bits, as wide as this instance's. */
typedef double PYBP_K(dv)
    __attribute__((vector_size(PYBP_K_VW * PYBP__REAL_SIZE)));
typedef unsigned long long PYBP_K(u64v)
    __attribute__((vector_size(PYBP_K_VW * PYBP__REAL_SIZE)));
#define PYBP_K_DZERO ((PYBP_K(dv)){0})
#define PYBP_K_BITS(v) ((PYBP_K(u64v))(v))
#define PYBP_K_REAL(u) ((PYBP_K(dv))(u))
/* m ? a : b for a lane mask m (all ones or zero per lane). */
#define PYBP_K_SEL(m, a, b) \
    PYBP_K_REAL((PYBP_K_BITS(a) & (m)) | (PYBP_K_BITS(b) & ~(m)))

/* pybp__exp of every lane, as its operations in order (see above). */
static PYBP_K_INLINE PYBP_K_ATTR PYBP_K(dv) PYBP_K(exp_v)(PYBP_K(dv) x)
{
    PYBP_K(dv) t, kd, hi, lo, r, rr, c, y, s1, s2, e;
    PYBP_K(u64v) nan, over, under, k, big, small, u;
    const PYBP_K(u64v) one = PYBP_K_BITS(PYBP_K_DZERO + 1.0);
    nan = (PYBP_K(u64v))(x != x);
    over = (PYBP_K(u64v))(x > PYBP_K_DZERO + 7.09782712893383973096e+02);
    under = (PYBP_K(u64v))(x < PYBP_K_DZERO - 7.45133219101941108420e+02);
    t = x * PYBP__INV_LN2 + PYBP__SHIFT;
    kd = t - PYBP__SHIFT;
    hi = x - kd * PYBP__LN2_HI;
    lo = kd * PYBP__LN2_LO;
    r = hi - lo;
    rr = r * r;
    c = PYBP__EXP_POLY(r, rr);
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    /* k + 1023, and whether k > 1023 or k < -1021 (as signed numbers) */
    k = PYBP_K_BITS(t) - PYBP_K_BITS(PYBP_K_DZERO + PYBP__SHIFT) + 1023;
    big = (PYBP_K(u64v))(k + 0x8000000000000000ULL
                         > 0x8000000000000000ULL + 2046);
    small = (PYBP_K(u64v))(k + 0x8000000000000000ULL
                           < 0x8000000000000000ULL + 2);
    u = (k + (small & 54)) << 52;
    s1 = PYBP_K_SEL(big, PYBP_K_DZERO + 2.0, PYBP_K_REAL(u));
    s2 = PYBP_K_SEL(big, PYBP_K_DZERO + pybp__pow2(1023),
                    PYBP_K_SEL(small, PYBP_K_DZERO + pybp__pow2(-54),
                               PYBP_K_REAL(one)));
    e = (y * s1) * s2;
    e = PYBP_K_SEL(under, PYBP_K_DZERO, e);
    e = PYBP_K_SEL(over, PYBP_K_DZERO + INFINITY, e);
    return PYBP_K_SEL(nan, x, e);
}
#endif

#if PYBP_K_VW > 1 && PYBP__REAL_SIZE == 8
/* defines pybp__sigmoid_portable, pybp__sigmoid_avx2, pybp__sigmoid_avx512 */
static PYBP_K_ATTR void PYBP_K(sigmoid)(real *z, size_t n)
{
    size_t j;
    for (j = 0; n - j >= PYBP_K_VW; j += PYBP_K_VW) {
        PYBP_K(dv) v = PYBP_K_LD(z + j), e, d;
        PYBP_K(u64v) pos = (PYBP_K(u64v))(v >= PYBP_K_DZERO);
        e = PYBP_K(exp_v)(PYBP_K_SEL(pos, -v, v));
        d = 1.0 + e;    /* one quotient: 1 / d or e / d, by lane */
        PYBP_K_ST(z + j, PYBP_K_SEL(pos, PYBP_K_DZERO + 1.0, e) / d);
    }
    for (; j < n; j++)
        z[j] = pybp__sigmoid(z[j]);
}
#elif PYBP_K_VW > 1 && (defined(__clang__) || __GNUC__ >= 12)
/* Half a vector of floats; the lanes of each half, and of both. */
typedef float PYBP_K(hv) __attribute__((vector_size(PYBP_K_VW * 2)));
#if PYBP_K_VW == 16
#define PYBP_K_LOW 0, 1, 2, 3, 4, 5, 6, 7
#define PYBP_K_HIGH 8, 9, 10, 11, 12, 13, 14, 15
#define PYBP_K_BOTH 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#elif PYBP_K_VW == 8
#define PYBP_K_LOW 0, 1, 2, 3
#define PYBP_K_HIGH 4, 5, 6, 7
#define PYBP_K_BOTH 0, 1, 2, 3, 4, 5, 6, 7
#else
#define PYBP_K_LOW 0, 1
#define PYBP_K_HIGH 2, 3
#define PYBP_K_BOTH 0, 1, 2, 3
#endif

/* pybp__sigmoid (float) of half a vector: e = (double)(float)exp(+-z),
 * then the quotient in double, rounded to float. */
static PYBP_K_INLINE PYBP_K_ATTR PYBP_K(hv) PYBP_K(sigmoid_h)(PYBP_K(hv) h)
{
    PYBP_K(dv) v = __builtin_convertvector(h, PYBP_K(dv)), e, d;
    PYBP_K(u64v) pos = (PYBP_K(u64v))(v >= PYBP_K_DZERO);
    e = PYBP_K(exp_v)(PYBP_K_SEL(pos, -v, v));
    e = __builtin_convertvector(__builtin_convertvector(e, PYBP_K(hv)),
                                PYBP_K(dv));
    d = 1.0 + e;        /* one quotient: 1 / d or e / d, by lane */
    return __builtin_convertvector(PYBP_K_SEL(pos, PYBP_K_DZERO + 1.0, e) / d,
                                   PYBP_K(hv));
}

/* defines pybp__sigmoid_portable, pybp__sigmoid_avx2, pybp__sigmoid_avx512
 * (float32) */
static PYBP_K_ATTR void PYBP_K(sigmoid)(real *z, size_t n)
{
    size_t j;
    for (j = 0; n - j >= PYBP_K_VW; j += PYBP_K_VW) {
        PYBP_K_V v = PYBP_K_LD(z + j);
        PYBP_K(hv) lo = __builtin_shufflevector(v, v, PYBP_K_LOW);
        PYBP_K(hv) hi = __builtin_shufflevector(v, v, PYBP_K_HIGH);
        lo = PYBP_K(sigmoid_h)(lo);
        hi = PYBP_K(sigmoid_h)(hi);
        PYBP_K_ST(z + j, __builtin_shufflevector(lo, hi, PYBP_K_BOTH));
    }
    for (; j < n; j++)
        z[j] = pybp__sigmoid(z[j]);
}
#undef PYBP_K_LOW
#undef PYBP_K_HIGH
#undef PYBP_K_BOTH
#else
/* defines pybp__sigmoid_portable, pybp__sigmoid_avx2, pybp__sigmoid_avx512 */
static PYBP_K_ATTR void PYBP_K(sigmoid)(real *z, size_t n)
{
    size_t j;
    for (j = 0; j < n; j++)
        z[j] = pybp__sigmoid(z[j]);
}
#endif
#if PYBP_K_VW > 1
#undef PYBP_K_DZERO
#undef PYBP_K_BITS
#undef PYBP_K_REAL
#undef PYBP_K_SEL
#endif

/* This instance's table of kernels, which pybp__kernels() (pybp_impl.h)
 * returns for its instruction set: defines pybp__kern_portable,
 * pybp__kern_avx2, pybp__kern_avx512. */
static const pybp__kern PYBP_K(kern) = {
    PYBP_K_VW, PYBP_K(forward), PYBP_K(bp4), PYBP_K(bp3),
    PYBP_K(update_forward), PYBP_K(bp2), PYBP_K_FXB, PYBP_K(forward_direct),
    PYBP_K(sigmoid)};

/* The next instance defines its own parameters. */
#undef PYBP_K
#undef PYBP_K_ATTR
#undef PYBP_K_VW
#undef PYBP_K_V
#undef PYBP_K_VU
#undef PYBP_K_XB
#undef PYBP_K_XB2
#undef PYBP_K_SPAN
#undef PYBP_K_JB
#undef PYBP_K_KB
#undef PYBP_K_BJB
#undef PYBP_K_FXB
#undef PYBP_K_FJB
#undef PYBP_K_ZERO
#undef PYBP_K_LD
#undef PYBP_K_ST
#undef PYBP_K_IN
#undef PYBP_K_CTZ64
#undef PYBP_K_FWD_CASE
#undef PYBP_K_FWD_CASES
#undef PYBP_K_FWD_XM
#undef PYBP_K_FJB8
#undef PYBP_K_FWD_SWITCH
#undef PYBP_K_BP4_CASE
#undef PYBP_K_BP4_CALL
#undef PYBP_K_BP4_CASES
#undef PYBP_K_BP4_SWITCH
#undef PYBP_K_FUSED_CASE
#undef PYBP_K_FUSED_CASES
#undef PYBP_K_FUSED_SWITCH
#undef PYBP_K_BKB
#undef PYBP_K_BXV
#undef PYBP_K_XT
#undef PYBP_K_JT
#undef PYBP_K_BP2_KB
#undef PYBP_K_BP2_CASE
#undef PYBP_K_BP2_CASES
#undef PYBP_K_DIRECT_CASE
