"""Bad input raises ValueError/TypeError naming the problem, on both backends."""

import math
from array import array

import pytest

import pybp

NAN, INF = math.nan, math.inf


def net(backend, sizes=(2, 3, 2), **kw):
    return pybp.Network(list(sizes), seed=0, backend=backend, **kw)


CONSTRUCTION = [
    ({"sizes": [5]}, ValueError, "at least 2 layers"),
    ({"sizes": []}, ValueError, "at least 2 layers"),
    ({"sizes": [3, 0, 2]}, ValueError, "at least 1"),
    ({"sizes": [3, -4]}, ValueError, "at least 1"),
    ({"sizes": [3, 2.5]}, TypeError, "integer"),
    ({"sizes": "784,30,10"}, TypeError, "sequence of integers"),
    ({"sizes": [3, True]}, TypeError, "integer"),
    ({"sizes": [2] * 66}, ValueError, "at most 64"),
    ({"sizes": [3, 2], "activation": "swish"}, ValueError, "unknown activation"),
    ({"sizes": [3, 2], "activation": 7}, TypeError, "name or a list"),
    ({"sizes": [3, 4, 2], "activation": ["sigmoid"]}, ValueError, "need 2 activations"),
    ({"sizes": [3, 4, 2], "activation": ["softmax", "softmax"],
      "cost": "log-likelihood"}, ValueError, "only allowed on the output layer"),
    ({"sizes": [3, 2], "cost": "hinge"}, ValueError, "unknown cost"),
    ({"sizes": [3, 2], "activation": "tanh", "cost": "cross-entropy"},
     ValueError, "needs sigmoid outputs"),
    ({"sizes": [3, 2], "cost": "log-likelihood"}, ValueError, "needs softmax"),
    ({"sizes": [3, 2], "activation": "softmax"}, ValueError, "log-likelihood"),
    ({"sizes": [3, 2], "init": "xavier"}, ValueError, "init must be"),
    ({"sizes": [3, 2], "seed": "abc"}, TypeError, "seed"),
    ({"sizes": [3, 2], "backend": "fortran"}, ValueError, "backend must be"),
    ({"sizes": [2 ** 40, 2 ** 40]}, MemoryError, "too many"),
]


@pytest.mark.parametrize("kwargs,exc,words", CONSTRUCTION)
def test_bad_construction(backend, kwargs, exc, words):
    kwargs = dict(kwargs)
    kwargs.setdefault("backend", backend)
    with pytest.raises(exc, match=words):
        pybp.Network(**kwargs)


X = [[0.1, 0.2], [0.3, 0.4]]
Y = [[1.0, 0.0], [0.0, 1.0]]

CALLS = [
    ("feedforward", ([0.1],), ValueError, "has 1 values, expected 2"),
    ("feedforward", ([0.1, NAN],), ValueError, "not finite"),
    ("feedforward", ([0.1, INF],), ValueError, "not finite"),
    ("feedforward", ("ab",), TypeError, "sequence of numbers"),
    ("feedforward", ([0.1, "x"],), TypeError, "sequence of numbers"),
    ("cost", (X, [[1.0, 0.0]]), ValueError, "1 rows for 2 examples"),
    ("cost", (X, [[1.0], [0.0]]), ValueError, "network has 2 outputs"),
    ("cost", ([[0.1, 0.2, 0.3]], [[1.0, 0.0]]), ValueError, "network takes 2"),
    ("cost", ([[0.1, 0.2], [0.3]], Y), ValueError, "row 1 has 1 values"),
    ("cost", ([[0.1, NAN], [0.3, 0.4]], Y), ValueError, "not finite"),
    ("cost", (X, [[1.0, INF], [0.0, 1.0]]), ValueError, "not finite"),
    ("cost", ([], []), ValueError, "no examples"),
    ("gradient", (X, [0, 2]), ValueError, "label 2 is out of range"),
    ("gradient", (X, [0, -1]), ValueError, "negative"),
    ("gradient", (42,), TypeError, "expected a Dataset"),
    ("backprop", ([0.1, 0.2], [1.0]), ValueError, "has 1 values, expected 2"),
    ("backprop", ([0.1, 0.2], 5), ValueError, "out of range"),
    ("update_mini_batch", (X, Y), TypeError, "needs eta"),
    ("evaluate", ([[0.1, 0.2]],), TypeError, "expected a Dataset"),
]


