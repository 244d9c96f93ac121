"""float32 networks (C backend): close to the float64 reference, identical
on every instruction set and thread count, and the same API.

Tolerances compare a float32 result with the float64 result computed from
the same float32-rounded parameters and inputs: max |r - e| <= tol *
(max |e| + 1e-3).  Measured errors are around 1e-6 relative.
"""

import math
import random
from array import array

import pytest

import pybp

from helpers import bits, run

SHAPES = [
    ([12, 30, 10], "sigmoid", "quadratic"),
    ([9, 17, 33, 3], ["tanh", "relu", "identity"], "quadratic"),
    ([10, 20, 5], ["relu", "sigmoid"], "cross-entropy"),
    ([16, 40, 10], ["sigmoid", "softmax"], "log-likelihood"),
]


def close(r, e, tol):
    top = max(abs(v) for v in e)
    err = max(abs(a - b) for a, b in zip(r, e))
    return err <= tol * (top + 1e-3), err


def pair(c_backend, sizes, act, cost, seed=1):
    """A float32 network and a float64 one holding the same (rounded) values."""
    f32 = pybp.Network(sizes, act, cost, seed=seed, init="scaled", dtype="float32")
    f64 = f32.copy(dtype="float64")
    return f32, f64


def data(sizes, count=120, seed=2):
    rng = random.Random(seed)
    xs = array("f", [rng.uniform(-1.5, 1.5) for _ in range(count * sizes[0])])
    labels = [rng.randrange(sizes[-1]) for _ in range(count)]
    return pybp.Dataset(xs, labels=labels, n_inputs=sizes[0])


@pytest.mark.parametrize("sizes,act,cost", SHAPES)
def test_close_to_float64(c_backend, sizes, act, cost):
    f32, f64 = pair(c_backend, sizes, act, cost)
    ds = data(sizes)
    assert f32.params.typecode == "f" and f64.params.typecode == "d"
    assert list(f64.params) == list(f32.params)  # widening is exact

    out32 = [v for row in f32.outputs(ds) for v in row]
    out64 = [v for row in f64.outputs(ds) for v in row]
    ok, err = close(out32, out64, 1e-5)
    assert ok, err
    assert math.isclose(f32.cost(ds), f64.cost(ds), rel_tol=1e-5)
    ok, err = close(f32.gradient(ds), f64.gradient(ds), 1e-4)
    assert ok, err

    f32.sgd(ds, 2, 10, 0.1, 1.0)
    f64.sgd(ds, 2, 10, 0.1, 1.0)
    ok, err = close(f32.params, f64.params, 1e-4)
    assert ok, err


def test_mnist_accuracy_matches_float64(c_backend, mnist_dir):
    from pybp.data import load_mnist
    train, _, test = load_mnist(mnist_dir)
    train, test = train.subset(5000), test.subset(2000)
    f32 = pybp.Network([784, 30, 10], seed=0, dtype="float32")
    f64 = pybp.Network([784, 30, 10], seed=0)
    # the float32 network starts from the float64 one's values, rounded
    assert list(f32.params) == list(array("f", f64.params))
    h32 = f32.sgd(train, 2, 10, 3.0, test_data=test)
    h64 = f64.sgd(train, 2, 10, 3.0, test_data=test)
    for a, b in zip(h32, h64):
        assert abs(a["correct"] - b["correct"]) <= 0.02 * b["total"]
        assert math.isclose(a["cost"], b["cost"], rel_tol=0.05)


def test_same_bits_on_every_path_and_thread_count(c_backend):
    from pybp._kernels import ccore
    sizes = [20, 40, 10]
    ds = data(sizes, count=200)
    results = []
    for isa in ccore.supported_isas():
        for threads in (None, 2, 3):
            with ccore.use_isa(isa):
                net = pybp.Network(sizes, seed=5, dtype="float32", threads=threads)
                net.sgd(ds, 2, 50, 1.0)
                results.append((isa, threads, bits(net.params),
                                bits(net.gradient(ds))))
    first = results[0]
    for r in results[1:]:
        assert r[2:] == first[2:], r[:2]


def test_uint8_and_float_inputs(c_backend):
    rng = random.Random(3)
    raw = bytes(rng.randrange(256) for _ in range(50 * 8))
    as_u8 = pybp.Dataset(raw, labels=[i % 3 for i in range(50)], n_inputs=8,
                         divisor=255.0)
    as_f32 = pybp.Dataset(array("f", [b / 255.0 for b in raw]),
                          labels=[i % 3 for i in range(50)], n_inputs=8)
    net = pybp.Network([8, 5, 3], seed=1, dtype="float32")
    assert bits(net.gradient(as_u8)) == bits(net.gradient(as_f32))


def test_float32_inputs_are_not_copied(c_backend):
    xs = array("f", [0.25] * 12)
    ds = pybp.Dataset(xs, labels=[0, 1, 0], n_inputs=4)
    assert ds.input_type == "float32"
    assert ds.x_f32.obj is xs
    assert ds.inputs_as("float32") is ds
    widened = ds.inputs_as("float64")
    assert widened.input_type == "float64" and list(widened.x) == list(xs)


