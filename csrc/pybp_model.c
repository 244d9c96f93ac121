/*
 * pybp_model.c - model files (docs/model-format.md) as in-memory images.
 *
 * The caller does the file I/O; this file only encodes and decodes bytes, so
 * it needs neither stdio nor malloc.  Every multi-byte field is assembled
 * byte by byte, which makes the code independent of the host byte order and
 * of alignment.  Nothing is read before the length has been checked to cover
 * it, and nothing is written until every check has passed, so a failed call
 * leaves all outputs untouched.
 *
 * This file does not depend on pybp.c: it validates networks itself, so it
 * can be linked on its own (the model tests do exactly that).
 */
#include <string.h>
#include <stdint.h>

#include "pybp.h"

/* Doubles are stored as their IEEE-754 bit patterns through uint64_t. */
typedef char pybp_model_double_is_64_bits[sizeof(double) == 8 ? 1 : -1];

static const unsigned char model_magic[8] = {
    'P', 'Y', 'B', 'P', 'N', 'E', 'T', '\0'
};

#define MODEL_VERSION   1u
#define OFF_VERSION     8u
#define OFF_NLAYERS     12u
#define OFF_COST        16u
#define OFF_SIZES       20u   /* end of the fixed part of the header */

/* Bytes before the parameters: fixed part, sizes, activations, u64 P. */
static size_t params_offset(size_t nlayers)
{
    return OFF_SIZES + 4 * nlayers + 4 * (nlayers - 1) + 8;
}

/* ---- little-endian fields ------------------------------------------------ */

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
         | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xFFu);
    p[1] = (unsigned char)(v >> 8 & 0xFFu);
    p[2] = (unsigned char)(v >> 16 & 0xFFu);
    p[3] = (unsigned char)(v >> 24 & 0xFFu);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v & 0xFFFFFFFFu));
    put_u32(p + 4, (uint32_t)(v >> 32));
}

/* Infinities and NaNs are the doubles whose 11 exponent bits are all ones. */
static int bits_finite(uint64_t bits)
{
    return (bits >> 52 & 0x7FFu) != 0x7FFu;
}

/* ---- CRC-32 (the zlib/IEEE one, reflected polynomial 0xEDB88320) --------- */

/* A nibble table: 16 entries instead of 256, two lookups per byte. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu,
    0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu
};

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = crc >> 4 ^ crc_nibble[crc & 15u];
        crc = crc >> 4 ^ crc_nibble[crc & 15u];
    }
    return crc ^ 0xFFFFFFFFu;
}

/* Whether a size_t fits a u32 field (always, where size_t has 32 bits). */
static int fits_u32(size_t n)
{
#if SIZE_MAX > UINT32_MAX
    return n <= UINT32_MAX;
#else
    (void)n;
    return 1;
#endif
}

/* ---- rules shared by the writer and the reader --------------------------- */

/* The status for activation `act` on layer l (1-based) of an L-layer net. */
static int check_activation(uint32_t act, size_t l, size_t L)
{
    if (act < PYBP_SIGMOID || act > PYBP_SOFTMAX)
        return PYBP_EACTIVATION;
    if (act == PYBP_SOFTMAX && l != L)
        return PYBP_ESOFTMAX;
    return PYBP_OK;
}

/* The status for the pairing of a cost with the output activation. */
static int check_cost(uint32_t cost, uint32_t out_act)
{
    switch (cost) {
    case PYBP_QUADRATIC:
        return out_act == PYBP_SOFTMAX ? PYBP_ECOMBINATION : PYBP_OK;
    case PYBP_CROSS_ENTROPY:
        return out_act == PYBP_SIGMOID ? PYBP_OK : PYBP_ECOMBINATION;
    case PYBP_LOG_LIKELIHOOD:
        return out_act == PYBP_SOFTMAX ? PYBP_OK : PYBP_ECOMBINATION;
    default:
        return PYBP_ECOST;
    }
}

/* ---- reading ------------------------------------------------------------- */

/* What a successful parse learns about a file image. */
typedef struct model_header {
    size_t nlayers;
    size_t nparams;
    size_t off_params;
} model_header;

/*
 * Checks a whole file image and fills *h.  A file that is a proper prefix
 * of a valid one always gives PYBP_ETRUNCATED: each field is examined only
 * once the bytes holding it are known to be present.
 */
