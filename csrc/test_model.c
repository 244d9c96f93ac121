/*
 * test_model.c - tests of the model-file functions in pybp_model.c.
 *
 * Links against pybp_model.c alone or against libpybp.a.  Files are crafted
 * here with the test's own byte encoder and bitwise CRC-32, so that a bug
 * shared by the writer and the reader in pybp_model.c cannot hide itself.
 * Every buffer handed to the library is heap-allocated with exactly the
 * length passed, so valgrind catches any read past the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "pybp.h"

static int passed, failed;

#define CHECK(cond) check((cond), #cond, __LINE__)
#define CHECK_STATUS(expr, want) check_status((expr), (want), #expr, __LINE__)

static void check(int ok, const char *what, int line)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL line %d: %s\n", line, what);
    }
}

static void check_status(int got, int want, const char *what, int line)
{
    if (got == want) {
        passed++;
    } else {
        failed++;
        printf("FAIL line %d: %s returned %d, expected %d\n", line, what, got,
               want);
    }
}

/* ---- an independent encoder --------------------------------------------- */

static uint32_t ref_crc32(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static void le32(unsigned char *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* A raw file description; any field may be deliberately wrong. */
typedef struct raw_model {
    uint32_t version, nlayers, cost;
    const uint32_t *sizes;       /* nlayers entries */
    const uint32_t *acts;        /* nlayers - 1 entries */
    uint64_t count;              /* the P field */
    const uint64_t *params;      /* nparams bit patterns actually stored */
    size_t nparams;
} raw_model;

/* Encodes m into a new exact-size heap buffer, with a correct CRC. */
static unsigned char *encode(const raw_model *m, size_t *len)
{
    size_t n = m->nlayers, i, off = 16 + 8 * n;   /* where P goes */
    unsigned char *b;

    *len = off + 8 + 8 * m->nparams + 4;
    b = malloc(*len);
    if (b == NULL) {
        printf("out of memory\n");
        exit(2);
    }
    memcpy(b, "PYBPNET", 8);
    le32(b + 8, m->version);
    le32(b + 12, m->nlayers);
    le32(b + 16, m->cost);
    for (i = 0; i < n; i++)
        le32(b + 20 + 4 * i, m->sizes[i]);
    for (i = 0; i + 1 < n; i++)
        le32(b + 20 + 4 * n + 4 * i, m->acts[i]);
    le64(b + off, m->count);
    for (i = 0; i < m->nparams; i++)
        le64(b + off + 8 + 8 * i, m->params[i]);
    le32(b + *len - 4, ref_crc32(b, *len - 4));
    return b;
}

static unsigned char *copy_of(const unsigned char *src, size_t len)
{
    unsigned char *b = malloc(len ? len : 1);
    if (b == NULL) {
        printf("out of memory\n");
        exit(2);
    }
    if (len)
        memcpy(b, src, len);
    return b;
}

/* pybp_model_info's verdict on an encoded raw model. */
static int info_status(const raw_model *m)
{
    size_t len, nl, np;
    unsigned char *b = encode(m, &len);
    int status = pybp_model_info(b, len, &nl, &np);
    free(b);
    return status;
}

/* ---- the golden file ---------------------------------------------------- */

/*
 * Written by pybp.model.dumps([2, 2, 1], ["tanh", "sigmoid"],
 * "cross-entropy", golden_params): the C writer must reproduce it exactly.
 */
static const unsigned char golden[124] = {
    0x50, 0x59, 0x42, 0x50, 0x4e, 0x45, 0x54, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xf4, 0xbf, 0x81, 0xb2, 0x52, 0xa2, 0x39, 0x37, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x9c, 0x75, 0x00, 0x88,
    0x3c, 0xe4, 0x37, 0x7e, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x1c, 0x40, 0x18, 0x2d, 0x44, 0x54, 0xfb, 0x21, 0x09, 0x40,
    0x11, 0x1b, 0x1e, 0xd4
};

/* 0.5, -1.25, 3e-310 (subnormal), -0.0, 1e300, 0.1, -2.0, 7.0, pi. */
static const uint64_t golden_bits[9] = {
    0x3FE0000000000000u, 0xBFF4000000000000u, 0x00003739A252B281u,
    0x8000000000000000u, 0x7E37E43C8800759Cu, 0x3FB999999999999Au,
    0xC000000000000000u, 0x401C000000000000u, 0x400921FB54442D18u
};

static const size_t golden_sizes[3] = {2, 2, 1};
static const int golden_acts[2] = {PYBP_TANH, PYBP_SIGMOID};

static void test_crc_reference(void)
{
    CHECK(ref_crc32((const unsigned char *)"123456789", 9) == 0xCBF43926u);
    CHECK(ref_crc32(golden, 120) == 0xD41E1B11u);
}

static void test_golden_read(void)
{
    unsigned char *b = copy_of(golden, sizeof golden);
    size_t nl = 0, np = 0, sizes[3];
    int acts[2], cost = 0, i;
    double params[9];

    CHECK_STATUS(pybp_model_info(b, sizeof golden, &nl, &np), PYBP_OK);
    CHECK(nl == 3 && np == 9);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 3, acts, &cost,
                                 params, 9), PYBP_OK);
    CHECK(sizes[0] == 2 && sizes[1] == 2 && sizes[2] == 1);
    CHECK(acts[0] == PYBP_TANH && acts[1] == PYBP_SIGMOID);
    CHECK(cost == PYBP_CROSS_ENTROPY);
    for (i = 0; i < 9; i++)
        CHECK(bits_of(params[i]) == golden_bits[i]);
    free(b);
}

