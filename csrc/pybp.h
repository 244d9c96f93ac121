/*
 * pybp.h - backpropagation for fully-connected networks, in C99.
 *
 * The library works on caller-owned flat arrays and never allocates memory
 * (pybp_sgd_epoch's optional worker threads aside).  Every entry point
 * returns an int status (PYBP_OK on success); pybp_strerror() turns a status
 * into a static message.  There is no global state, so calls on different
 * buffers may run concurrently in different threads.
 *
 * Parameter layout (docs/math.md): for l = 1 .. L, W^l row-major (n_l rows
 * of n_{l-1} columns), then b^l.  P = sum_l n_l * (n_{l-1} + 1).  Gradients
 * use the same layout.
 *
 * In float64 every number equals, bit for bit, what the pure-Python
 * reference (pybp/_kernels/reference.py) computes; docs/exactness.md spells out the
 * order of operations both follow.
 *
 * Building a program against the library (make -C csrc install PREFIX=...,
 * see examples/README.md):
 *   cc $(pkg-config --cflags pybp) app.c $(pkg-config --libs pybp)
 *       that is, -I$PREFIX/include ... -L$PREFIX/lib -lpybp (libpybp.so);
 *   cc -I$PREFIX/include app.c $PREFIX/lib/libpybp.a -lm -pthread
 *       for the static library;
 *   CMake: find_package(pybp) and target_link_libraries(app pybp::pybp)
 *       (or pybp::pybp_static).
 * The library is compiled with the floating-point flags its exactness
 * needs; programs that call it need none.
 *
 * The block between the two "cdef" marker comments is read verbatim by the
 * cffi builder (pybp/_build_ffi.py), so it must stay plain declarations:
 * no preprocessor conditionals, no macros with expressions.
 */
#ifndef PYBP_H
#define PYBP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library version, the C side's one statement of it (pybp_version()
 * returns it).  Outside the cdef block: cffi's cdef takes integer
 * constants only, and Python asks pybp_version(). */
#define PYBP_VERSION "0.1.0"

/* pybp cdef begin */

/* Status codes. */
#define PYBP_OK          0
#define PYBP_ENULL       1   /* a required pointer is NULL */
#define PYBP_ESIZE       2   /* a size or count is zero or out of range */
#define PYBP_EOVERFLOW   3   /* a size computation overflows size_t */
#define PYBP_EACTIVATION 4   /* unknown activation code */
#define PYBP_ECOST       5   /* unknown cost code */
#define PYBP_ESOFTMAX    6   /* softmax used on a layer other than the last */
#define PYBP_ECOMBINATION 7  /* cost and output activation do not go together */
#define PYBP_ELENGTH     8   /* a buffer length does not match the network */
#define PYBP_EWORKSPACE  9   /* workspace smaller than pybp_workspace_size(net, 1) */
#define PYBP_EVALUE      10  /* a number is NaN, infinite or out of range */
#define PYBP_ELABEL      11  /* a class label is outside 0 .. n_L - 1 */
#define PYBP_EINDEX      12  /* a permutation index is outside 0 .. count - 1 */
#define PYBP_EDATA       13  /* data descriptor is inconsistent */
#define PYBP_EFORMAT     14  /* a model file is malformed */
#define PYBP_ECHECKSUM   15  /* a model file's checksum does not match */
#define PYBP_ETRUNCATED  16  /* a model file ends early */
#define PYBP_EVERSION    17  /* a model file has an unsupported version */
#define PYBP_EISA        18  /* instruction set unsupported by CPU or build */
#define PYBP_EPARAMS     19  /* a parameter is NaN or infinite */

/* Activation codes, one per layer l = 1 .. L. */
#define PYBP_SIGMOID  1
#define PYBP_TANH     2
#define PYBP_RELU     3
#define PYBP_IDENTITY 4
#define PYBP_SOFTMAX  5   /* output layer only, with PYBP_LOG_LIKELIHOOD */

