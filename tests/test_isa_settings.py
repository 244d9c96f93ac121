"""The C core's two run-time settings, the instruction-set path and the
worker-thread count: setting them (the API, PYBP_ISA, the C codes), seeing
them (`pybp info`), and that no setting changes a single bit.

The C core compiles its loops for several instruction sets (portable
"scalar", "avx2", "avx512") and picks the best one at run time unless told
otherwise; sgd_epoch can share each mini-batch among worker threads.  The
comparison of every path with the pure-Python reference is
test_equivalence.py; here, worker threads on every path against the
reference (PYBP_ISA_EXAMPLES random cases per path, default 25), and every
path and thread count against each other on a network too wide for the
reference.
"""

import math
import os
import random
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pybp

from helpers import ISAS, bits, example_settings, networks, sgd_outcome
from helpers import python_and_c as pair

try:
    from pybp._kernels import ccore
except ImportError:  # no C backend: the c_backend fixture skips every test
    ccore = None

SETTINGS = example_settings("PYBP_ISA_EXAMPLES", 25)


@SETTINGS
@given(st.data())
def test_sgd_epochs_with_threads(isa, data):
    """Worker threads share each mini-batch by examples and by weight rows,
    never a sum: the reference's bits for any thread count.  (The C core
    starts a thread per 16 examples of a mini-batch at most, so the batches
    here have 32 and more.)"""
    sizes, acts, cost, seed, init = data.draw(networks(max_size=16))
    m = data.draw(st.integers(32, 50))
    count = data.draw(st.integers(m, 2 * m + 7))
    rng = random.Random(data.draw(st.integers(0, 2 ** 32 - 1)))
    labels = [rng.randrange(sizes[-1]) for _ in range(count)]
    if data.draw(st.booleans()):
        ds = pybp.Dataset(bytes(rng.randrange(256)
                                for _ in range(count * sizes[0])),
                          labels=labels, n_inputs=sizes[0], divisor=255.0)
    else:
        ds = pybp.Dataset([[rng.gauss(0.0, 1.0) for _ in range(sizes[0])]
                           for _ in range(count)], labels=labels)
    py, c = pair(sizes, acts, cost, seed, init)
    threads = data.draw(st.sampled_from([2, 3, 5]))
    h_py = sgd_outcome(py, ds, 1, m, 0.5, 0.1)
    previous = ccore.set_threads(threads)
    try:
        h_c = sgd_outcome(c, ds, 1, m, 0.5, 0.1)
    finally:
        ccore.set_threads(previous)
    assert h_py == h_c
    assert bits(py.params) == bits(c.params)


def test_paths_agree_on_a_wide_network(c_backend):
    """Layers wider than a register block, odd sizes: every path, threads
    included, gives the same bits (the reference is too slow for this)."""
    rng = random.Random(7)
    sizes = [131, 67, 33, 5]
    count = 41
    x = [[rng.gauss(0.0, 1.0) for _ in range(sizes[0])] for _ in range(count)]
    ds = pybp.Dataset(x, labels=[rng.randrange(sizes[-1]) for _ in range(count)])
    results = []
    for name in ISAS:
        for threads in (0, 2):
            net = pybp.Network(sizes, ["tanh", "relu", "softmax"],
                               "log-likelihood", seed=3, backend="c")
            with ccore.use_isa(name):
                previous = ccore.set_threads(threads)
                try:
                    for m in (1, 3, 8, 40):
                        net.sgd(ds, 1, m, 0.1, 0.5)
                finally:
                    ccore.set_threads(previous)
                results.append((name, threads, bytes(net.params),
                                 bits(net.gradient(ds)), net.cost(ds)))
    first = results[0]
    for r in results[1:]:
        assert r[2:] == first[2:], "%s threads=%d differs from %s" % (
            r[0], r[1], first[0])


def test_isa_settings(c_backend):
    assert "scalar" in ISAS
    assert ccore.best_isa() in ISAS
    assert ccore.get_isa() == "auto"
    with ccore.use_isa("scalar"):
        assert ccore.get_isa() == "scalar"
        with pytest.raises(ValueError, match="unknown instruction set"):
            ccore.set_isa("sse9")
        assert ccore.get_isa() == "scalar"
    assert ccore.get_isa() == "auto"
    for name in ("avx2", "avx512"):
        if name not in ISAS:
            with pytest.raises(ValueError, match="not supported"):
                ccore.set_isa(name)
    with pytest.raises(ValueError, match="threads"):
        ccore.set_threads(-1)
    with pytest.raises(ValueError, match="threads"):
        ccore.set_threads(10 ** 6)
    assert ccore.get_threads() == 0


