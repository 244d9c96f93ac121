"""Random networks and data for the equivalence tests (hypothesis strategies)."""

import random
import struct

from hypothesis import strategies as st

import pybp

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUT_COST = [(a, "quadratic") for a in HIDDEN] + [
    ("sigmoid", "cross-entropy"), ("softmax", "log-likelihood")]


@st.composite
def networks(draw, max_layers=4, max_size=40):
    """(sizes, activations, cost, seed, init) for a valid network."""
    L = draw(st.integers(1, max_layers))
    sizes = [draw(st.integers(1, max_size)) for _ in range(L + 1)]
    out, cost = draw(st.sampled_from(OUTPUT_COST))
    acts = [draw(st.sampled_from(HIDDEN)) for _ in range(L - 1)] + [out]
    seed = draw(st.integers(0, 2 ** 32 - 1))
    init = draw(st.sampled_from(["normal", "scaled"]))
    return sizes, acts, cost, seed, init


@st.composite
def datasets(draw, sizes, cost, max_count=12):
    """A Dataset fitting `sizes`: float64 or uint8 inputs, dense y or labels."""
    count = draw(st.integers(1, max_count))
    rng = random.Random(draw(st.integers(0, 2 ** 32 - 1)))
    n_in, n_out = sizes[0], sizes[-1]
    u8 = draw(st.booleans())
    if u8:
        x = bytes(rng.randrange(256) for _ in range(count * n_in))
        kw = {"n_inputs": n_in, "divisor": 255.0}
    else:
        scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
        x = [[rng.gauss(0.0, scale) for _ in range(n_in)] for _ in range(count)]
        kw = {}
    labels = [rng.randrange(n_out) for _ in range(count)]
    if cost == "log-likelihood" or draw(st.booleans()):
        if draw(st.booleans()):
            return pybp.Dataset(x, labels=labels, **kw)
        y = [[1.0 if j == c else 0.0 for j in range(n_out)] for c in labels]
    elif cost == "cross-entropy":
        y = [[rng.random() for _ in range(n_out)] for _ in range(count)]
    else:
        y = [[rng.gauss(0.0, 1.0) for _ in range(n_out)] for _ in range(count)]
    return pybp.Dataset(x, y, **kw)


def bits(values):
    """The raw IEEE-754 bytes of a sequence of floats: what exactness compares."""
    return struct.pack("<%dd" % len(values), *values)


def sgd_outcome(net, *args, **kwargs):
    """What net.sgd(*args, **kwargs) did, in a form to compare with ==.

    A run that ends normally gives its history (each epoch's cost as raw
    bits, and its count of correct test examples).  A run that diverges
    gives the DivergenceError's type and fields (epoch, mini-batch, batches
    per epoch, eta) and its message: a diverging case must diverge the same
    way on both backends.  Either way the caller then compares the
    parameters left behind, bit for bit.
    """
    try:
        history = net.sgd(*args, **kwargs)
    except pybp.DivergenceError as exc:
        return ("diverged", type(exc).__name__, exc.epoch, exc.batch,
                exc.batches, bits([exc.eta]), str(exc), net.epochs_trained)
    return ("trained", [(r["epoch"], bits([r["cost"]]), r.get("correct"),
                         r.get("total")) for r in history], net.epochs_trained)


def python_and_c(sizes, acts, cost, seed, init):
    """The same network on the reference and on the C core."""
    py = pybp.Network(sizes, acts, cost, seed=seed, init=init, backend="python")
    return py, py.copy(backend="c")