/* Cost codes. */
#define PYBP_QUADRATIC      1   /* any output activation except softmax */
#define PYBP_CROSS_ENTROPY  2   /* sigmoid outputs only */
#define PYBP_LOG_LIKELIHOOD 3   /* softmax outputs only */

#define PYBP_MAX_LAYERS 64

/*
 * Instruction-set paths of the kernels (pybp_net.isa), float64 and float32
 * alike.  Every path gives the same bits; they differ only in speed.
 * SCALAR is portable C (using the baseline vector unit where the compiler
 * supports it), AVX2 and AVX512 are x86-64 paths chosen at run time, NEON
 * the AArch64 path (with blocks sized for its 32 vector registers).
 */
#define PYBP_ISA_AUTO   0   /* the best path this CPU and build support */
#define PYBP_ISA_SCALAR 1
#define PYBP_ISA_AVX2   2
#define PYBP_ISA_AVX512 3
#define PYBP_ISA_NEON   4   /* AArch64: Advanced SIMD, 32 registers */

/* Most worker threads pybp_sgd_epoch accepts (pybp_net.threads). */
#define PYBP_MAX_THREADS 64

/*
 * A network's shape, and how to run it.  The caller owns the arrays it
 * points to.  Zero-initialise the struct (e.g. pybp_net net = {0};) so that
 * fields added later take their defaults.
 */
typedef struct pybp_net {
    size_t nlayers;            /* L + 1, from 2 to PYBP_MAX_LAYERS */
    const size_t *sizes;       /* nlayers sizes n_0 .. n_L, each >= 1 */
    const int *activations;    /* nlayers - 1 codes, for layers 1 .. L */
    int cost;                  /* a PYBP_* cost code */
    int isa;                   /* a PYBP_ISA_* code; 0 = best available */
    int threads;               /* threads for pybp_sgd_epoch, 0 ..
                                  PYBP_MAX_THREADS; 0 or 1 = the calling
                                  thread only */
} pybp_net;

/*
 * A set of examples.  Inputs come from exactly one of
 *   x     count * n_0 doubles, row-major (float64 functions only), or
 *   x_f32 count * n_0 floats, row-major (the _f32 functions only), or
 *   x_u8  count * n_0 bytes, the input value being (double)byte / x_divisor
 *         (x_divisor finite and > 0; MNIST uses 255.0), rounded to float
 *         by the _f32 functions.
 * Targets, where a function needs them, come from exactly one of
 *   y       count * n_L doubles, row-major, or
 *   labels  count class indices in 0 .. n_L - 1, standing for the one-hot
 *           vector (1.0 at the label, 0.0 elsewhere); both forms give the
 *           same bits.
 * Unused pointers must be NULL.  Targets are doubles for both element
 * types (the _f32 functions round them to float).
 */
typedef struct pybp_data {
    size_t count;
    const double *x;
    const unsigned char *x_u8;
    double x_divisor;
    const double *y;
    const int32_t *labels;
    const float *x_f32;
} pybp_data;

/* A static, NUL-terminated message for a status code (never NULL). */
const char *pybp_strerror(int status);

/* The library version: PYBP_VERSION, e.g. "0.1.0". */
const char *pybp_version(void);

/* The compiler that built the library, e.g. "gcc 12.2.0" ("unknown" when
 * it does not say). */
const char *pybp_compiler(void);

/* pybp's own exp, log and tanh (pybp_elementary.h), which the kernels use:
 * the same bits on every platform as pybp/_kernels/elementary.py.  The
 * float versions are the double ones, rounded once to float. */
double pybp_exp(double x);
double pybp_log(double x);
double pybp_tanh(double x);
float pybp_expf(float x);
float pybp_logf(float x);
float pybp_tanhf(float x);

/* 1 if the PYBP_ISA_* path isa can run here (this CPU, this build), else 0.
 * PYBP_ISA_AUTO and PYBP_ISA_SCALAR are always supported. */