def test_isa_codes_in_c(c_backend):
    from pybp._kernels._pybp_c import lib
    assert lib.pybp_isa_supported(lib.PYBP_ISA_AUTO) == 1
    assert lib.pybp_isa_supported(lib.PYBP_ISA_SCALAR) == 1
    assert lib.pybp_isa_supported(99) == 0
    assert lib.pybp_isa_supported(-1) == 0
    assert lib.pybp_isa_best() != lib.PYBP_ISA_AUTO
    assert ccore.isa_name(99) == "unknown"
    # an unknown code in the descriptor is refused with PYBP_EISA
    net = pybp.Network([3, 2], seed=0, backend="c")
    spec_net = ccore._net(net.spec)
    n = ccore.ffi.new("size_t *")
    spec_net.isa = 99
    assert lib.pybp_nparams(spec_net, n) == lib.PYBP_EISA
    spec_net.isa = 0
    assert lib.pybp_nparams(spec_net, n) == lib.PYBP_OK


@pytest.mark.parametrize("value,ok", [("scalar", True), (" AVX2 ", True),
                                      ("auto", True), ("", True),
                                      ("mmx", False)])
def test_environment_variable(c_backend, tmp_path, value, ok):
    if value.strip().lower() == "avx2" and "avx2" not in ISAS:
        ok = False
    env = dict(os.environ, PYBP_ISA=value, PYBP_BACKEND="c")
    code = ("from pybp import backends; print(backends.get_isa())")
    # (run outside the source tree, so that the installed pybp is imported)
    r = subprocess.run([sys.executable, "-c", code], env=env,
                       capture_output=True, text=True, cwd=str(tmp_path))
    if ok:
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == (value.strip().lower() or "auto")
    else:
        assert r.returncode != 0
        assert "PYBP_ISA" in r.stderr


def test_info_reports_the_path_in_use(c_backend):
    from pybp._kernels import ccore
    from pybp.cli import info
    facts = info()
    assert facts["c_isa"] == ccore.best_isa()
    assert facts["c_isa_supported"] == ccore.supported_isas()
    assert facts["c_compiler"] and facts["c_compiler"] != "unknown"
    assert facts["dtypes"] == ["float64", "float32"]
    with ccore.use_isa("scalar"):
        assert info()["c_isa"] == "scalar"


def test_bp2_tiles_match_the_reference(c_backend):
    """BP2 runs over tiles of examples and of delta^l's rows j: a layer
    wider than the widest tile (1024 rows j on any path) has its sums carried
    from one tile to the next, and 70 examples span several tiles with a
    short last one.  Every path and thread count: the reference's bits."""
    rng = random.Random(11)
    sizes = [2, 3, 1030, 2]
    count = 70
    x = [[rng.gauss(0.0, 1.0) for _ in range(sizes[0])] for _ in range(count)]
    ds = pybp.Dataset(x, labels=[rng.randrange(sizes[-1]) for _ in range(count)])
    py = pybp.Network(sizes, ["tanh", "sigmoid", "sigmoid"], "cross-entropy",
                      seed=5, backend="python")
    start = py.copy(backend="c")
    want_grad = bits(py.gradient(ds))
    py.sgd(ds, 1, 35, 0.5, 0.1)
    want = bits(py.params)
    for name in ISAS:
        for threads in (0, 2):
            c = start.copy(backend="c")
            with ccore.use_isa(name):
                previous = ccore.set_threads(threads)
                try:
                    assert bits(c.gradient(ds)) == want_grad, name
                    c.sgd(ds, 1, 35, 0.5, 0.1)
                finally:
                    ccore.set_threads(previous)
            assert bits(c.params) == want, "%s threads=%d" % (name, threads)


def sgd_on_every_path(py, ds, m, eta, seen):
    """One epoch of the reference network py's C copy and of its float32
    twin (same seed) on every path and thread count: asserts that each
    float64 copy ends with the reference's bits and that float32 gives one
    set of bits everywhere.  seen(c) is asserted first on each copy, under
    its path and thread count."""
    start = py.copy(backend="c")
    py.sgd(ds, 1, m, eta)
    want = bits(py.params)
    f32 = set()
    for name in ISAS:
        for threads in (0, 2):
            c = start.copy(backend="c")
            c32 = pybp.Network(list(py.spec.sizes), list(py.spec.activations),
                               py.spec.cost, seed=py.seed, backend="c",
                               dtype="float32")
            with ccore.use_isa(name):
                previous = ccore.set_threads(threads)
                try:
                    assert seen(c), "%s threads=%d" % (name, threads)
                    c.sgd(ds, 1, m, eta)
                    c32.sgd(ds, 1, m, eta)
                finally:
                    ccore.set_threads(previous)
            assert bits(c.params) == want, "%s threads=%d" % (name, threads)
            f32.add(tuple(c32.params))
    assert len(f32) == 1


