/*
 * pybp_f32.c - the float32 instance of pybp: the pybp_*_f32 functions,
 * compiled from the same source as the float64 ones (pybp_impl.h).  Same
 * order of operations, single-precision elements: twice the numbers per
 * vector and half the memory traffic.
 */
#define PYBP__REAL float
#define PYBP__REAL_SIZE 4
#define PYBP__API(name) pybp_##name##_f32  /* sgd_epoch -> pybp_sgd_epoch_f32 */
#define PYBP__SUFFIXED 1
#define PYBP__FLUSH_SUBNORMALS 1
#define PYBP__X(d) ((d)->x_f32)
#define PYBP__X_OTHER(d) ((d)->x)
#define PYBP__EXP pybp__expf
#define PYBP__LOG pybp__logf
#define PYBP__TANH pybp__tanhf
#define PYBP__LOG1P pybp__log1pf
#include "pybp_elementary.h"
#include "pybp_impl.h"
