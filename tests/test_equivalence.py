"""float64 bit-exactness: the C core against the pure-Python reference.

Every comparison is on raw bytes (SPEC.md, "Exactness contract"): no
tolerance.  The number of random cases per test is PYBP_EQUIV_EXAMPLES
(default 60).
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pybp
from helpers import bits, datasets, networks, python_and_c as pair, sgd_outcome

EXAMPLES = int(os.environ.get("PYBP_EQUIV_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


@pytest.fixture(autouse=True)
def _needs_c(c_backend):
    pass


@SETTINGS
@given(st.data())
def test_feedforward_and_cost(data):
    sizes, acts, cost, seed, init = data.draw(networks())
    ds = data.draw(datasets(sizes, cost))
    py, c = pair(sizes, acts, cost, seed, init)
    out_py, out_c = py.outputs(ds), c.outputs(ds)
    assert [bits(r) for r in out_py] == [bits(r) for r in out_c]
    assert bits([py.cost(ds)]) == bits([c.cost(ds)])
    assert py.evaluate(ds) == c.evaluate(ds)
    x = ds.input(0)
    assert bits(py.feedforward(x)) == bits(c.feedforward(x))


@SETTINGS
@given(st.data())
def test_gradient(data):
    sizes, acts, cost, seed, init = data.draw(networks())
    ds = data.draw(datasets(sizes, cost))
    py, c = pair(sizes, acts, cost, seed, init)
    assert bits(py.gradient(ds)) == bits(c.gradient(ds))


@SETTINGS
@given(st.data())
def test_update_mini_batch(data):
    sizes, acts, cost, seed, init = data.draw(networks())
    ds = data.draw(datasets(sizes, cost))
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
def test_sgd_epochs(data):
    sizes, acts, cost, seed, init = data.draw(networks(max_size=20))
    ds = data.draw(datasets(sizes, cost, max_count=30))
    py, c = pair(sizes, acts, cost, seed, init)
    m = data.draw(st.integers(1, 12))
    eta = data.draw(st.sampled_from([0.05, 1.0, 3.0]))
    lmbda = data.draw(st.sampled_from([0.0, 0.5]))
    # Some random cases diverge (pybp.DivergenceError): then both backends
    # must stop at the same mini-batch and keep the same parameters.
    out_py = sgd_outcome(py, ds, 2, m, eta, lmbda, test_data=ds)
    out_c = sgd_outcome(c, ds, 2, m, eta, lmbda, test_data=ds)
    assert out_py == out_c
    assert bits(py.params) == bits(c.params)
