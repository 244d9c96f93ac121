/*
 * fuzz_model.c - libFuzzer target for the model-file reader and writer
 * (csrc/pybp_model.c, docs/model-format.md).
 *
 * Input: one mode byte, then a file image.  Mode bit 0 makes the harness
 * recompute the trailing CRC-32 (with its own bitwise CRC) before parsing:
 * random bytes almost never carry a valid checksum, and without the fix-up
 * the fuzzer would rarely get past it to the parameter checks, the reader's
 * copy-out and the writer.
 *
 * Checked, beyond "no sanitizer report":
 *   - a failed info/read returns one of the four file statuses, both agree,
 *     and a failed read leaves every output untouched;
 *   - on success: the sizes add up (28 + 8N + 8P bytes), the reader rejects
 *     wrong nsizes/nparams with PYBP_ELENGTH without writing, pybp_nparams
 *     (the validator in pybp.c) agrees with the file's P, pybp_model_size is
 *     the input length, and pybp_model_write reproduces the input exactly,
 *     touching nothing past it and refusing a buffer one byte short;
 *   - every proper prefix of an accepted file is PYBP_ETRUNCATED.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pybp.h"

/* Bigger files are valid, but a harness must bound what it allocates. */
#define MAX_PARAMS ((size_t)1 << 24)

#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_model: %s:%d: invariant failed: %s\n",     \
                    __FILE__, __LINE__, #cond);                              \
            abort();                                                         \
        }                                                                    \
    } while (0)

static uint32_t bit_crc32(const unsigned char *p, size_t n)
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

static int is_file_status(int st)
{
    return st == PYBP_EFORMAT || st == PYBP_ECHECKSUM
        || st == PYBP_ETRUNCATED || st == PYBP_EVERSION;
}

/* Heap copy of exactly n bytes, so ASan sees any read past the image. */
static unsigned char *dup_exact(const uint8_t *p, size_t n)
{
    unsigned char *b = malloc(n ? n : 1);
    REQUIRE(b != NULL);
    if (n)
        memcpy(b, p, n);
    return b;
}

static void check_rejected(const unsigned char *img, size_t len, int st)
{
    size_t sizes[3] = {7, 7, 7};
    int acts[2] = {7, 7}, cost = 7;
    double params[4] = {7, 7, 7, 7};
    int st2;

    REQUIRE(is_file_status(st));
    st2 = pybp_model_read(img, len, sizes, 3, acts, &cost, params, 4);
    REQUIRE(st2 == st);
    REQUIRE(sizes[0] == 7 && sizes[1] == 7 && sizes[2] == 7);
    REQUIRE(acts[0] == 7 && acts[1] == 7 && cost == 7);
    REQUIRE(params[0] == 7 && params[3] == 7);
}

static void check_accepted(const unsigned char *img, size_t len,
                           size_t nl, size_t np)
{
    size_t *sizes, cut, nbytes = 0, np2 = 0;
    int *acts, cost = -1, st;
    double *params;
    unsigned char *out;
    pybp_net net;
    size_t prefixes;

    REQUIRE(nl >= 2 && nl <= PYBP_MAX_LAYERS);
    REQUIRE(len == 28 + 8 * nl + 8 * np);

    sizes = malloc(nl * sizeof *sizes);
    acts = malloc((nl - 1) * sizeof *acts);
    params = malloc((np + 1) * sizeof *params);
    REQUIRE(sizes && acts && params);

    /* Wrong lengths: refused, nothing written. */
    params[0] = 42.0;
    sizes[0] = 42;
    st = pybp_model_read(img, len, sizes, nl - 1, acts, &cost, params, np);
    REQUIRE(st == PYBP_ELENGTH && sizes[0] == 42 && cost == -1);
    st = pybp_model_read(img, len, sizes, nl, acts, &cost, params, np + 1);
    REQUIRE(st == PYBP_ELENGTH && sizes[0] == 42 && params[0] == 42.0);
    if (np > 0) {
        st = pybp_model_read(img, len, sizes, nl, acts, &cost, params, np - 1);
        REQUIRE(st == PYBP_ELENGTH && sizes[0] == 42 && cost == -1);
    }

    st = pybp_model_read(img, len, sizes, nl, acts, &cost, params, np);
    REQUIRE(st == PYBP_OK);

    /* The other validator (pybp.c) must agree with the file's P. */
    memset(&net, 0, sizeof net);
    net.nlayers = nl;
    net.sizes = sizes;
    net.activations = acts;
    net.cost = cost;
    REQUIRE(pybp_nparams(&net, &np2) == PYBP_OK);
    REQUIRE(np2 == np);

    REQUIRE(pybp_model_size(&net, &nbytes) == PYBP_OK);
    REQUIRE(nbytes == len);

    /* Round trip: the same bytes, and nothing written past them. */
    out = malloc(len + 16);
    REQUIRE(out != NULL);
    memset(out, 0xA5, len + 16);
    REQUIRE(pybp_model_write(&net, params, np, out, len - 1) == PYBP_ELENGTH);
    for (cut = 0; cut < len + 16; cut++)
        REQUIRE(out[cut] == 0xA5);
    REQUIRE(pybp_model_write(&net, params, np, out, len + 16) == PYBP_OK);
    REQUIRE(memcmp(out, img, len) == 0);
    for (cut = len; cut < len + 16; cut++)
        REQUIRE(out[cut] == 0xA5);
    free(out);

    /* Any proper prefix reads as truncated.  Each costs O(N) before the
     * length check fails, so trying them all is cheap for small files. */
    prefixes = len <= 4096 ? len : 64;
    for (cut = 0; cut < prefixes; cut++) {
        size_t k = len <= 4096 ? cut : (cut * 2654435761u) % len;
        size_t a, b;
        REQUIRE(pybp_model_info(img, k, &a, &b) == PYBP_ETRUNCATED);
    }

    free(sizes);
    free(acts);
    free(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *img;
    size_t len, nl = 0, np = 0;
    int st;

    if (size < 1)
        return 0;
    len = size - 1;
    img = dup_exact(data + 1, len);
    if ((data[0] & 1) && len >= 4) {
        uint32_t crc = bit_crc32(img, len - 4);
        img[len - 4] = (unsigned char)(crc & 0xFF);
        img[len - 3] = (unsigned char)(crc >> 8 & 0xFF);
        img[len - 2] = (unsigned char)(crc >> 16 & 0xFF);
        img[len - 1] = (unsigned char)(crc >> 24 & 0xFF);
    }

    st = pybp_model_info(img, len, &nl, &np);
    if (st != PYBP_OK)
        check_rejected(img, len, st);
    else if (np <= MAX_PARAMS)
        check_accepted(img, len, nl, np);
    free(img);
    return 0;
}
