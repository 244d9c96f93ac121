"""The cross-entropy and log-likelihood costs, computed from z^L.

(a) the values where a = f(z) rounds to 0 or 1 (the old formulas gave inf);
(b) the error against decimal at 50 digits on a few hundred random (z, y);
(c) the same bits from both backends on random networks and targets;
(d) gradcheck agrees with the gradient where the outputs saturate;
(e) log1p (elementary.py, pybp_elementary.h): C and Python give the same
    bits, and its error against decimal.
"""

import decimal
import math
import random
import struct

import pytest

import pybp
from pybp._kernels import elementary as E
from pybp._kernels import reference as R

D = decimal.Decimal


def ulps(got, exact):
    """|got - exact| in units of the last place of exact (rounded to double)."""
    e = float(exact)
    return float(abs(D(got) - exact)) / (math.ulp(e) if e != 0.0 else 5e-324)


def _ln(x):
    return x.ln()


def _softplus(t):
    """ln(1 + e^t) in the current context; for tiny e^t its series, which
    1 + e^t would lose."""
    u = t.exp()
    return u - u * u / 2 if u < D("1e-30") else _ln(1 + u)


def exact_cross_entropy(z, y):
    """-[y ln s + (1 - y) ln (1 - s)], s = sigmoid(z), at 50 digits:
    -ln s = softplus(-z), -ln(1 - s) = softplus(z)."""
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        z, y = D(z), D(y)
        return +(y * _softplus(-z) + (1 - y) * _softplus(z))


def exact_log_likelihood(z, y):
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        zs = [D(v) for v in z]
        top = max(zs)
        lse = _ln(sum((v - top).exp() for v in zs))
        return +(-sum(D(yj) * ((zj - top) - lse) for zj, yj in zip(zs, y) if yj))


# --- (a) the saturated ends -------------------------------------------------


def test_cross_entropy_where_sigmoid_rounds_to_one(backend):
    net = pybp.Network.from_params([1, 1], "sigmoid", "cross-entropy", [1.0, 0.0],
                                   backend=backend)
    assert net.cost([[37.0]], [[0.0]]) == 37.0
    assert net.cost([[1000.0]], [[0.0]]) == 1000.0
    assert net.cost([[-1000.0]], [[1.0]]) == 1000.0
    assert net.cost([[1000.0]], [[1.0]]) == 0.0
    for z in (20.0, 30.0, 37.0, -20.0, -40.0):
        for y in (0.0, 1.0, 0.25):
            got = net.cost([[z]], [[y]])
            assert ulps(got, exact_cross_entropy(z, y)) <= 1.0, (z, y, got)


def test_log_likelihood_where_softmax_underflows(backend):
    net = pybp.Network.from_params([1, 2], "softmax", "log-likelihood",
                                   [0.0, 0.0, 0.0, 800.0], backend=backend)
    assert net.cost([[1.0]], [0]) == 800.0
    assert net.cost([[1.0]], [[1.0, 0.0]]) == 800.0
    assert net.cost([[1.0]], [1]) == 0.0


def test_zero_coefficients_contribute_nothing():
    # y = 0 or 1 exactly: one product is skipped, what remains is exact.
    for z in (0.5, -0.5, 3.0, -3.0):
        t = E.log1p(E.exp(-abs(z)))
        hot = R.cost_x("cross-entropy", [z], [R.sigmoid(z)], [1.0 if z >= 0 else 0.0])
        assert hot == 0.0 + t
    assert R.cost_x("cross-entropy", [math.inf], [1.0], [1.0]) == 0.0
    assert R.cost_x("cross-entropy", [-math.inf], [0.0], [0.0]) == 0.0


# --- (b) accuracy ------------------------------------------------------------


def test_cross_entropy_error_against_decimal():
    rng = random.Random(7)
    worst = 0.0
    for _ in range(400):
        z = rng.choice([rng.uniform(-5, 5), rng.uniform(-60, 60), rng.uniform(-800, 800)])
        y = rng.choice([0.0, 1.0, rng.random()])
        got = R.cost_x("cross-entropy", [z], [R.sigmoid(z)], [y])
        worst = max(worst, ulps(got, exact_cross_entropy(z, y)))
    assert worst <= 4.0, worst


def test_log_likelihood_error_against_decimal():
    rng = random.Random(8)
    worst = 0.0
    for _ in range(300):
        n = rng.randint(2, 6)
        scale = rng.choice([1.0, 30.0, 900.0])
        z = [rng.uniform(-scale, scale) for _ in range(n)]
        y = [0.0] * n
        y[rng.randrange(n)] = 1.0
        got = R.cost_x("log-likelihood", z, R.softmax(z), y)
        exact = exact_log_likelihood(z, y)
        # the error is relative to the terms: (z_j - top) is rounded once
        with decimal.localcontext() as ctx:
            ctx.prec = 50
            size = max(abs(D(v)) for v in z) + 1
        worst = max(worst, float(abs(D(got) - exact) / size))
    assert worst <= 4 * 2.0 ** -52, worst


# --- (c) both backends, the same bits ---------------------------------------


def _bits(x):
    return struct.pack("<d", x)


@pytest.mark.parametrize("cost, outs", [("cross-entropy", "sigmoid"),
                                        ("log-likelihood", "softmax")])
