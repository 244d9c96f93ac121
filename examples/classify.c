/*
 * classify.c - run a pybp model on MNIST test images, in C.
 *
 *   classify [-p] MODEL IMAGES [LABELS]
 *
 * MODEL is a model file saved from Python (pybp train --save m.pybp, or
 * pybp.Network.save); IMAGES and LABELS are plain (uncompressed) IDX files,
 * e.g. t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.  With LABELS the
 * program prints the accuracy in the form pybp evaluate uses,
 *
 *   9121/10000 correct (91.21%)
 *
 * and with -p it first prints the predicted class of every image, one per
 * line, as pybp predict does (-p is implied when LABELS is left out).
 *
 * Build: see examples/README.md (pkg-config --cflags --libs pybp, or CMake).
 * Every pybp call's status is checked; a bad file ends the program with a
 * message naming it and exit status 1 (2 for bad usage).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pybp.h>

#define PROGRAM "classify"

/* Files larger than this are refused before they are read further. */
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* Images per pybp_feedforward call; any count gives the same outputs. */
#define CHUNK 256

/* IDX files may have up to 255 dimensions; this program needs at most a
 * handful but reads any header. */
#define IDX_MAX_DIMS 255

static void fail(const char *what, const char *message)
{
    fprintf(stderr, PROGRAM ": %s: %s\n", what, message);
}

/* ---- files --------------------------------------------------------------- */

/*
 * Reads a whole file into a malloc'd buffer.  Returns 0 and sets *buf, *len,
 * or prints why not and returns -1.  Works for pipes and devices too: the
 * file is read in pieces until its end, not sized with fseek.
 */
static int read_file(const char *path, unsigned char **buf, size_t *len)
{
    FILE *f;
    unsigned char *data = NULL;
    size_t size = 0, cap = 0;

    errno = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        fail(path, errno ? strerror(errno) : "cannot open");
        return -1;
    }
    for (;;) {
        size_t got;
        if (size == cap) {
            unsigned char *bigger;
            size_t want = cap ? 2 * cap : 65536;
            if (cap >= MAX_FILE_BYTES) {
                fail(path, "larger than 1 GiB, too large for this program");
                goto error;
            }
            bigger = realloc(data, want);
            if (bigger == NULL) {
                fail(path, "out of memory");
                goto error;
            }
            data = bigger;
            cap = want;
        }
        errno = 0;
        got = fread(data + size, 1, cap - size, f);
        size += got;
        if (got == 0) {
            if (ferror(f)) {
                fail(path, errno ? strerror(errno) : "read error");
                goto error;
            }
            break;  /* end of file */
        }
    }
    fclose(f);
    *buf = data;
    *len = size;
    return 0;

error:
    free(data);
    fclose(f);
    return -1;
}

/* ---- IDX files ----------------------------------------------------------- */

/*
 * An IDX file (as MNIST ships them, after gunzip): two zero bytes, a type
 * code (0x08: unsigned bytes, the only type read here), the number of
 * dimensions, each dimension as a big-endian 32-bit count, then the data,
 * the product of the dimensions in bytes, and nothing after it.
 */
typedef struct idx_file {
    size_t ndims;
    size_t dims[IDX_MAX_DIMS];
    const unsigned char *data;
    size_t nbytes;              /* product of the dimensions */
} idx_file;