@pytest.mark.parametrize("sizes,u8", [([5, 2200, 2], True), ([2, 3, 2200, 2], False)])
def test_bp4_panels_match_the_reference(c_backend, sizes, u8):
    """BP4 takes a wide layer's columns in panels whose deltas fit in L2
    (512 KiB: at 30 examples, any layer of more than 2184 float64 outputs),
    its deltas copied panel by panel when a mini-batch's rows are wider than
    a panel.  Both kinds of layer input (a first layer's bytes, a hidden
    layer's rows), every path and thread count: the reference's bits; in
    float32, every path and thread count the same bits."""
    rng = random.Random(sizes[1])
    count, m = 60, 30
    labels = [rng.randrange(sizes[-1]) for _ in range(count)]
    if u8:
        x = bytes(rng.randrange(256) for _ in range(count * sizes[0]))
        ds = pybp.Dataset(x, labels=labels, n_inputs=sizes[0], divisor=255.0)
    else:
        x = [[rng.gauss(0.0, 1.0) for _ in range(sizes[0])] for _ in range(count)]
        ds = pybp.Dataset(x, labels=labels)
    acts = ["sigmoid"] * (len(sizes) - 1)
    py = pybp.Network(sizes, acts, "quadratic", seed=3, backend="python")
    want_grad = bits(py.gradient(ds))
    sgd_on_every_path(py, ds, m, 3.0, lambda c: bits(c.gradient(ds)) == want_grad)


def test_padded_pitches_match_the_reference(c_backend):
    """Rows of 512 bytes and multiples of it (64, 128 and 256 float64
    outputs; 128 and 256 float32) get one more cache line of padding in
    the C core's internal layout, so that a block of columns does not fall
    into a few cache sets.  The padding is never part of a sum: the
    reference's bits on every path and thread count, and in float32 the
    same bits everywhere."""
    sizes = [9, 64, 128, 256, 3]
    rng = random.Random(5)
    count, m = 40, 20
    labels = [rng.randrange(sizes[-1]) for _ in range(count)]
    ds = pybp.Dataset(bytes(rng.randrange(256) for _ in range(count * sizes[0])),
                      labels=labels, n_inputs=sizes[0], divisor=255.0)
    acts = ["sigmoid", "relu", "tanh", "sigmoid"]
    py = pybp.Network(sizes, acts, "cross_entropy", seed=4, backend="python")
    want_out = bits([x for row in py.outputs(ds) for x in row])
    sgd_on_every_path(py, ds, m, 0.1,
                      lambda c: bits([x for row in c.outputs(ds) for x in row]) == want_out)


def test_first_layer_by_columns_matches_the_reference(c_backend):
    """With a first layer of more than 1 MiB of weights (2100 x 64 float64),
    worker threads compute z^1 and a^1 of a whole mini-batch by blocks of
    columns before the rest of the passes go by examples, and share out
    mini-batches from 8 examples up.  Every path, thread count and these
    batch sizes: the reference's bits; in float32, the same bits on every
    path and thread count."""
    rng = random.Random(2100)
    sizes, count = [2100, 64, 3], 48
    x = bytes(rng.randrange(256) for _ in range(count * sizes[0]))
    ds = pybp.Dataset(x, labels=[rng.randrange(sizes[-1]) for _ in range(count)],
                      n_inputs=sizes[0], divisor=255.0)
    py = pybp.Network(sizes, seed=4, backend="python")
    start = py.copy(backend="c")
    for m in (8, 24):
        py.sgd(ds, 1, m, 3.0)
    want, want_grad = bits(py.params), bits(py.gradient(ds))
    f32 = set()
    for name in ISAS:
        for threads in (0, 2):
            c = start.copy(backend="c")
            c32 = pybp.Network(sizes, seed=4, backend="c", dtype="float32")
            with ccore.use_isa(name):
                previous = ccore.set_threads(threads)
                try:
                    for m in (8, 24):
                        c.sgd(ds, 1, m, 3.0)
                        c32.sgd(ds, 1, m, 3.0)
                finally:
                    ccore.set_threads(previous)
            assert bits(c.params) == want, "%s threads=%d" % (name, threads)
            assert bits(c.gradient(ds)) == want_grad
            f32.add(tuple(c32.params))
    assert len(f32) == 1