static int parse_model(const unsigned char *b, size_t len, model_header *h)
{
    uint64_t p = 0, stored_p;
    size_t nl, l, off, total, body;
    uint32_t cost, act = 0;

    if (len < sizeof model_magic)
        return memcmp(b, model_magic, len) == 0 ? PYBP_ETRUNCATED
                                                : PYBP_EFORMAT;
    if (memcmp(b, model_magic, sizeof model_magic) != 0)
        return PYBP_EFORMAT;
    if (len < OFF_NLAYERS)
        return PYBP_ETRUNCATED;
    if (get_u32(b + OFF_VERSION) != MODEL_VERSION)
        return PYBP_EVERSION;
    if (len < OFF_SIZES)
        return PYBP_ETRUNCATED;
    if (get_u32(b + OFF_NLAYERS) < 2 || get_u32(b + OFF_NLAYERS) > PYBP_MAX_LAYERS)
        return PYBP_EFORMAT;
    nl = get_u32(b + OFF_NLAYERS);
    cost = get_u32(b + OFF_COST);
    if (cost < PYBP_QUADRATIC || cost > PYBP_LOG_LIKELIHOOD)
        return PYBP_EFORMAT;

    off = params_offset(nl);
    if (len < off)
        return PYBP_ETRUNCATED;

    /* Each term n_l * (n_{l-1} + 1) is below 2^64 for 32-bit sizes; only
     * the running sum can overflow. */
    for (l = 0; l < nl; l++) {
        uint64_t n = get_u32(b + OFF_SIZES + 4 * l);
        if (n == 0)
            return PYBP_EFORMAT;
        if (l > 0) {
            uint64_t term = n * ((uint64_t)get_u32(b + OFF_SIZES + 4 * (l - 1)) + 1);
            if (p > UINT64_MAX - term)
                return PYBP_EFORMAT;
            p += term;
        }
    }
    for (l = 1; l < nl; l++) {
        act = get_u32(b + OFF_SIZES + 4 * nl + 4 * (l - 1));
        if (check_activation(act, l, nl - 1) != PYBP_OK)
            return PYBP_EFORMAT;
    }
    if (check_cost(cost, act) != PYBP_OK)
        return PYBP_EFORMAT;
    stored_p = get_u64(b + off - 8);
    if (stored_p != p)
        return PYBP_EFORMAT;

    /* A file longer than size_t can count cannot be in this buffer. */
    if (p > (SIZE_MAX - off - 4) / 8)
        return PYBP_ETRUNCATED;
    body = off + 8 * (size_t)p;
    total = body + 4;
    if (len < total)
        return PYBP_ETRUNCATED;
    if (len > total)
        return PYBP_EFORMAT;
    if (get_u32(b + body) != crc32_of(b, body))
        return PYBP_ECHECKSUM;
    for (l = 0; l < (size_t)p; l++)
        if (!bits_finite(get_u64(b + off + 8 * l)))
            return PYBP_EFORMAT;

    h->nlayers = nl;
    h->nparams = (size_t)p;
    h->off_params = off;
    return PYBP_OK;
}

int pybp_model_info(const void *buf, size_t len, size_t *nlayers,
                    size_t *nparams)
{
    model_header h;
    int status;

    if (buf == NULL || nlayers == NULL || nparams == NULL)
        return PYBP_ENULL;
    status = parse_model((const unsigned char *)buf, len, &h);
    if (status != PYBP_OK)
        return status;
    *nlayers = h.nlayers;
    *nparams = h.nparams;
    return PYBP_OK;
}

int pybp_model_read(const void *buf, size_t len, size_t *sizes, size_t nsizes,
                    int *activations, int *cost, double *params,
                    size_t nparams)
{
    const unsigned char *b = (const unsigned char *)buf;
    model_header h;
    size_t i;
    int status;

    if (buf == NULL || sizes == NULL || activations == NULL || cost == NULL
        || params == NULL)
        return PYBP_ENULL;
    status = parse_model(b, len, &h);
    if (status != PYBP_OK)
        return status;
    if (nsizes != h.nlayers || nparams != h.nparams)
        return PYBP_ELENGTH;

    for (i = 0; i < h.nlayers; i++)
        sizes[i] = get_u32(b + OFF_SIZES + 4 * i);
    for (i = 0; i + 1 < h.nlayers; i++)
        activations[i] = (int)get_u32(b + OFF_SIZES + 4 * h.nlayers + 4 * i);
    *cost = (int)get_u32(b + OFF_COST);
    for (i = 0; i < h.nparams; i++) {
        uint64_t bits = get_u64(b + h.off_params + 8 * i);
        memcpy(&params[i], &bits, sizeof bits);
    }
    return PYBP_OK;
}

