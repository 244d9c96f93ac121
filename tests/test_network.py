"""The Network API on each backend: shapes, views, seeding, learning."""

import math
import struct

import pytest

import pybp
from pybp._kernels.elementary import exp as own_exp

XOR = [([0.0, 0.0], [0.0]), ([0.0, 1.0], [1.0]), ([1.0, 0.0], [1.0]),
       ([1.0, 1.0], [0.0])]


def test_params_layout_and_views(backend):
    net = pybp.Network([3, 4, 2], seed=5, backend=backend)
    assert len(net.params) == 4 * (3 + 1) + 2 * (4 + 1)
    w1, w2 = net.weights
    b1, b2 = net.biases
    assert w1.shape == (4, 3) and w2.shape == (2, 4)
    assert w1[1, 2] == net.params[1 * 3 + 2]
    assert b1[3] == net.params[12 + 3]
    assert w2[1, 0] == net.params[16 + 4]
    assert b2[1] == net.params[16 + 8 + 1]
    w1[0, 0] = 0.25          # views write through to params
    assert net.params[0] == 0.25
    net.params[17] = -1.5    # and params show through the views
    assert w2[0, 1] == -1.5


def test_feedforward_matches_hand_computation(backend):
    net = pybp.Network([2, 1], activation="sigmoid", seed=0, backend=backend)
    net.params = [0.5, -0.25, 0.125]
    z = (0.0 + 0.5 * 0.8 + -0.25 * 0.4) + 0.125
    assert net.feedforward([0.8, 0.4]) == [1.0 / (1.0 + own_exp(-z))]


def test_one_update_by_hand(backend):
    # Identity output, quadratic cost: delta = a - y, so the update is easy
    # to write down for one example.
    net = pybp.Network([2, 1], activation="identity", seed=0, backend=backend)
    net.params = [0.5, -0.25, 0.125]
    x, y, eta = [0.8, 0.4], [1.0], 0.5
    a = (0.0 + 0.5 * 0.8 + -0.25 * 0.4) + 0.125
    d = (a - 1.0) * 1.0
    net.update_mini_batch([x], [y], eta=eta)
    step = eta / 1
    expect = [1.0 * 0.5 - step * (0.0 + d * 0.8),
              1.0 * -0.25 - step * (0.0 + d * 0.4),
              0.125 - step * (0.0 + d)]
    assert list(net.params) == expect


def test_same_seed_same_network(backend):
    a = pybp.Network([5, 3, 2], seed=42, backend=backend)
    b = pybp.Network([5, 3, 2], seed=42, backend=backend)
    c = pybp.Network([5, 3, 2], seed=43, backend=backend)
    assert a.params == b.params and a.params != c.params


def test_scaled_init_has_smaller_weights():
    wide = pybp.Network([400, 20], seed=1, init="scaled", backend="python")
    plain = pybp.Network([400, 20], seed=1, backend="python")
    def spread(net):
        w = net.params[:400 * 20]
        return math.sqrt(sum(v * v for v in w) / len(w))
    assert spread(plain) > 0.9 and spread(wide) < 0.1


def test_backend_is_reported(backend):
    net = pybp.Network([2, 2], backend=backend)
    assert net.backend == backend
    assert pybp.backend in pybp.available_backends()
    assert "python" in pybp.available_backends()


def test_missing_c_backend_says_why(monkeypatch):
    from pybp import _kernels
    monkeypatch.setattr(_kernels, "ccore", None)
    monkeypatch.setattr(_kernels, "C_UNAVAILABLE", "no compiler at install time")
    with pytest.raises(pybp.BackendError, match="no compiler at install time"):
        pybp.Network([2, 2], backend="c")


def test_copy_to_other_backend_keeps_bits():
    net = pybp.Network([4, 3, 2], seed=9, backend="python")
    for other in pybp.available_backends():
        twin = net.copy(backend=other)
        assert twin.backend == other
        assert bytes(twin.params) == bytes(net.params)
        twin.params[0] += 1.0
        assert twin.params[0] != net.params[0]   # a copy, not a view


def test_sgd_learns_xor(backend):
    net = pybp.Network([2, 4, 1], activation="sigmoid", cost="cross-entropy",
                       seed=3, backend=backend)
    before = net.cost(XOR)
    history = net.sgd(XOR, 300, 4, 2.0)
    assert len(history) == 300
    assert history[-1]["epoch"] == 300
    assert net.cost(XOR) < before / 4
    outs = [net.feedforward(x)[0] for x, _ in XOR]
    assert outs[0] < 0.5 < outs[1] and outs[2] > 0.5 > outs[3]