static int idx_parse(const char *path, const unsigned char *buf, size_t len,
                     idx_file *idx)
{
    size_t header, i;
    char message[160];

    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        fail(path, "gzip-compressed; unpack it first "
             "(gunzip -c FILE.gz > FILE)");
        return -1;
    }
    if (len < 4) {
        fail(path, "too short for an IDX header (4 bytes or more)");
        return -1;
    }
    if (buf[0] != 0 || buf[1] != 0) {
        fail(path, "not an IDX file (it should start with two zero bytes)");
        return -1;
    }
    if (buf[2] != 0x08) {
        sprintf(message, "IDX type code 0x%02x; this program reads unsigned "
                "bytes (0x08) only", (unsigned)buf[2]);
        fail(path, message);
        return -1;
    }
    idx->ndims = buf[3];
    if (idx->ndims == 0) {
        fail(path, "the IDX header gives no dimensions");
        return -1;
    }
    header = 4 + 4 * idx->ndims;
    if (len < header) {
        fail(path, "truncated IDX header");
        return -1;
    }
    idx->nbytes = 1;
    for (i = 0; i < idx->ndims; i++) {
        const unsigned char *p = buf + 4 + 4 * i;
        uint32_t d = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16
                   | (uint32_t)p[2] << 8 | (uint32_t)p[3];
        if (d == 0) {
            sprintf(message, "dimension %u of the IDX header is zero",
                    (unsigned)i);
            fail(path, message);
            return -1;
        }
        idx->dims[i] = d;
        /* The data must fit in the file, so a product larger than the file
         * is an error whether or not it would overflow. */
        if (idx->nbytes > (len - header) / d) {
            fail(path, "truncated: the IDX header's sizes need more data "
                 "than the file holds");
            return -1;
        }
        idx->nbytes *= d;
    }
    if (len - header != idx->nbytes) {
        sprintf(message, "%zu unexpected bytes after the data the IDX "
                "header describes", len - header - idx->nbytes);
        fail(path, message);
        return -1;
    }
    idx->data = buf + header;
    return 0;
}

/* ---- the model ----------------------------------------------------------- */

typedef struct model {
    size_t sizes[PYBP_MAX_LAYERS];
    int activations[PYBP_MAX_LAYERS - 1];
    double *params;
    size_t nparams;
    pybp_net net;
} model;

/* Loads a model file; prints why not and returns -1 on failure. */
static int model_load(const char *path, model *m)
{
    unsigned char *buf;
    size_t len, nlayers;
    int cost, status;

    if (read_file(path, &buf, &len) != 0)
        return -1;
    /* pybp_model_info checks the whole image (magic, version, sizes,
     * codes, length, checksum) before anything is trusted. */
    status = pybp_model_info(buf, len, &nlayers, &m->nparams);
    if (status != PYBP_OK) {
        fail(path, pybp_strerror(status));
        free(buf);
        return -1;
    }
    m->params = malloc(m->nparams * sizeof *m->params);
    if (m->params == NULL) {
        fail(path, "out of memory for the parameters");
        free(buf);
        return -1;
    }
    status = pybp_model_read(buf, len, m->sizes, nlayers, m->activations,
                             &cost, m->params, m->nparams);
    free(buf);
    if (status != PYBP_OK) {
        fail(path, pybp_strerror(status));
        free(m->params);
        return -1;
    }
    memset(&m->net, 0, sizeof m->net);  /* later fields take defaults */
    m->net.nlayers = nlayers;
    m->net.sizes = m->sizes;
    m->net.activations = m->activations;
    m->net.cost = cost;
    m->net.isa = PYBP_ISA_AUTO;
    return 0;
}

/* ---- classification ------------------------------------------------------ */

/* The index of the largest of n outputs, the first one on ties (as
 * pybp_evaluate and pybp predict decide). */
static size_t argmax(const double *out, size_t n)
{
    size_t i, best = 0;
    for (i = 1; i < n; i++)
        if (out[i] > out[best])
            best = i;
    return best;
}

static void usage(void)
{
    fprintf(stderr, "usage: " PROGRAM " [-p] MODEL IMAGES [LABELS]\n"
            "  MODEL   a pybp model file (pybp train --save)\n"
            "  IMAGES  an uncompressed IDX file of images, e.g. "
            "t10k-images-idx3-ubyte\n"
            "  LABELS  an uncompressed IDX file of labels: print the "
            "accuracy\n"
            "  -p      print the predicted class of every image\n");
}