def test_backends_give_the_same_cost_bits(c_backend, cost, outs):
    rng = random.Random(11)
    for trial in range(40):
        sizes = [rng.randint(1, 5) for _ in range(rng.randint(2, 4))]
        acts = ["sigmoid"] * (len(sizes) - 2) + [outs]
        n_out, count = sizes[-1], rng.randint(1, 9)
        scale = rng.choice([1.0, 20.0, 300.0])
        nparams = sum(b * (a + 1) for a, b in zip(sizes, sizes[1:]))
        params = [rng.uniform(-scale, scale) for _ in range(nparams)]
        xs = [[rng.uniform(-2, 2) for _ in range(sizes[0])] for _ in range(count)]
        if cost == "cross-entropy":
            ys = [[rng.choice([0.0, 1.0, rng.random()]) for _ in range(n_out)]
                  for _ in range(count)]
        elif trial % 2:
            ys = [rng.randrange(n_out) for _ in range(count)]
        else:
            ys = []
            for _ in range(count):
                w = [rng.random() for _ in range(n_out)]
                s = 0.0
                for v in w:
                    s += v
                ys.append([v / s for v in w])
        nets = [pybp.Network.from_params(sizes, acts, cost, params, backend=b)
                for b in ("python", "c")]
        costs = [n.cost(xs, ys) for n in nets]
        assert _bits(costs[0]) == _bits(costs[1]), (sizes, costs)
        grads = [n.gradient(xs, ys) for n in nets]
        assert grads[0].tobytes() == grads[1].tobytes()


def test_float32_cost_near_float64(c_backend):
    params = [3.0, -1.0, 2.0, 0.5, -40.0, 25.0]
    n64 = pybp.Network.from_params([2, 2], "sigmoid", "cross-entropy", params,
                                   backend="c")
    n32 = pybp.Network.from_params([2, 2], "sigmoid", "cross-entropy", params,
                                   backend="c", dtype="float32")
    xs, ys = [[1.0, 2.0], [-3.0, 0.5]], [[0.0, 1.0], [0.25, 0.0]]
    c64, c32 = n64.cost(xs, ys), n32.cost(xs, ys)
    assert math.isfinite(c32) and abs(c32 - c64) <= 1e-5 * abs(c64)


# --- (d) gradcheck with saturated outputs ------------------------------------


def test_gradcheck_with_saturated_sigmoid_outputs(backend):
    # z around +-25: a rounds to 1 (or nearly 0); the cost stays smooth.
    params = [12.0, -1.5, 30.0, -3.0, 1.0, -22.0]
    net = pybp.Network.from_params([2, 2], "sigmoid", "cross-entropy", params,
                                   backend=backend)
    xs = [[1.0, 0.5], [-0.5, 1.0], [2.0, -1.0]]
    ys = [[0.0, 1.0], [1.0, 0.0], [0.3, 0.7]]
    assert net.cost(xs, ys) > 10.0
    assert pybp.gradcheck(net, xs, ys) < 1e-6


def test_gradcheck_log_likelihood_with_dense_targets(backend):
    net = pybp.Network([3, 4, 3], ["sigmoid", "softmax"], cost="log-likelihood",
                       seed=3, backend=backend)
    xs = [[0.1, 0.5, -0.2], [1.0, -1.0, 0.3]]
    ys = [[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]]
    assert pybp.gradcheck(net, xs, ys) < 1e-6


# --- (e) log1p ---------------------------------------------------------------


def _log1p_arguments():
    rng = random.Random(5)
    out = [0.0, -0.0, 5e-324, -5e-324, 2.0 ** -53, -2.0 ** -54, 2.0 ** -52, 1.0, 2.0,
           -0.5, -1.0, -2.0, math.inf, math.nan, 1e300, 1.7976931348623157e308]
    for _ in range(3000):
        out.append(rng.random())                         # e^-|z| in (0, 1]
        out.append(rng.random() * 2.0 ** -rng.randint(0, 80))
        out.append(rng.uniform(-1.0, 3.0))
    return out


def test_log1p_c_gives_the_references_bits(c_backend):
    # log1p is internal to the C core; it is reached through the cost of a
    # one-output cross-entropy network: for z < 0 and y = 0 the product is
    # skipped and C_x = log1p(e^z).
    rng = random.Random(6)
    zs = [-rng.uniform(0, 40) for _ in range(300)] + [-0.0, -1e-300, -745.0]
    nets = [pybp.Network.from_params([1, 1], "sigmoid", "cross-entropy", [1.0, 0.0],
                                     backend=b) for b in ("python", "c")]
    for z in zs:
        got = [n.cost([[z]], [[0.0]]) for n in nets]
        assert _bits(got[0]) == _bits(got[1]) == _bits(E.log1p(E.exp(z))), z


def test_log1p_special_values():
    assert _bits(E.log1p(-0.0)) == _bits(-0.0) and _bits(E.log1p(0.0)) == _bits(0.0)
    assert E.log1p(5e-324) == 5e-324
    assert E.log1p(-1.0) == -math.inf
    assert math.isnan(E.log1p(-2.0)) and math.isnan(E.log1p(math.nan))
    assert E.log1p(math.inf) == math.inf


def test_log1p_error_against_decimal():
    worst = 0.0
    for x in _log1p_arguments():
        if not (math.isfinite(x) and x > -1.0):
            continue
        with decimal.localcontext() as ctx:
            ctx.prec = 50
            if abs(x) < 1e-20:
                exact = +(D(x) - D(x) * D(x) / 2)
            else:
                exact = +(1 + D(x)).ln()
        if exact == 0:
            assert E.log1p(x) == 0.0
            continue
        worst = max(worst, ulps(E.log1p(x), exact))
    assert worst <= 2.0, worst