static void test_golden_write(void)
{
    pybp_net net;
    double params[9];
    size_t nbytes = 0, i;
    unsigned char *b;

    for (i = 0; i < 9; i++)
        memcpy(&params[i], &golden_bits[i], sizeof params[i]);
    net.nlayers = 3;
    net.sizes = golden_sizes;
    net.activations = golden_acts;
    net.cost = PYBP_CROSS_ENTROPY;
    CHECK_STATUS(pybp_model_size(&net, &nbytes), PYBP_OK);
    CHECK(nbytes == sizeof golden);
    /* A larger buffer: the bytes past the image stay as they were. */
    b = malloc(sizeof golden + 16);
    if (b == NULL)
        exit(2);
    memset(b, 0xA5, sizeof golden + 16);
    CHECK_STATUS(pybp_model_write(&net, params, 9, b, sizeof golden + 16),
                 PYBP_OK);
    CHECK(memcmp(b, golden, sizeof golden) == 0);
    for (i = sizeof golden; i < sizeof golden + 16; i++)
        CHECK(b[i] == 0xA5);
    free(b);
}

/* ---- round trip of a bigger network ------------------------------------- */

/* Deterministic bit patterns, any sign and exponent except inf/NaN. */
static uint64_t next_bits(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    if ((x >> 52 & 0x7FFu) == 0x7FFu)
        x ^= (uint64_t)1 << 62;   /* clear one exponent bit: finite again */
    return x;
}

static void test_round_trip(void)
{
    static const size_t sizes[4] = {5, 7, 4, 3};
    static const int acts[3] = {PYBP_RELU, PYBP_TANH, PYBP_SOFTMAX};
    enum { P = 7 * 6 + 4 * 8 + 3 * 5 };
    double params[P], back[P];
    size_t got_sizes[4], nbytes = 0, nl = 0, np = 0, i;
    int got_acts[3], cost = 0, same = 1;
    uint64_t state = 0x9E3779B97F4A7C15u;
    unsigned char *b;
    pybp_net net;

    for (i = 0; i < P; i++) {
        uint64_t u = next_bits(&state);
        memcpy(&params[i], &u, sizeof u);
    }
    net.nlayers = 4;
    net.sizes = sizes;
    net.activations = acts;
    net.cost = PYBP_LOG_LIKELIHOOD;
    CHECK_STATUS(pybp_model_size(&net, &nbytes), PYBP_OK);
    CHECK(nbytes == 28 + 8 * 4 + 8 * (size_t)P);
    b = malloc(nbytes);
    if (b == NULL)
        exit(2);
    CHECK_STATUS(pybp_model_write(&net, params, P, b, nbytes), PYBP_OK);
    CHECK(ref_crc32(b, nbytes - 4) == ((uint32_t)b[nbytes - 4]
          | (uint32_t)b[nbytes - 3] << 8 | (uint32_t)b[nbytes - 2] << 16
          | (uint32_t)b[nbytes - 1] << 24));
    CHECK_STATUS(pybp_model_info(b, nbytes, &nl, &np), PYBP_OK);
    CHECK(nl == 4 && np == P);
    CHECK_STATUS(pybp_model_read(b, nbytes, got_sizes, 4, got_acts, &cost,
                                 back, P), PYBP_OK);
    for (i = 0; i < 4; i++)
        CHECK(got_sizes[i] == sizes[i]);
    for (i = 0; i < 3; i++)
        CHECK(got_acts[i] == acts[i]);
    CHECK(cost == PYBP_LOG_LIKELIHOOD);
    for (i = 0; i < P; i++)
        if (bits_of(back[i]) != bits_of(params[i]))
            same = 0;
    CHECK(same);

    /* Every byte of this file, replaced by its complement, is caught. */
    for (i = 0; i < nbytes; i++) {
        b[i] ^= 0xFF;
        if (pybp_model_info(b, nbytes, &nl, &np) == PYBP_OK) {
            failed++;
            printf("FAIL: complemented byte %lu accepted\n", (unsigned long)i);
        } else {
            passed++;
        }
        b[i] ^= 0xFF;
    }
    free(b);
}