def test_float64_network_takes_float32_inputs(backend):
    rng = random.Random(4)
    values = [rng.uniform(-1, 1) for _ in range(6 * 5)]
    narrow = array("f", values)
    ds32 = pybp.Dataset(narrow, labels=[0, 1, 2, 0, 1], n_inputs=6)
    ds64 = pybp.Dataset(array("d", narrow), labels=[0, 1, 2, 0, 1], n_inputs=6)
    net = pybp.Network([6, 4, 3], seed=2, backend=backend)
    assert bits(net.gradient(ds32)) == bits(net.gradient(ds64))


def test_float32_network_takes_float64_inputs(c_backend):
    sizes = [6, 4, 3]
    rng = random.Random(5)
    values = [rng.uniform(-1, 1) for _ in range(6 * 5)]
    ds64 = pybp.Dataset(array("d", values), labels=[0, 1, 2, 0, 1], n_inputs=6)
    ds32 = pybp.Dataset(array("f", values), labels=[0, 1, 2, 0, 1], n_inputs=6)
    net = pybp.Network(sizes, seed=2, dtype="float32")
    assert bits(net.gradient(ds64)) == bits(net.gradient(ds32))
    assert net.feedforward(values[:6]) == net.outputs(ds32)[0]


def test_views_save_load_and_copy(c_backend, tmp_path):
    net = pybp.Network([5, 4, 2], seed=7, dtype="float32")
    w = net.weights[0]
    assert w.format == "f" and w.shape == (4, 5)
    w[1, 2] = 0.5
    assert net.params[1 * 5 + 2] == 0.5
    net.biases[1][0] = -0.25
    assert net.params[-2] == -0.25

    path = tmp_path / "m.pybp"
    net.save(path)
    wide = pybp.load(path)
    assert wide.dtype == "float64" and list(wide.params) == list(net.params)
    narrow = pybp.load(path, dtype="float32")
    assert narrow.dtype == "float32" and bits(narrow.params) == bits(net.params)
    back = wide.copy(dtype="float32")
    assert bits(back.params) == bits(net.params)
    assert "float32" in repr(net)


def test_values_beyond_float32_are_refused(c_backend):
    net = pybp.Network([2, 2], seed=0, dtype="float32")
    with pytest.raises(ValueError, match="beyond float32.s range"):
        net.params = [1e300] * len(net.params)


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"dtype": "float16"}, ValueError, "float64' or 'float32"),
    ({"dtype": None}, ValueError, "float64' or 'float32"),
    ({"dtype": "float32", "backend": "python"}, ValueError, "C backend only"),
])
def test_bad_dtype(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        pybp.Network([3, 2], seed=0, **kwargs)


def test_copy_to_python_backend_needs_float64(c_backend):
    net = pybp.Network([3, 2], seed=0, dtype="float32")
    with pytest.raises(ValueError, match="C backend only"):
        net.copy(backend="python")
    ref = net.copy(backend="python", dtype="float64")
    assert ref.backend == "python" and list(ref.params) == list(net.params)


def test_cli_trains_in_float32(c_backend, mnist_dir, tmp_path):
    import json
    ckpt = tmp_path / "c.json"
    args = ["train", "--data", mnist_dir, "--limit", 1000, "--test-limit", 500,
            "--epochs", 2, "--dtype", "float32", "--json"]
    status, out, err = run(args + ["--checkpoint", ckpt])
    assert status == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["dtype"] for r in records] == ["float32", "float32"]
    status, out, err = run(args[:-3] + ["--json"])
    wide = [json.loads(line) for line in out.splitlines()]
    assert [r["dtype"] for r in wide] == ["float64", "float64"]
    assert abs(records[-1]["accuracy"] - wide[-1]["accuracy"]) <= 0.05
    # a resumed float32 run keeps its dtype and refuses another
    status, out, err = run(["train", "--resume", ckpt, "--epochs", 3,
                            "--data", mnist_dir, "--json"])
    assert status == 0, err
    assert json.loads(out.splitlines()[-1])["dtype"] == "float32"
    status, out, err = run(["train", "--resume", ckpt, "--epochs", 4,
                            "--data", mnist_dir, "--dtype", "float64"])
    assert status != 0 and "conflicts" in err


def test_cli_float32_needs_the_c_backend(mnist_dir):
    status, out, err = run(["train", "--data", mnist_dir, "--limit", 100,
                            "--backend", "python", "--dtype", "float32"])
    assert status != 0
    assert "C backend only" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("sizes,act,cost", SHAPES)
def test_gradcheck_of_a_float32_network(c_backend, sizes, act, cost):
    net = pybp.Network(sizes, act, cost, seed=3, init="scaled", dtype="float32")
    ds = data(sizes, count=8)
    # float64 differences against a float32 gradient: float32's rounding
    # (about 1e-7 relative) is far below this bound, a wrong gradient far above
    assert pybp.gradcheck(net, ds) < 1e-3
