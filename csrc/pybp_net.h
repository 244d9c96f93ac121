/*
 * pybp_net.h - the rules every network obeys, checked in one place
 * (pybp_net.c) for the kernels (pybp_impl.h's pybp__check_net, behind
 * pybp_nparams and every compute entry point) and for the model files
 * (pybp_model.c's reader and writer).  Internal: not part of the API.
 */
#ifndef PYBP_NET_H
#define PYBP_NET_H

#include <stddef.h>
#include <stdint.h>

/*
 * The rules of docs/math.md: nlayers from 2 to PYBP_MAX_LAYERS; the sizes
 * n_0 .. n_L (sizes[0 .. nlayers-1]) each from 1 to max_size; the codes of
 * layers 1 .. L (acts[0 .. nlayers-2]) known activations, softmax on the
 * last layer only; cost a known code that goes with the output activation
 * (quadratic: any but softmax, cross-entropy: sigmoid, log-likelihood:
 * softmax).  Returns PYBP_OK or the status of the first rule broken, in
 * this order: PYBP_ESIZE (layer count, then sizes), PYBP_EACTIVATION (any
 * code out of range), PYBP_ESOFTMAX, then PYBP_ECOST or PYBP_ECOMBINATION.
 * Reads no entry of sizes or acts past nlayers, and none at all when
 * nlayers is out of range.
 *
 * If nparams is not NULL, a network that obeys the rules then gets its
 * parameter count P = sum_l n_l (n_{l-1} + 1) in *nparams, counted in 64
 * bits (the model format's field): PYBP_EOVERFLOW if it does not fit.
 */
int pybp__check_net_rules(size_t nlayers, const size_t *sizes,
                          const int *acts, int cost, size_t max_size,
                          uint64_t *nparams);

#endif /* PYBP_NET_H */