/* ---- corruption and truncation ------------------------------------------ */

static void test_corruption(void)
{
    static const unsigned char masks[] = {
        0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF, 0x5A
    };
    size_t i, k, nl, np, sizes[3];
    int acts[2], cost;
    double params[9];

    for (i = 0; i < sizeof golden; i++) {
        for (k = 0; k < sizeof masks; k++) {
            unsigned char *b = copy_of(golden, sizeof golden);
            int s1, s2;
            b[i] ^= masks[k];
            s1 = pybp_model_info(b, sizeof golden, &nl, &np);
            s2 = pybp_model_read(b, sizeof golden, sizes, 3, acts, &cost,
                                 params, 9);
            if (s1 == PYBP_OK || s2 == PYBP_OK) {
                failed++;
                printf("FAIL: byte %lu ^ 0x%02x accepted (%d, %d)\n",
                       (unsigned long)i, masks[k], s1, s2);
            } else {
                passed++;
            }
            free(b);
        }
    }
}

static void test_truncation(void)
{
    size_t len, nl, np, sizes[3];
    int acts[2], cost;
    double params[9];
    unsigned char *b;

    for (len = 0; len < sizeof golden; len++) {
        int s1, s2;
        b = copy_of(golden, len);
        s1 = pybp_model_info(b, len, &nl, &np);
        s2 = pybp_model_read(b, len, sizes, 3, acts, &cost, params, 9);
        if (s1 != PYBP_ETRUNCATED || s2 != PYBP_ETRUNCATED) {
            failed++;
            printf("FAIL: %lu-byte prefix gave %d, %d\n", (unsigned long)len,
                   s1, s2);
        } else {
            passed++;
        }
        free(b);
    }
    /* One byte too many is a format error, not a truncation. */
    b = malloc(sizeof golden + 1);
    if (b == NULL)
        exit(2);
    memcpy(b, golden, sizeof golden);
    b[sizeof golden] = 0;
    CHECK_STATUS(pybp_model_info(b, sizeof golden + 1, &nl, &np), PYBP_EFORMAT);
    free(b);
    /* Something that is not a model file at all. */
    b = copy_of((const unsigned char *)"GIF89a", 6);
    CHECK_STATUS(pybp_model_info(b, 6, &nl, &np), PYBP_EFORMAT);
    free(b);
}

/* ---- crafted headers with correct checksums ----------------------------- */