/* ---- writing ------------------------------------------------------------- */

/*
 * Validates a network the way pybp_nparams does and stores the size of its
 * file image in *nbytes and its parameter count in *np.  Sizes must also fit
 * the format's u32 fields.
 */
static int model_layout(const pybp_net *net, size_t *nbytes, size_t *np)
{
    size_t l, nl, p = 0, off;
    int status;

    if (net == NULL || net->sizes == NULL || net->activations == NULL)
        return PYBP_ENULL;
    nl = net->nlayers;
    if (nl < 2 || nl > PYBP_MAX_LAYERS)
        return PYBP_ESIZE;
    for (l = 0; l < nl; l++) {
        size_t n = net->sizes[l];
        if (n == 0 || !fits_u32(n))
            return PYBP_ESIZE;
    }
    /* Every code's range before softmax's place, as pybp_nparams checks:
     * a network with both problems gets the same status from both. */
    for (l = 1; l < nl; l++) {
        int act = net->activations[l - 1];
        if (act < PYBP_SIGMOID || act > PYBP_SOFTMAX)
            return PYBP_EACTIVATION;
    }
    for (l = 1; l < nl; l++) {
        status = check_activation((uint32_t)net->activations[l - 1], l, nl - 1);
        if (status != PYBP_OK)
            return status;
    }
    if (net->cost < 0)
        return PYBP_ECOST;
    status = check_cost((uint32_t)net->cost, (uint32_t)net->activations[nl - 2]);
    if (status != PYBP_OK)
        return status;

    for (l = 1; l < nl; l++) {
        size_t rows = net->sizes[l], cols = net->sizes[l - 1] + 1;
        if (cols == 0 || rows > SIZE_MAX / cols || p > SIZE_MAX - rows * cols)
            return PYBP_EOVERFLOW;
        p += rows * cols;
    }
    off = params_offset(nl);
    if (p > (SIZE_MAX - off - 4) / 8)
        return PYBP_EOVERFLOW;
    *nbytes = off + 8 * p + 4;
    *np = p;
    return PYBP_OK;
}

int pybp_model_size(const pybp_net *net, size_t *nbytes)
{
    size_t size, np;
    int status;

    if (nbytes == NULL)
        return PYBP_ENULL;
    status = model_layout(net, &size, &np);
    if (status != PYBP_OK)
        return status;
    *nbytes = size;
    return PYBP_OK;
}

int pybp_model_write(const pybp_net *net, const double *params,
                     size_t nparams, void *buf, size_t len)
{
    unsigned char *b = (unsigned char *)buf;
    size_t size, np, nl, off, i;
    uint64_t bits;
    int status;

    status = model_layout(net, &size, &np);
    if (status != PYBP_OK)
        return status;
    if (params == NULL || buf == NULL)
        return PYBP_ENULL;
    if (nparams != np || len < size)
        return PYBP_ELENGTH;
    /* The reader rejects such files, so refuse to write them. */
    for (i = 0; i < np; i++) {
        memcpy(&bits, &params[i], sizeof bits);
        if (!bits_finite(bits))
            return PYBP_EVALUE;
    }

    nl = net->nlayers;
    memcpy(b, model_magic, sizeof model_magic);
    put_u32(b + OFF_VERSION, MODEL_VERSION);
    put_u32(b + OFF_NLAYERS, (uint32_t)nl);
    put_u32(b + OFF_COST, (uint32_t)net->cost);
    for (i = 0; i < nl; i++)
        put_u32(b + OFF_SIZES + 4 * i, (uint32_t)net->sizes[i]);
    for (i = 0; i + 1 < nl; i++)
        put_u32(b + OFF_SIZES + 4 * nl + 4 * i, (uint32_t)net->activations[i]);
    off = params_offset(nl);
    put_u64(b + off - 8, (uint64_t)np);
    for (i = 0; i < np; i++) {
        memcpy(&bits, &params[i], sizeof bits);
        put_u64(b + off + 8 * i, bits);
    }
    put_u32(b + off + 8 * np, crc32_of(b, off + 8 * np));
    return PYBP_OK;
}
