"""Where a network's numbers start: its initial parameters, drawn from a
seed without libm (docs/math.md, "Initial parameters and shuffles"), and the
generator of its epoch shuffles."""

import math
import random
from array import array

from ._kernels import elementary

INITS = ("normal", "scaled")


def standard_normals(rng):
    """Standard normal numbers from rng.random() alone, by the polar method.

    Marsaglia's polar method with pybp's own log (not libm's): u = 2*r1 - 1
    and v = 2*r2 - 1 from two consecutive rng.random() calls (both exact),
    s = u*u + v*v; a pair with s == 0 or s >= 1 is dropped and the next two
    calls tried; else m = sqrt(-2*log(s) / s) and the stream yields u*m,
    then v*m.  sqrt is IEEE-754's correctly rounded one, so the numbers are
    the same on every platform.
    """
    random = rng.random
    log = elementary.log
    sqrt = math.sqrt
    while True:
        u = 2.0 * random() - 1.0
        v = 2.0 * random() - 1.0
        s = u * u + v * v
        if 0.0 < s < 1.0:
            m = sqrt(-2.0 * log(s) / s)
            yield u * m
            yield v * m


def init_params(spec, seed, init="normal"):
    """Parameters drawn from random.Random(seed) in flat-layout order.

    "normal": every W and b ~ N(0, 1).  "scaled": W ~ N(0, 1/n_in), b ~ N(0, 1).
    Parameter p, in flat-layout order, is z_p * sigma with z_0, z_1, ... one
    stream of standard_normals(random.Random(seed)) (sigma = 1.0 leaves z_p
    as it is).
    """
    if init not in INITS:
        raise ValueError("init must be one of %s, got %r" % (", ".join(INITS), init))
    rng = random.Random(seed)
    draw = standard_normals(rng).__next__
    # Allocated whole first: a network too large for memory fails here at
    # once, not after drawing parameters for hours.
    try:
        params = array("d", [0.0]) * spec.nparams
    except (MemoryError, OverflowError):
        raise MemoryError("a network of sizes %r has %d parameters (%d bytes), "
                          "more than this machine can allocate"
                          % (list(spec.sizes), spec.nparams,
                             8 * spec.nparams)) from None
    for layer in spec.layers():
        sigma = 1.0 / math.sqrt(layer.n_in) if init == "scaled" else 1.0
        for i in range(layer.w, layer.b):
            params[i] = draw() * sigma
        for i in range(layer.b, layer.end):
            params[i] = draw()
    return params


def shuffler(seed):
    """The generator of a network's epoch shuffles, separate from its init."""
    return random.Random("pybp-shuffle:%d" % seed)