static void test_crafted(void)
{
    static const uint32_t sizes3[3] = {2, 2, 1};
    static const uint32_t acts_ok[2] = {PYBP_TANH, PYBP_SIGMOID};
    uint32_t sz[3], ac[2];
    uint64_t pbits[9];
    raw_model m;

    memcpy(pbits, golden_bits, sizeof pbits);
    m.version = 1;
    m.nlayers = 3;
    m.cost = PYBP_CROSS_ENTROPY;
    m.sizes = sizes3;
    m.acts = acts_ok;
    m.count = 9;
    m.params = pbits;
    m.nparams = 9;
    CHECK_STATUS(info_status(&m), PYBP_OK);   /* the encoder is right */

    m.version = 2;
    CHECK_STATUS(info_status(&m), PYBP_EVERSION);
    m.version = 0;
    CHECK_STATUS(info_status(&m), PYBP_EVERSION);
    m.version = 1;

    m.cost = 0;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.cost = 4;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.cost = PYBP_QUADRATIC;
    CHECK_STATUS(info_status(&m), PYBP_OK);
    m.cost = PYBP_LOG_LIKELIHOOD;              /* needs softmax outputs */
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.cost = PYBP_CROSS_ENTROPY;

    m.acts = ac;
    ac[0] = PYBP_TANH;
    ac[1] = 0;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    ac[1] = 6;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    ac[1] = PYBP_TANH;                         /* cross-entropy needs sigmoid */
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    ac[0] = PYBP_SOFTMAX;                      /* softmax on a hidden layer */
    ac[1] = PYBP_SIGMOID;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    ac[0] = PYBP_TANH;
    ac[1] = PYBP_SOFTMAX;
    m.cost = PYBP_QUADRATIC;                   /* quadratic with softmax */
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.cost = PYBP_LOG_LIKELIHOOD;
    CHECK_STATUS(info_status(&m), PYBP_OK);
    m.cost = PYBP_CROSS_ENTROPY;
    m.acts = acts_ok;

    m.count = 8;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.count = 9 + ((uint64_t)1 << 61);         /* 8 * P wraps to 72 */
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.count = 9;

    pbits[4] = 0x7FF0000000000000u;            /* +inf */
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    pbits[4] = 0xFFF8000000000000u;            /* a NaN */
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    pbits[4] = 0x7FEFFFFFFFFFFFFFu;            /* the largest double is fine */
    CHECK_STATUS(info_status(&m), PYBP_OK);
    pbits[4] = golden_bits[4];

    m.sizes = sz;
    memcpy(sz, sizes3, sizeof sz);
    sz[1] = 0;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    /* Sizes whose parameter count overflows 64 bits. */
    sz[0] = sz[1] = sz[2] = 0xFFFFFFFFu;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.sizes = sizes3;

    /* Layer counts outside 2 .. 64 (the count is checked before sizes). */
    m.nlayers = 1;
    CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    m.nlayers = 65;
    m.nparams = 0;
    {
        static uint32_t many[65], many_acts[64];
        size_t i;
        for (i = 0; i < 65; i++)
            many[i] = 1;
        for (i = 0; i < 64; i++)
            many_acts[i] = PYBP_SIGMOID;
        m.sizes = many;
        m.acts = many_acts;
        CHECK_STATUS(info_status(&m), PYBP_EFORMAT);
    }
}

/* A consistent header for a network far too big to be in memory. */
static void test_huge_header(void)
{
    static const uint32_t sizes[2] = {0xFFFFFFFFu, 0xFFFFFFFFu};
    static const uint32_t acts[1] = {PYBP_SIGMOID};
    raw_model m;

    m.version = 1;
    m.nlayers = 2;
    m.cost = PYBP_QUADRATIC;
    m.sizes = sizes;
    m.acts = acts;
    m.count = (uint64_t)0xFFFFFFFFu * 0x100000000u;
    m.params = NULL;
    m.nparams = 0;
    CHECK_STATUS(info_status(&m), PYBP_ETRUNCATED);
}

/* ---- argument errors ----------------------------------------------------- */