int pybp_isa_supported(int isa);

/* The PYBP_ISA_* code PYBP_ISA_AUTO stands for on this CPU (never 0). */
int pybp_isa_best(void);

/* "auto", "scalar", "avx2", "avx512", or "unknown" for other codes. */
const char *pybp_isa_name(int isa);

/* Validates the network and stores P, its parameter count, in *nparams. */
int pybp_nparams(const pybp_net *net, size_t *nparams);

/*
 * Doubles of workspace needed to process `batch` examples at a time
 * (pybp_workspace_size_f32: floats, for the _f32 functions).
 * Any workspace of at least pybp_workspace_size(net, 1) doubles works for
 * every function below: they process the data in chunks of as many examples
 * as the workspace holds, and the chunking never changes a result bit.
 * pybp_update_mini_batch and pybp_sgd_epoch need a whole mini-batch to fit.
 */
int pybp_workspace_size(const pybp_net *net, size_t batch, size_t *ndoubles);
int pybp_workspace_size_f32(const pybp_net *net, size_t batch,
                            size_t *nfloats);

/*
 * Output activations a^L of every example: out holds count * n_L doubles,
 * nout must equal that.  Targets are ignored.
 */
int pybp_feedforward(const pybp_net *net, const double *params, size_t nparams,
                     const pybp_data *data, double *out, size_t nout,
                     double *work, size_t nwork);

/*
 * Inference on plain input rows: the output activations a^L of the
 * count = nx / n_0 inputs in x (row after row, nx a non-zero multiple of
 * n_0), into out (nout = count * n_L), the same bits as pybp_feedforward.
 * Inputs must be finite (PYBP_EVALUE otherwise).  For a few examples the
 * weights are read where they are, with a small workspace; for more, the
 * parameters are copied into the internal layout once per call.  work
 * holds at least pybp_infer_workspace_size(net, count, &n) doubles (a
 * workspace sized for more examples also works).  out is written only on
 * success.
 */
int pybp_infer_workspace_size(const pybp_net *net, size_t count,
                              size_t *ndoubles);
int pybp_infer(const pybp_net *net, const double *params, size_t nparams,
               const double *x, size_t nx, double *out, size_t nout,
               double *work, size_t nwork);

/*
 * Adds the cost C_x of each example, in example order, to *total.  The mean
 * cost is *total / count when *total started at 0.0.  Passing the running
 * total lets a caller split a data set into pieces without changing bits.
 */
int pybp_cost(const pybp_net *net, const double *params, size_t nparams,
              const pybp_data *data, double *total,
              double *work, size_t nwork);

/*
 * Mean gradient of the cost over the examples: grad[p] = (sum over examples,
 * in order, of dC_x/dp) / count.  grad holds nparams doubles.
 */
int pybp_gradient(const pybp_net *net, const double *params, size_t nparams,
                  const pybp_data *data, double *grad, size_t ngrad,
                  double *work, size_t nwork);

/*
 * Number of examples whose largest output (first index on ties) is the
 * target class: the label, or the first largest entry of y.
 */
int pybp_evaluate(const pybp_net *net, const double *params, size_t nparams,
                  const pybp_data *data, size_t *correct,
                  double *work, size_t nwork);

/*
 * One SGD step on the mini-batch of all data->count examples, in place:
 *   W <- (1 - eta*lmbda/n) W - (eta/m) sum_x delta_x a_x^T
 *   b <- b - (eta/m) sum_x delta_x
 * eta and lmbda finite, lmbda >= 0, n >= 1 (the training-set size).
 * The workspace must hold pybp_workspace_size(net, data->count) doubles.
 */
int pybp_update_mini_batch(const pybp_net *net, double *params, size_t nparams,
                           const pybp_data *data, double eta, double lmbda,
                           size_t n, double *work, size_t nwork);