@pytest.mark.parametrize("method,args,exc,words", CALLS)
def test_bad_calls(backend, method, args, exc, words):
    n = net(backend)
    before = bytes(n.params)
    with pytest.raises(exc, match=words):
        getattr(n, method)(*args)
    assert bytes(n.params) == before


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"eta": NAN}, ValueError, "eta must be finite"),
    ({"eta": INF}, ValueError, "eta must be finite"),
    ({"eta": 0.0}, ValueError, "eta must be > 0"),
    ({"eta": "1"}, TypeError, "eta must be a number"),
    ({"eta": 1.0, "lmbda": -1.0}, ValueError, "lmbda must be >= 0"),
    ({"eta": 1.0, "lmbda": NAN}, ValueError, "lmbda must be finite"),
    ({"eta": 1.0, "lmbda": 0.1, "n": 0}, ValueError, "n must be at least 1"),
])
def test_bad_update_settings(backend, kwargs, exc, words):
    n = net(backend)
    before = bytes(n.params)
    with pytest.raises(exc, match=words):
        n.update_mini_batch(X, Y, **kwargs)
    assert bytes(n.params) == before


@pytest.mark.parametrize("args,exc,words", [
    ((0, 1, 1.0), ValueError, "epochs must be at least 1"),
    ((1, 0, 1.0), ValueError, "mini_batch_size must be at least 1"),
    ((1, 1.5, 1.0), TypeError, "mini_batch_size must be an integer"),
    ((1, 1, NAN), ValueError, "eta must be finite"),
    ((1, 1, -3.0), ValueError, "eta must be > 0"),
])
def test_bad_sgd_settings(backend, args, exc, words):
    n = net(backend)
    with pytest.raises(exc, match=words):
        n.sgd(list(zip(X, Y)), *args)


def test_params_assignment_is_checked(backend):
    n = net(backend)
    with pytest.raises(ValueError, match="expected 17 values"):
        n.params = [0.0] * 3
    with pytest.raises(ValueError, match="finite"):
        n.params = [NAN] * 17
    with pytest.raises(TypeError):
        n.params = "x" * 17


@pytest.mark.parametrize("make,exc,words", [
    (lambda: pybp.Dataset(b"\x01\x02\x03", n_inputs=2, divisor=255.0),
     ValueError, "whole number of examples"),
    (lambda: pybp.Dataset(b"\x01\x02", n_inputs=2, divisor=0.0),
     ValueError, "divisor"),
    (lambda: pybp.Dataset(array("d", [1.0, 2.0]), n_inputs=2, divisor=255.0),
     TypeError, "uint8"),
    (lambda: pybp.Dataset(array("i", [1, 2]), n_inputs=2),
     TypeError, "float64 or float32"),
    (lambda: pybp.Dataset(array("d", [1.0, 2.0])), ValueError, "needs n_inputs"),
    (lambda: pybp.Dataset([[1.0]], [[1.0]], labels=[0]), ValueError, "not both"),
    (lambda: pybp.Dataset([[1.0]], labels=[0, 1]), ValueError, "2 labels for 1"),
    (lambda: pybp.Dataset([[1.0]], labels=["a"]), TypeError, "integers"),
    (lambda: pybp.Dataset([[]]), ValueError, "at least one value"),
])
def test_bad_datasets(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


def test_missing_c_backend_says_why(monkeypatch):
    from pybp import _kernels
    monkeypatch.setattr(_kernels, "ccore", None)
    monkeypatch.setattr(_kernels, "C_UNAVAILABLE", "no compiler at install time")
    with pytest.raises(pybp.BackendError, match="no compiler at install time"):
        pybp.Network([2, 2], backend="c")
