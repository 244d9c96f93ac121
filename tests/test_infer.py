"""Single-example inference (Network.feedforward's fast path on the C
backend) and outputs(out=): the same bits as the general path, the same
errors, safe from several threads at once."""

import math
import random
import re
import threading
from array import array

import pytest

import pybp

from helpers import bits

ACTIVATIONS = [["sigmoid", "sigmoid"], ["relu", "tanh"], ["tanh", "softmax"],
               ["identity", "sigmoid"]]


def _net(dtype="float64", activation=("sigmoid", "sigmoid"), backend="c", seed=3,
         sizes=(7, 5, 3)):
    cost = "log-likelihood" if activation[-1] == "softmax" else "quadratic"
    return pybp.Network(list(sizes), list(activation), cost, seed=seed,
                        backend=backend, dtype=dtype)


def _inputs(n, count, seed=0):
    rng = random.Random(seed)
    return [[rng.uniform(-2, 2) for _ in range(n)] for _ in range(count)]


def _bits32(values):
    return array("f", values).tobytes()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_feedforward_bits_match_outputs(isa, dtype, activation):
    net = _net(dtype, activation)
    for x in _inputs(7, 20):
        assert bits(net.feedforward(x)) == bits(net.outputs([x])[0])
        assert bits(net.feedforward(array("d", x))) == bits(net.outputs([x])[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", [(53, 37, 21, 3), (70, 150, 5)])
def test_direct_path_wide_layers(isa, dtype, sizes):
    """Layers wider than a vector: up to four examples go through the
    direct path's register blocks (rows of W transposed in registers,
    blocks of several vectors of rows, rows past n_out, the columns after
    the last whole vector), with the bits of the batch path through the
    internal layout (float64: and of the reference)."""
    net = _net(dtype, ("sigmoid", "tanh", "sigmoid")[:len(sizes) - 1], sizes=sizes,
               seed=5)
    xs = _inputs(sizes[0], 9, seed=4)
    batch = net.outputs(xs)  # more than four examples: the internal layout
    for count in (1, 2, 3, 4):
        assert bits(sum(net.outputs(xs[:count]), [])) == bits(sum(batch[:count], []))
    for x, want in zip(xs, batch):
        assert bits(net.feedforward(x)) == bits(want)
    if dtype == "float64":
        ref = net.copy(backend="python")
        assert bits(sum(batch, [])) == bits(sum(ref.outputs(xs), []))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_feedforward_float64_matches_reference(c_backend, activation):
    net = _net("float64", activation)
    ref = net.copy(backend="python")
    for x in _inputs(7, 10, seed=1):
        assert bits(net.feedforward(x)) == bits(ref.feedforward(x))


def test_feedforward_float32_rounds_inputs_like_datasets(c_backend):
    net = _net("float32")
    for x in _inputs(7, 10, seed=2):
        x32 = array("f", x)
        assert bits(net.feedforward(x)) == bits(net.outputs(pybp.Dataset(x32, n_inputs=7))[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_feedforward_sees_new_params(c_backend, dtype):
    net = _net(dtype)
    x = _inputs(7, 1)[0]
    before = net.feedforward(x)
    other = _net(dtype, seed=11)
    net.params = other.params
    assert bits(net.feedforward(x)) == bits(other.feedforward(x)) != bits(before)
    net.params[0] += 1.0  # written in place
    assert bits(net.feedforward(x)) == bits(net.outputs([x])[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_feedforward_takes_any_sequence(c_backend, dtype):
    net = _net(dtype)
    x = _inputs(7, 1)[0]
    want = bits(net.feedforward(x))
    assert bits(net.feedforward(tuple(x))) == want
    assert bits(net.feedforward(iter(x))) == want
    assert bits(net.feedforward(v for v in x)) == want
    assert bits(net.feedforward(memoryview(array("d", x)))) == want


@pytest.mark.parametrize("backend", ["python", "c"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_feedforward_errors_are_unchanged(backend, dtype):
    if dtype == "float32" and backend == "python":
        pytest.skip("float32 is C only")
    if backend == "c" and "c" not in pybp.available_backends():
        pytest.skip("no C backend")
    net = _net(dtype, backend=backend)
    good = _inputs(7, 1)[0]
    with pytest.raises(ValueError, match=r"^input x has 6 values, expected 7$"):
        net.feedforward(good[:6])
    for bad in (math.nan, math.inf, -math.inf):
        x = good[:3] + [bad] + good[4:]
        with pytest.raises(ValueError, match=r"^input x holds a value that is not finite$"):
            net.feedforward(x)
        with pytest.raises(ValueError, match=r"^input x holds a value that is not finite$"):
            net.feedforward(v for v in x)
    for bad in ("1234567", b"1234567", None, 5, [1.0] * 6 + ["a"], object()):
        with pytest.raises(TypeError, match=r"^input x must be a sequence of numbers$"):
            net.feedforward(bad)


def test_feedforward_float32_overflow_error_is_unchanged(c_backend):
    net = _net("float32")
    x = _inputs(7, 1)[0]
    x[2] = 1e39
    with pytest.raises(ValueError, match=r"beyond float32's range"):
        net.feedforward(x)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_feedforward_nonfinite_params_error_is_unchanged(c_backend, dtype):
    net = _net(dtype)
    x = _inputs(7, 1)[0]
    net.params[4] = math.nan
    with pytest.raises(ValueError) as fast:
        net.feedforward(x)
    with pytest.raises(ValueError) as general:
        net.outputs([x])
    assert str(fast.value) == str(general.value)
    assert str(fast.value).startswith("feedforward: ")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_feedforward_from_many_threads(c_backend, dtype):
    net = _net(dtype, sizes=(40, 30, 10))
    xs = _inputs(40, 64, seed=5)
    want = [bits(row) for row in net.outputs(xs)]
    failures = []
    start = threading.Barrier(6)

    def work(k):
        start.wait()
        for r in range(150):
            i = (k * 7 + r) % len(xs)
            if bits(net.feedforward(xs[i])) != want[i]:
                failures.append((k, r, i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# --- outputs(out=) -----------------------------------------------------------


def _nets(backend, dtype):
    if dtype == "float32" and backend == "python":
        pytest.skip("float32 is C only")
    return _net(dtype, backend=backend)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_outputs_out_array(backend, dtype):
    net = _nets(backend, dtype)
    xs = _inputs(7, 9)
    rows = net.outputs(xs)
    code = "d" if dtype == "float64" else "f"
    buf = array(code, [0.0]) * (9 * 3)
    assert net.outputs(xs, out=buf) is buf
    flat = [v for row in rows for v in row]
    assert buf.tobytes() == array(code, flat).tobytes()
    mv = memoryview(array(code, [0.0]) * 27)
    assert net.outputs(pybp.Dataset(xs), out=mv) is mv
    assert mv.tobytes() == buf.tobytes()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_outputs_out_numpy(backend, dtype):
    np = pytest.importorskip("numpy")
    net = _nets(backend, dtype)
    xs = _inputs(7, 5)
    want = np.array(net.outputs(xs), dtype=dtype)
    for shape in ((5, 3), (15,)):
        buf = np.full(shape, -1.0, dtype=dtype)
        assert net.outputs(xs, out=buf) is buf
        assert buf.reshape(5, 3).tobytes() == want.tobytes()


def test_outputs_out_refusals(backend):
    net = _nets(backend, "float64")
    xs = _inputs(7, 4)
    fill = array("d", [-7.0]) * 12
    with pytest.raises(TypeError, match="out must be a writable buffer"):
        net.outputs(xs, out=[0.0] * 12)
    with pytest.raises(TypeError, match="read-only"):
        net.outputs(xs, out=memoryview(fill).toreadonly())
    with pytest.raises(TypeError, match="read-only"):
        net.outputs(xs, out=bytes(96))
    with pytest.raises(TypeError, match="format 'f'.*float64 network writes 'd'"):
        net.outputs(xs, out=array("f", [0.0]) * 12)
    with pytest.raises(TypeError, match="format 'B'"):
        net.outputs(xs, out=bytearray(96))
    with pytest.raises(ValueError, match=r"out holds 11 values, expected 12 \(4 examples x 3"):
        net.outputs(xs, out=array("d", [0.0]) * 11)
    with pytest.raises(ValueError, match="out holds 13 values"):
        net.outputs(xs, out=array("d", [0.0]) * 13)
    with pytest.raises(ValueError, match="C-contiguous"):
        net.outputs(xs, out=memoryview(array("d", [0.0]) * 24)[::2])
    assert fill.tolist() == [-7.0] * 12
    # a failing computation writes nothing either
    net.params[0] = math.nan
    with pytest.raises(ValueError):
        net.outputs(xs, out=fill)
    assert fill.tolist() == [-7.0] * 12


def test_outputs_out_numpy_refusals(backend):
    np = pytest.importorskip("numpy")
    net = _nets(backend, "float64")
    xs = _inputs(7, 4)
    buf = np.full((4, 6), -7.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        net.outputs(xs, out=buf[:, ::2])
    with pytest.raises(TypeError, match="format"):
        net.outputs(xs, out=np.zeros((4, 3), dtype=">f8" if np.little_endian else "<f8"))
    ro = np.zeros((4, 3))
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="read-only"):
        net.outputs(xs, out=ro)
    assert (buf == -7.0).all()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_fast_path_runs(isa, dtype):
    """The C core's infer answers itself (feedforward falls back only on
    errors); its input is float64 for both dtypes (float32 rounds it in C)."""
    net = _net(dtype)
    x = array("d", _inputs(7, 1)[0])
    got = net.kernels.infer(net.spec, net.params, x)
    assert got is not None and bits(got) == bits(net.outputs([list(x)])[0])
    x[0] = math.nan
    assert net.kernels.infer(net.spec, net.params, x) is None


# --- reused workspaces of the batch paths ---------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_reused_workspaces_change_no_bit(isa, dtype):
    """Scratch space left by one call (another function, batch or dtype's
    values) is reused by the next: the results are those of a fresh network."""
    net = _net(dtype, sizes=(9, 6, 4))
    xs = _inputs(9, 12, seed=8)
    labels = [i % 4 for i in range(12)]
    for _ in range(3):
        for count in (1, 5, 12):
            fresh = net.copy()
            sub, lab = xs[:count], labels[:count]
            assert bits(net.gradient(sub, lab)) == bits(fresh.gradient(sub, lab))
            assert bits([net.cost(sub, lab)]) == bits([fresh.cost(sub, lab)])
            assert bits(sum(net.outputs(sub), [])) == bits(sum(fresh.outputs(sub), []))
            assert net.evaluate((sub, lab)) == fresh.evaluate((sub, lab))
    if dtype == "float64":
        ref = net.copy(backend="python")
        assert bits(net.gradient(xs, labels)) == bits(ref.gradient(xs, labels))


def test_batch_paths_from_many_threads(c_backend):
    net = _net("float64", sizes=(20, 15, 5))
    xs = _inputs(20, 30, seed=9)
    labels = [i % 5 for i in range(30)]
    want_g = [bits(net.gradient(xs[:k], labels[:k])) for k in (1, 7, 30)]
    want_o = bits(sum(net.outputs(xs), []))
    failures = []
    start = threading.Barrier(4)

    def work(k):
        start.wait()
        for r in range(40):
            j = (k + r) % 3
            n = (1, 7, 30)[j]
            if bits(net.gradient(xs[:n], labels[:n])) != want_g[j]:
                failures.append(("gradient", k, r))
            if bits(sum(net.outputs(xs), [])) != want_o:
                failures.append(("outputs", k, r))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_feedforward_float32_rounds_edge_inputs_like_outputs(c_backend):
    """The C-side narrowing rounds as array('f') does: ties to even, float
    subnormals, and a double just above FLT_MAX that still rounds to it;
    the fast path and outputs() agree, or raise the same error."""
    net = _net("float32")
    flt_max = float.fromhex("0x1.fffffep+127")
    edges = [1 + 2.0 ** -24, 1 + 3 * 2.0 ** -24, 2.0 ** -149 * 1.5, 2.0 ** -140 / 3,
             float.fromhex("0x1.fffffefffffffp+127"), -flt_max, 0.1, -0.0]
    for i in range(len(edges) - 6):
        x = edges[i:i + 7]
        try:
            want = net.outputs([x])[0]
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                net.feedforward(x)
        else:
            assert _bits32(net.feedforward(x)) == _bits32(want), x
