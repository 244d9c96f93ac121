"""float64 bit-exactness: the C core against the pure-Python reference, on
every instruction-set path of the C core.

The C core compiles its loops for several instruction sets (portable
"scalar", "avx2", "avx512") and runs the best one this CPU supports unless
told otherwise.  Every test here takes the `isa` fixture (conftest.py), so
it runs once per path this CPU supports, and on each path the C core's
results must be the reference's, bit for bit: every comparison is on raw
bytes (docs/exactness.md), with no tolerance.

The random cases are drawn by hypothesis, derandomized: the same cases on
every path, PYBP_EQUIV_EXAMPLES of them per test and path (default 60).
Worker threads, the path settings themselves, and networks too wide for the
reference are in test_isa_settings.py.
"""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pybp

from helpers import bits, datasets, example_settings, networks, sgd_outcome
from helpers import python_and_c as pair

SETTINGS = example_settings("PYBP_EQUIV_EXAMPLES", 60)


@SETTINGS
@given(st.data())
def test_feedforward_and_cost(isa, data):
    sizes, acts, cost, seed, init = data.draw(networks(max_size=45))
    ds = data.draw(datasets(sizes, cost, max_count=17))
    py, c = pair(sizes, acts, cost, seed, init)
    out_py, out_c = py.outputs(ds), c.outputs(ds)
    assert [bits(r) for r in out_py] == [bits(r) for r in out_c]
    assert bits([py.cost(ds)]) == bits([c.cost(ds)])
    assert py.evaluate(ds) == c.evaluate(ds)
    x = ds.input(0)
    assert bits(py.feedforward(x)) == bits(c.feedforward(x))


@SETTINGS
@given(st.data())
def test_gradient(isa, data):
    sizes, acts, cost, seed, init = data.draw(networks(max_size=45))
    ds = data.draw(datasets(sizes, cost, max_count=17))
    py, c = pair(sizes, acts, cost, seed, init)
    assert bits(py.gradient(ds)) == bits(c.gradient(ds))


@SETTINGS
@given(st.data())
def test_update_mini_batch(isa, data):
    sizes, acts, cost, seed, init = data.draw(networks(max_size=45))
    ds = data.draw(datasets(sizes, cost, max_count=17))
    py, c = pair(sizes, acts, cost, seed, init)
    eta = data.draw(st.sampled_from([0.01, 0.5, 3.0]))
    lmbda = data.draw(st.sampled_from([0.0, 0.1, 5.0]))
    n = data.draw(st.integers(1, 1000))
    for _ in range(3):
        py.update_mini_batch(ds, eta=eta, lmbda=lmbda, n=n)
        c.update_mini_batch(ds, eta=eta, lmbda=lmbda, n=n)
        assert bits(py.params) == bits(c.params)


@SETTINGS
@given(st.data())
def test_sgd_epochs(isa, data):
    sizes, acts, cost, seed, init = data.draw(networks(max_size=24))
    ds = data.draw(datasets(sizes, cost, max_count=30))
    py, c = pair(sizes, acts, cost, seed, init)
    m = data.draw(st.integers(1, 17))
    eta = data.draw(st.sampled_from([0.05, 1.0, 3.0]))
    lmbda = data.draw(st.sampled_from([0.0, 0.5]))
    # Some random cases diverge (pybp.DivergenceError): then both backends
    # must stop at the same mini-batch and keep the same parameters.
    out_py = sgd_outcome(py, ds, 2, m, eta, lmbda, test_data=ds)
    out_c = sgd_outcome(c, ds, 2, m, eta, lmbda, test_data=ds)
    assert out_py == out_c
    assert bits(py.params) == bits(c.params)


# The reference's side of test_mnist_shape, per mini-batch size: it does
# not depend on the C core's path, so it is computed for the first path only.
_MNIST_REFERENCE = {}


@pytest.mark.parametrize("m", [1, 2, 3, 4, 10])
def test_mnist_shape(isa, m):
    """[784, 30, 10] on uint8 inputs with labels, as the benchmarks run it."""
    rng = random.Random(m)
    count = 23
    x = bytes(rng.randrange(256) for _ in range(count * 784))
    ds = pybp.Dataset(x, labels=[rng.randrange(10) for _ in range(count)],
                      n_inputs=784, divisor=255.0)
    py, c = pair([784, 30, 10], ["sigmoid", "sigmoid"], "quadratic", m,
                 "scaled")
    if m not in _MNIST_REFERENCE:
        py.sgd(ds, 1, m, 3.0)
        _MNIST_REFERENCE[m] = bits(py.params), bits(py.gradient(ds))
    params, gradient = _MNIST_REFERENCE[m]
    c.sgd(ds, 1, m, 3.0)
    assert bits(c.params) == params
    assert bits(c.gradient(ds)) == gradient
