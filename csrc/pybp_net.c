/*
 * pybp_net.c - the network rules (pybp_net.h), compiled once for both
 * element types and for the model files.  It needs nothing else of the
 * library, so pybp_model.c can still be linked without the kernels.
 */
#include "pybp.h"
#include "pybp_net.h"

int pybp__check_net_rules(size_t nlayers, const size_t *sizes,
                          const int *acts, int cost, size_t max_size,
                          uint64_t *nparams)
{
    size_t l, L;
    uint64_t p = 0, n, in, term;
    int out;

    if (nlayers < 2 || nlayers > PYBP_MAX_LAYERS)
        return PYBP_ESIZE;
    L = nlayers - 1;
    for (l = 0; l <= L; l++)
        if (sizes[l] == 0 || sizes[l] > max_size)
            return PYBP_ESIZE;
    /* Every code's range before softmax's place, so that a network with
     * both problems gets PYBP_EACTIVATION from every caller. */
    for (l = 1; l <= L; l++)
        if (acts[l - 1] < PYBP_SIGMOID || acts[l - 1] > PYBP_SOFTMAX)
            return PYBP_EACTIVATION;
    for (l = 1; l < L; l++)
        if (acts[l - 1] == PYBP_SOFTMAX)
            return PYBP_ESOFTMAX;
    out = acts[L - 1];
    switch (cost) {
    case PYBP_QUADRATIC:
        if (out == PYBP_SOFTMAX)
            return PYBP_ECOMBINATION;
        break;
    case PYBP_CROSS_ENTROPY:
        if (out != PYBP_SIGMOID)
            return PYBP_ECOMBINATION;
        break;
    case PYBP_LOG_LIKELIHOOD:
        if (out != PYBP_SOFTMAX)
            return PYBP_ECOMBINATION;
        break;
    default:
        return PYBP_ECOST;
    }

    if (nparams == NULL)
        return PYBP_OK;
    for (l = 1; l <= L; l++) {
        n = sizes[l];
        in = sizes[l - 1];
        if (in == UINT64_MAX || n > UINT64_MAX / (in + 1))
            return PYBP_EOVERFLOW;
        term = n * (in + 1);
        if (p > UINT64_MAX - term)
            return PYBP_EOVERFLOW;
        p += term;
    }
    *nparams = p;
    return PYBP_OK;
}