def test_evaluate_counts_argmax(backend):
    net = pybp.Network([1, 2], activation="identity", seed=0, backend=backend)
    net.params = [1.0, -1.0, 0.0, 0.0]   # output 0 wins for x > 0
    data = [([1.0], 0), ([2.0], 0), ([-1.0], 1), ([-3.0], 0)]
    assert net.evaluate(data) == 3
    assert net.predict([[1.0], [-1.0]]) == [0, 1]


def test_sgd_reports_cost_and_accuracy(backend):
    net = pybp.Network([2, 3, 2], seed=1, backend=backend)
    data = [([0.1 * i, 1.0 - 0.1 * i], i % 2) for i in range(10)]
    records = []
    history = net.sgd(data, 2, 3, 1.0, test_data=data, callback=records.append)
    assert records == history
    for r in history:
        assert set(r) >= {"epoch", "cost", "seconds", "correct", "total"}
        assert r["total"] == 10 and 0 <= r["correct"] <= 10
        assert r["cost"] > 0 and r["seconds"] >= 0


def test_progress_pieces_change_no_bit(backend):
    data = pybp.Dataset([[0.01 * i, 0.02 * i] for i in range(200)],
                        labels=[i % 3 for i in range(200)])
    a = pybp.Network([2, 5, 3], seed=4, backend=backend)
    b = a.copy()
    seen = []
    a.sgd(data, 1, 3, 0.7, progress=lambda done, n: seen.append(done))
    b.sgd(data, 1, 3, 0.7)
    assert seen[-1] == 200 and len(seen) > 1
    assert bytes(a.params) == bytes(b.params)


COMBOS = [("sigmoid", "quadratic"), ("tanh", "quadratic"), ("relu", "quadratic"),
          ("identity", "quadratic"), ("sigmoid", "cross-entropy"),
          ("softmax", "log-likelihood")]


@pytest.mark.parametrize("out,cost", COMBOS)
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "identity"])
def test_gradcheck(backend, hidden, out, cost):
    net = pybp.Network([3, 4, 3], [hidden, out], cost, seed=11, backend=backend)
    xs = [[0.3, -0.7, 0.9], [-0.2, 0.4, 0.1], [0.8, 0.05, -0.6]]
    if cost == "quadratic":
        ys = [[0.2, -0.4, 0.9], [1.0, 0.0, 0.3], [0.5, 0.5, -1.0]]
    else:
        ys = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    if cost == "cross-entropy":
        ys = [[0.1, 0.9, 0.4], [1.0, 0.0, 0.3], [0.5, 0.5, 0.0]]
    err = pybp.gradcheck(net, xs, ys)
    # Central differences with eps = 1e-5 are this close for seed 11's
    # parameters: at most 1.9e-6 (relu and identity into cross-entropy), the
    # same with libm's functions, so the bound is the draws', not exp's.
    assert err < 5e-6, err


def test_gradcheck_catches_a_wrong_gradient(monkeypatch):
    net = pybp.Network([2, 3, 1], seed=2, backend="python")
    real = net.kernels.gradient
    def skewed(spec, params, data):
        g = real(spec, params, data)
        g[0] *= 1.01
        return g
    monkeypatch.setattr(net.kernels, "gradient", skewed)
    assert pybp.gradcheck(net, [[0.5, -0.5]], [[1.0]]) > 1e-3


def test_reference_dot_is_the_plain_left_to_right_sum():
    # dot() may use the builtin sum where that is a plain loop (before 3.12);
    # it must give the bits of the spelled-out sum on every version.
    import random

    from pybp._kernels.reference import dot
    rng = random.Random(7)
    for n in (1, 2, 17, 784):
        u = [rng.gauss(0, 10 ** rng.randint(-5, 5)) for _ in range(n)]
        v = [rng.gauss(0, 10 ** rng.randint(-5, 5)) for _ in range(n)]
        s = 0.0
        for p, q in zip(u, v):
            s += p * q
        assert struct.pack("<d", dot(u, v)) == struct.pack("<d", s)
    assert struct.pack("<d", dot([-0.0], [1.0])) == struct.pack("<d", 0.0)