/*
 * Mini-batch SGD over the examples perm[0 .. nperm-1] (indices into data),
 * cut into mini-batches of mini_batch_size (the last may be shorter), one
 * pybp_update_mini_batch each with the given n (the training-set size).  A
 * whole epoch is one call with a shuffled permutation of 0 .. count-1; a
 * caller may also split an epoch into several calls at mini-batch
 * boundaries without changing a bit.  If cost_total is not NULL, the cost of
 * each example, evaluated on the forward pass of its mini-batch (before that
 * batch's update), is added to *cost_total in order.
 * The workspace must hold pybp_workspace_size(net, mini_batch_size) doubles.
 * With net->threads > 1 the call shares each mini-batch among up to that
 * many threads, started and joined within the call: at most one per 16
 * examples of a mini-batch (smaller shares cost more than they save), and
 * fewer if the system refuses some.  The results are the same bits as with
 * one thread.
 */
int pybp_sgd_epoch(const pybp_net *net, double *params, size_t nparams,
                   const pybp_data *data, const size_t *perm, size_t nperm,
                   size_t mini_batch_size, double eta, double lmbda, size_t n,
                   double *cost_total, double *work, size_t nwork);

/*
 * float32: the functions above with float parameters, outputs and
 * workspace (inputs from x_f32 or x_u8; targets, eta, lmbda and cost totals
 * stay double).  They follow the same order of operations in single
 * precision, so their results are the same on every instruction set and
 * thread count, and differ from the float64 ones by rounding only.
 */
int pybp_feedforward_f32(const pybp_net *net, const float *params,
                         size_t nparams, const pybp_data *data, float *out,
                         size_t nout, float *work, size_t nwork);
int pybp_infer_workspace_size_f32(const pybp_net *net, size_t count,
                                  size_t *nfloats);
int pybp_infer_f32(const pybp_net *net, const float *params, size_t nparams,
                   const float *x, size_t nx, float *out, size_t nout,
                   float *work, size_t nwork);
int pybp_cost_f32(const pybp_net *net, const float *params, size_t nparams,
                  const pybp_data *data, double *total,
                  float *work, size_t nwork);
int pybp_gradient_f32(const pybp_net *net, const float *params,
                      size_t nparams, const pybp_data *data, float *grad,
                      size_t ngrad, float *work, size_t nwork);
int pybp_evaluate_f32(const pybp_net *net, const float *params,
                      size_t nparams, const pybp_data *data, size_t *correct,
                      float *work, size_t nwork);
int pybp_update_mini_batch_f32(const pybp_net *net, float *params,
                               size_t nparams, const pybp_data *data,
                               double eta, double lmbda, size_t n,
                               float *work, size_t nwork);
int pybp_sgd_epoch_f32(const pybp_net *net, float *params, size_t nparams,
                       const pybp_data *data, const size_t *perm,
                       size_t nperm, size_t mini_batch_size, double eta,
                       double lmbda, size_t n, double *cost_total,
                       float *work, size_t nwork);

/*
 * Model files (docs/model-format.md), read and written in memory so that the
 * library needs no stdio; the caller does the file I/O.
 *
 * pybp_model_info checks a whole file image (magic, version, sizes, codes,
 * length, checksum) and reports its layer count and parameter count, so the
 * caller can size the arrays for pybp_model_read, which fills sizes
 * (nlayers entries), activations (nlayers - 1), *cost and params (nparams).
 */
int pybp_model_info(const void *buf, size_t len, size_t *nlayers,
                    size_t *nparams);
int pybp_model_read(const void *buf, size_t len, size_t *sizes, size_t nsizes,
                    int *activations, int *cost, double *params,
                    size_t nparams);

/* Bytes of the file image pybp_model_write produces for this network. */
int pybp_model_size(const pybp_net *net, size_t *nbytes);

/* Writes the file image of net and params into buf (len >= model size). */
int pybp_model_write(const pybp_net *net, const double *params,
                     size_t nparams, void *buf, size_t len);

/* pybp cdef end */

#ifdef __cplusplus
}
#endif

#endif /* PYBP_H */
