/*
 * pybp.c - the float64 instance of pybp (pybp_impl.h holds the kernels,
 * written once for both element types), and the functions that do not
 * depend on a type: messages, version, instruction-set queries.
 */
#define PYBP__REAL double
#define PYBP__REAL_SIZE 8
#define PYBP__API(name) pybp_##name   /* sgd_epoch -> pybp_sgd_epoch */
#define PYBP__X(d) ((d)->x)
#define PYBP__X_OTHER(d) ((d)->x_f32)
#define PYBP__EXP pybp__exp
#define PYBP__LOG pybp__log
#define PYBP__TANH pybp__tanh
#define PYBP__LOG1P pybp__log1p
#include "pybp_elementary.h"
#include "pybp_impl.h"

/* ------------------------------------------------------------------------ */
/* pybp's own elementary functions (pybp_elementary.h), for tests and tools */

double pybp_exp(double x) { return pybp__exp(x); }
double pybp_log(double x) { return pybp__log(x); }
double pybp_tanh(double x) { return pybp__tanh(x); }
float pybp_expf(float x) { return pybp__expf(x); }
float pybp_logf(float x) { return pybp__logf(x); }
float pybp_tanhf(float x) { return pybp__tanhf(x); }

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */

const char *pybp_strerror(int status)
{
    switch (status) {
    case PYBP_OK:          return "success";
    case PYBP_ENULL:       return "a required pointer is NULL";
    case PYBP_ESIZE:       return "a size or count is zero or out of range";
    case PYBP_EOVERFLOW:   return "a size computation overflows size_t";
    case PYBP_EACTIVATION: return "unknown activation code";
    case PYBP_ECOST:       return "unknown cost code";
    case PYBP_ESOFTMAX:    return "softmax is only allowed on the output layer";
    case PYBP_ECOMBINATION:
        return "cost and output activation do not go together";
    case PYBP_ELENGTH:     return "a buffer length does not match the network";
    case PYBP_EWORKSPACE:  return "workspace too small";
    case PYBP_EVALUE:      return "a number is NaN, infinite or out of range";
    case PYBP_ELABEL:      return "a class label is outside 0 .. n_L - 1";
    case PYBP_EINDEX:      return "a permutation index is outside 0 .. count - 1";
    case PYBP_EDATA:       return "data descriptor is inconsistent";
    case PYBP_EFORMAT:     return "model file is malformed";
    case PYBP_ECHECKSUM:   return "model file checksum does not match";
    case PYBP_ETRUNCATED:  return "model file ends early";
    case PYBP_EVERSION:    return "model file has an unsupported version";
    case PYBP_EPARAMS:     return "a parameter is NaN or infinite";
    case PYBP_EISA:
        return "instruction set not supported by this CPU or build";
    default:               return "unknown pybp status";
    }
}

const char *pybp_version(void)
{
    return PYBP_VERSION;
}

const char *pybp_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
    return "msvc";
#else
    return "unknown";
#endif
}


/* ------------------------------------------------------------------------ */
/* Instruction sets                                                         */

/* Whether this CPU (and OS) runs the path; asks the CPU on every call,
 * which is cheap and keeps the library free of mutable global state. */
int pybp_isa_supported(int isa)
{
    switch (isa) {
    case PYBP_ISA_AUTO:
    case PYBP_ISA_SCALAR:
        return 1;
#ifdef PYBP__X86
    case PYBP_ISA_AVX2:
        return __builtin_cpu_supports("avx2") ? 1 : 0;
    case PYBP_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") ? 1 : 0;
#endif
#ifdef PYBP__ARM64
    case PYBP_ISA_NEON:
        return 1;   /* Advanced SIMD is mandatory in AArch64 */
#endif
    default:
        return 0;
    }
}

int pybp_isa_best(void)
{
    if (pybp_isa_supported(PYBP_ISA_AVX512))
        return PYBP_ISA_AVX512;
    if (pybp_isa_supported(PYBP_ISA_AVX2))
        return PYBP_ISA_AVX2;
    if (pybp_isa_supported(PYBP_ISA_NEON))
        return PYBP_ISA_NEON;
    return PYBP_ISA_SCALAR;
}

const char *pybp_isa_name(int isa)
{
    switch (isa) {
    case PYBP_ISA_AUTO:   return "auto";
    case PYBP_ISA_SCALAR: return "scalar";
    case PYBP_ISA_AVX2:   return "avx2";
    case PYBP_ISA_AVX512: return "avx512";
    case PYBP_ISA_NEON:   return "neon";
    default:              return "unknown";
    }
}