def image_bytes(rng, count, n):
    """count rows of n bytes shaped like scanned images: zero but for a
    few runs of nonzero bytes, some rows blank, some with only their last
    byte set (the end of a row is a short chunk for the C core's skipping
    of zero inputs)."""
    out = bytearray(count * n)
    for x in range(count):
        row = x * n
        kind = x % 5
        if kind == 0:
            continue                      # a blank image
        if kind == 1:
            out[row + n - 1] = rng.randrange(1, 256)
            continue
        for _ in range(rng.randrange(1, 4)):
            start = rng.randrange(n)
            for k in range(start, min(n, start + rng.randrange(1, 12))):
                out[row + k] = rng.randrange(256)
    return bytes(out)


@pytest.mark.parametrize("sizes,count,m", [
    ([70, 37, 3], 60, 20),      # W^1 by column blocks, examples inside
    ([70, 3, 2], 200, 100),     # examples by spans, all of W^1 inside
    ([1100, 130, 3], 24, 8),    # W^1 by columns on worker threads
    ([20, 2200, 2], 60, 30),    # BP4 in column panels
    ([30, 9, 3], 1300, 650),    # BP4 in chunks of examples, sums carried on
    ([1200, 5, 2], 800, 700),   # ... and in groups of blocks of rows
])
def test_zero_inputs_skipped_with_the_reference_bits(c_backend, sizes, count, m):
    """The first layer of byte inputs leaves out the terms of zero bytes
    (chunks of 8 inputs zero in all of a register block's examples in the
    forward pass; examples whose bytes of a block of rows are zero in BP4),
    which changes no sum.  Image-like bytes, every path and thread count:
    the reference's outputs, gradient and SGD bits; float32, one set of
    bits everywhere."""
    rng = random.Random(sizes[0] + m)
    ds = pybp.Dataset(image_bytes(rng, count, sizes[0]),
                      labels=[rng.randrange(sizes[-1]) for _ in range(count)],
                      n_inputs=sizes[0], divisor=255.0)
    py = pybp.Network(sizes, ["sigmoid", "relu"], "quadratic", seed=7, backend="python")
    want_out = bits([x for row in py.outputs(ds) for x in row])
    want_grad = bits(py.gradient(ds))
    sgd_on_every_path(py, ds, m, 0.5,
                      lambda c: (bits([x for row in c.outputs(ds) for x in row]) == want_out
                                 and bits(c.gradient(ds)) == want_grad))


@pytest.mark.parametrize("acts,big,eta", [(["tanh", "relu"], 5e153, 300.0),
                                          (["relu", "relu"], 1.79e308, 3.0)])
def test_zero_inputs_times_infinity_stay_nan(c_backend, acts, big, eta):
    """0 times an infinity is NaN, so zero inputs are skipped only where
    the other factor is finite.  Large weights from hidden unit 0 to the
    ReLU outputs make the first layer's deltas huge in the first
    mini-batch, whose only nonzero input is input 0.  With big = 5e153
    they are finite, the step for input 0 overflows, and W^1's infinities
    meet zero inputs in the next batches' forward pass (tanh carries the
    NaN on).  With big = 1.79e308 the deltas themselves are infinite and
    meet zero inputs in BP4.  Every path and thread count: the reference's
    NaNs and infinities, bit for bit."""
    from pybp._kernels import reference
    rng = random.Random(int(big > 1e300))
    sizes, count, m = [40, 20, 3], 30, 10
    x = bytearray(image_bytes(rng, count, sizes[0]))
    x[:m * sizes[0]] = bytes(m * sizes[0])
    for row in range(count):     # batch 1: only input 0; the rest: 0 .. 7 zero
        x[row * sizes[0]:row * sizes[0] + 8] = bytes([255 if row < m else 0]) + bytes(7)
    ds = pybp.Dataset(bytes(x), labels=[rng.randrange(3) for _ in range(count)],
                      n_inputs=sizes[0], divisor=255.0)
    net = pybp.Network(sizes, acts, seed=2, backend="python")
    spec, start = net.spec, net.params
    w2 = spec.weight_views(start)[1]
    for j in range(sizes[2]):
        w2[j, 0] = big
    spec.bias_views(start)[0][0] = 1.0       # hidden unit 0 is on
    perm = list(range(count))
    want = type(start)(start.typecode, start)
    want_total = reference.sgd_epoch(spec, want, ds, perm, m, eta, 0.0, count)
    assert any(math.isnan(v) for v in want)          # 0 * inf happened
    for name in ISAS:
        for threads in (0, 2):
            got = type(start)(start.typecode, start)
            with ccore.use_isa(name):
                total = ccore.sgd_epoch(spec, got, ds, perm, m, eta, 0.0, count,
                                        0.0, threads)
            assert bits(got) == bits(want), "%s threads=%d" % (name, threads)
            assert bits([total]) == bits([want_total]), "%s threads=%d" % (name, threads)