int main(int argc, char **argv)
{
    const char *model_path, *images_path, *labels_path = NULL;
    unsigned char *images_buf = NULL, *labels_buf = NULL;
    size_t images_len, labels_len, n_in, n_out, count, per, i, start;
    size_t nwork, correct = 0;
    double *work = NULL, *out = NULL;
    idx_file images, labels;
    model m;
    int print = 0, status, arg = 1, ret = 1;
    char message[200];

    if (arg < argc && strcmp(argv[arg], "-p") == 0) {
        print = 1;
        arg++;
    }
    if (argc - arg < 2 || argc - arg > 3 || argv[arg][0] == '-') {
        usage();
        return 2;
    }
    model_path = argv[arg];
    images_path = argv[arg + 1];
    if (argc - arg == 3)
        labels_path = argv[arg + 2];
    else
        print = 1;

    m.params = NULL;
    if (model_load(model_path, &m) != 0)
        return 1;
    n_in = m.sizes[0];
    n_out = m.sizes[m.net.nlayers - 1];

    /* The images: count x rows x columns (or any shape whose dimensions
     * after the first multiply to the model's input count). */
    if (read_file(images_path, &images_buf, &images_len) != 0
        || idx_parse(images_path, images_buf, images_len, &images) != 0)
        goto done;
    per = 1;
    for (i = 1; i < images.ndims; i++)
        per *= images.dims[i];  /* no overflow: bounded by the file size */
    if (images.ndims < 2) {
        sprintf(message, "holds a list of %zu numbers (labels?), not images "
                "of the model's %zu inputs", images.dims[0], n_in);
        fail(images_path, message);
        goto done;
    }
    if (per != n_in) {
        sprintf(message, "holds images of %zu values, the model takes %zu "
                "inputs", per, n_in);
        fail(images_path, message);
        goto done;
    }
    count = images.dims[0];

    /* The labels: one byte per image, each a class of the model. */
    if (labels_path != NULL) {
        if (read_file(labels_path, &labels_buf, &labels_len) != 0
            || idx_parse(labels_path, labels_buf, labels_len, &labels) != 0)
            goto done;
        if (labels.ndims != 1) {
            sprintf(message, "has %zu dimensions; a labels file has one",
                    labels.ndims);
            fail(labels_path, message);
            goto done;
        }
        if (labels.dims[0] != count) {
            sprintf(message, "holds %zu labels for %zu images",
                    labels.dims[0], count);
            fail(labels_path, message);
            goto done;
        }
        for (i = 0; i < count; i++) {
            if (labels.data[i] >= n_out) {
                sprintf(message, "label %u of image %zu is not a class of "
                        "the model's %zu outputs", (unsigned)labels.data[i],
                        i, n_out);
                fail(labels_path, message);
                goto done;
            }
        }
    }

    /* Scratch space for CHUNK images at a time, and their outputs. */
    status = pybp_workspace_size(&m.net, CHUNK, &nwork);
    if (status != PYBP_OK) {
        fail("pybp_workspace_size", pybp_strerror(status));
        goto done;
    }
    if (nwork > SIZE_MAX / sizeof *work
        || n_out > SIZE_MAX / sizeof *out / CHUNK) {
        fail(model_path, "the network is too large for this machine");
        goto done;
    }
    work = malloc(nwork * sizeof *work);
    out = malloc(CHUNK * n_out * sizeof *out);
    if (work == NULL || out == NULL) {
        fail(model_path, "out of memory for the workspace");
        goto done;
    }

    for (start = 0; start < count; start += CHUNK) {
        size_t k, n = count - start < CHUNK ? count - start : CHUNK;
        pybp_data data;

        memset(&data, 0, sizeof data);  /* unused inputs and targets NULL */
        data.count = n;
        data.x_u8 = images.data + start * n_in;
        data.x_divisor = 255.0;  /* pixel values 0 .. 255 become 0 .. 1 */
        status = pybp_feedforward(&m.net, m.params, m.nparams, &data,
                                  out, n * n_out, work, nwork);
        if (status != PYBP_OK) {
            fail("pybp_feedforward", pybp_strerror(status));
            goto done;
        }
        for (k = 0; k < n; k++) {
            size_t predicted = argmax(out + k * n_out, n_out);
            if (print)
                printf("%zu\n", predicted);
            if (labels_path != NULL && predicted == labels.data[start + k])
                correct++;
        }
    }
    if (labels_path != NULL)
        printf("%zu/%zu correct (%.2f%%)\n", correct, count,
               100.0 * (double)correct / (double)count);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fail("standard output", "write error");
        goto done;
    }
    ret = 0;

done:
    free(out);
    free(work);
    free(labels_buf);
    free(images_buf);
    free(m.params);
    return ret;
}