static void test_arguments(void)
{
    unsigned char *b = copy_of(golden, sizeof golden);
    size_t nl = 99, np = 99, sizes[3] = {7, 7, 7}, zero = 0;
    int acts[2] = {7, 7}, cost = 7;
    double params[9] = {0};
    unsigned char out[124];
    pybp_net net;
    size_t big[3];
    int bad_acts[2];

    CHECK_STATUS(pybp_model_info(NULL, 0, &nl, &np), PYBP_ENULL);
    CHECK_STATUS(pybp_model_info(NULL, sizeof golden, &nl, &np), PYBP_ENULL);
    CHECK_STATUS(pybp_model_info(b, sizeof golden, NULL, &np), PYBP_ENULL);
    CHECK_STATUS(pybp_model_info(b, sizeof golden, &nl, NULL), PYBP_ENULL);
    CHECK(nl == 99 && np == 99);

    CHECK_STATUS(pybp_model_read(NULL, sizeof golden, sizes, 3, acts, &cost,
                                 params, 9), PYBP_ENULL);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, NULL, 3, acts, &cost,
                                 params, 9), PYBP_ENULL);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 3, NULL, &cost,
                                 params, 9), PYBP_ENULL);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 3, acts, NULL,
                                 params, 9), PYBP_ENULL);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 3, acts, &cost,
                                 NULL, 9), PYBP_ENULL);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 2, acts, &cost,
                                 params, 9), PYBP_ELENGTH);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 4, acts, &cost,
                                 params, 9), PYBP_ELENGTH);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 3, acts, &cost,
                                 params, 8), PYBP_ELENGTH);
    CHECK_STATUS(pybp_model_read(b, sizeof golden, sizes, 3, acts, &cost,
                                 params, 10), PYBP_ELENGTH);
    /* A failed read leaves every output untouched. */
    CHECK(sizes[0] == 7 && acts[0] == 7 && cost == 7 && bits_of(params[0]) == 0);

    net.nlayers = 3;
    net.sizes = golden_sizes;
    net.activations = golden_acts;
    net.cost = PYBP_CROSS_ENTROPY;
    CHECK_STATUS(pybp_model_size(NULL, &zero), PYBP_ENULL);
    CHECK_STATUS(pybp_model_size(&net, NULL), PYBP_ENULL);
    CHECK_STATUS(pybp_model_write(NULL, params, 9, out, sizeof out), PYBP_ENULL);
    CHECK_STATUS(pybp_model_write(&net, NULL, 9, out, sizeof out), PYBP_ENULL);
    CHECK_STATUS(pybp_model_write(&net, params, 9, NULL, sizeof out), PYBP_ENULL);
    CHECK_STATUS(pybp_model_write(&net, params, 8, out, sizeof out), PYBP_ELENGTH);
    CHECK_STATUS(pybp_model_write(&net, params, 10, out, sizeof out), PYBP_ELENGTH);
    CHECK_STATUS(pybp_model_write(&net, params, 9, out, sizeof out - 1),
                 PYBP_ELENGTH);
    {
        uint64_t quiet_nan = 0x7FF8000000000000u;
        memcpy(&params[3], &quiet_nan, sizeof params[3]);
    }
    memset(out, 0x33, sizeof out);
    CHECK_STATUS(pybp_model_write(&net, params, 9, out, sizeof out), PYBP_EVALUE);
    CHECK(out[0] == 0x33 && out[sizeof out - 1] == 0x33);
    params[3] = 0.0;

    net.sizes = NULL;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ENULL);
    net.sizes = golden_sizes;
    net.activations = NULL;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ENULL);
    net.activations = golden_acts;

    net.nlayers = 1;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ESIZE);
    net.nlayers = PYBP_MAX_LAYERS + 1;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ESIZE);
    net.nlayers = 3;

    memcpy(big, golden_sizes, sizeof big);
    net.sizes = big;
    big[2] = 0;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ESIZE);
#if SIZE_MAX > 0xFFFFFFFFu
    big[2] = (size_t)0xFFFFFFFFu + 1;          /* does not fit the format */
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ESIZE);
    big[0] = big[1] = big[2] = 0xFFFFFFFFu;    /* P overflows size_t */
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_EOVERFLOW);
    net.nlayers = 2;                           /* P fits, 8 * P does not */
    net.cost = PYBP_QUADRATIC;                 /* the output is tanh here */
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_EOVERFLOW);
    net.nlayers = 3;
    net.cost = PYBP_CROSS_ENTROPY;
#endif
    net.sizes = golden_sizes;

    net.activations = bad_acts;
    bad_acts[0] = PYBP_TANH;
    bad_acts[1] = 0;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_EACTIVATION);
    bad_acts[1] = -1;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_EACTIVATION);
    bad_acts[1] = 6;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_EACTIVATION);
    bad_acts[0] = PYBP_SOFTMAX;
    bad_acts[1] = PYBP_SIGMOID;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ESOFTMAX);
    /* Softmax on a hidden layer and an unknown code: EACTIVATION, as from
     * pybp_nparams (found by fuzz/fuzz_entry.c). */
    bad_acts[1] = 6;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_EACTIVATION);
    CHECK_STATUS(pybp_model_write(&net, params, 9, out, sizeof out),
                 PYBP_EACTIVATION);
    bad_acts[0] = PYBP_RELU;
    bad_acts[1] = PYBP_IDENTITY;               /* cross-entropy: sigmoid only */
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ECOMBINATION);
    net.cost = PYBP_QUADRATIC;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_OK);
    net.cost = PYBP_LOG_LIKELIHOOD;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ECOMBINATION);
    bad_acts[1] = PYBP_SOFTMAX;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_OK);
    net.cost = PYBP_QUADRATIC;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ECOMBINATION);
    net.cost = 0;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ECOST);
    net.cost = 4;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ECOST);
    net.cost = -3;
    CHECK_STATUS(pybp_model_size(&net, &zero), PYBP_ECOST);
    free(b);
}

int main(void)
{
    test_crc_reference();
    test_golden_read();
    test_golden_write();
    test_round_trip();
    test_corruption();
    test_truncation();
    test_crafted();
    test_huge_header();
    test_arguments();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
