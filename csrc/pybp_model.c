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
 * The network rules are the kernels' own (pybp_net.c); nothing else of the
 * library is needed, so this file and pybp_net.c can be linked on their own
 * (tests/test_model.py and fuzz/build.sh build model tools that way).
 */
#include <limits.h>
#include <string.h>
#include <stdint.h>

#include "pybp.h"
#include "pybp_net.h"

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

/* The largest layer size a u32 field holds (every size_t, where size_t has
 * 32 bits). */
#if SIZE_MAX > UINT32_MAX
#define MODEL_MAX_SIZE ((size_t)UINT32_MAX)
#else
#define MODEL_MAX_SIZE SIZE_MAX
#endif

/* A u32 code field as an int; a value no int holds is no code either. */
static int code_of(uint32_t v)
{
    return v <= (uint32_t)INT_MAX ? (int)v : -1;
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
    uint64_t p, stored_p;
    size_t nl, l, off, total, body, sizes[PYBP_MAX_LAYERS];
    int acts[PYBP_MAX_LAYERS];
    uint32_t cost;

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
    /* The fixed part's counts and codes as soon as they are present, so that
     * a bad one is EFORMAT even in a file cut short; the network rules
     * check them again below. */
    if (get_u32(b + OFF_NLAYERS) < 2 || get_u32(b + OFF_NLAYERS) > PYBP_MAX_LAYERS)
        return PYBP_EFORMAT;
    nl = get_u32(b + OFF_NLAYERS);
    cost = get_u32(b + OFF_COST);
    if (cost < PYBP_QUADRATIC || cost > PYBP_LOG_LIKELIHOOD)
        return PYBP_EFORMAT;

    off = params_offset(nl);
    if (len < off)
        return PYBP_ETRUNCATED;

    /* The network rules, and P in 64 bits as the file stores it: a network
     * the rules refuse, or whose P overflows, is a malformed file. */
    for (l = 0; l < nl; l++)
        sizes[l] = get_u32(b + OFF_SIZES + 4 * l);
    for (l = 0; l + 1 < nl; l++)
        acts[l] = code_of(get_u32(b + OFF_SIZES + 4 * nl + 4 * l));
    if (pybp__check_net_rules(nl, sizes, acts, code_of(cost), MODEL_MAX_SIZE,
                              &p) != PYBP_OK)
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
 * Validates a network by the rules pybp_nparams applies (pybp_net.c) and
 * stores the size of its file image in *nbytes and its parameter count in
 * *np.  Sizes must also fit the format's u32 fields.
 */
static int model_layout(const pybp_net *net, size_t *nbytes, size_t *np)
{
    size_t nl, p, off;
    uint64_t p64;
    int status;

    if (net == NULL || net->sizes == NULL || net->activations == NULL)
        return PYBP_ENULL;
    status = pybp__check_net_rules(net->nlayers, net->sizes,
                                   net->activations, net->cost,
                                   MODEL_MAX_SIZE, &p64);
    if (status != PYBP_OK)
        return status;
    p = (size_t)p64;
    if (p != p64)                   /* P must count the caller's params */
        return PYBP_EOVERFLOW;
    nl = net->nlayers;
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
