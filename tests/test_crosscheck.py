"""pybp.compare finds the first quantity another implementation gets wrong,
in the order backpropagation computes them, and passes a correct one."""

import math
import random

import pytest

import pybp
from pybp.crosscheck import ulp_distance


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def other_backprop(ws, bs, xs, ys, bug=None):
    """A plain backpropagation of a sigmoid network with the quadratic cost,
    as someone else would write it (libm exp, its own loops), with a bug
    planted on request."""
    L = len(ws)
    out = {"z": [[] for _ in range(L)], "a": [[] for _ in range(L)],
           "delta": [[] for _ in range(L)],
           "grad_w": [[[0.0] * len(w[0]) for _ in w] for w in ws],
           "grad_b": [[0.0] * len(b) for b in bs]}
    for x, y in zip(xs, ys):
        acts, zs = [x], []
        for l, (w, b) in enumerate(zip(ws, bs)):
            if bug == "transposed" and l == 1:
                w = [list(col) for col in zip(*w)]
            z = [sum(wj[k] * acts[-1][k] for k in range(len(acts[-1]))) + bj
                 for wj, bj in zip(w, b)]
            zs.append(z)
            acts.append([sigmoid(v) for v in z])

        def prime(z):
            s = sigmoid(z)
            return s * s if bug == "sigma_prime" else s * (1.0 - s)
        deltas = [None] * L
        deltas[-1] = [(a - t) * prime(z) for a, t, z in zip(acts[-1], y, zs[-1])]
        for l in range(L - 2, -1, -1):
            w = ws[l + 1]
            deltas[l] = [sum(w[j][k] * deltas[l + 1][j] for j in range(len(w))) * prime(zs[l][k])
                         for k in range(len(zs[l]))]
        for l in range(L):
            out["z"][l].append(zs[l])
            out["a"][l].append(acts[l + 1])
            out["delta"][l].append(deltas[l])
            for j, d in enumerate(deltas[l]):
                out["grad_b"][l][j] += d
                for k, a in enumerate(acts[l]):
                    out["grad_w"][l][j][k] += d * a
    m = 1 if bug == "no_mean" else len(xs)
    out["grad_b"] = [[g / m for g in gb] for gb in out["grad_b"]]
    out["grad_w"] = [[[g / m for g in row] for row in gw] for gw in out["grad_w"]]
    # One SGD step with L2 decay (ETA, LMBDA, N): weights decay, biases do not.
    decay = 1 - ETA * LMBDA / N
    out["update"] = []
    for w, b, gw, gb in zip(ws, bs, out["grad_w"], out["grad_b"]):
        new = [decay * v - ETA * g for row, grow in zip(w, gw) for v, g in zip(row, grow)]
        bdecay = decay if bug == "decayed_biases" else 1.0
        new += [bdecay * v - ETA * g for v, g in zip(b, gb)]
        out["update"].append(new)
    return out


ETA, LMBDA, N = 0.5, 0.1, 10


@pytest.fixture
def case():
    rng = random.Random(4)
    sizes = [3, 3, 3, 2]
    ws = [[[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_out)]
          for n_in, n_out in zip(sizes, sizes[1:])]
    bs = [[rng.uniform(-1, 1) for _ in range(n)] for n in sizes[1:]]
    xs = [[rng.random() for _ in range(3)] for _ in range(5)]
    ys = [[float(i % 2), float(1 - i % 2)] for i in range(5)]
    return pybp.Network.from_arrays(ws, bs), ws, bs, xs, ys


def test_a_correct_implementation_agrees(case):
    net, ws, bs, xs, ys = case
    r = pybp.compare(net, other_backprop(ws, bs, xs, ys), xs, ys, eta=ETA, lmbda=LMBDA, n=N)
    assert r.agrees and r.first is None and bool(r)
    assert [(row["quantity"], row["layer"]) for row in r.rows][-3:] == [
        ("update", 1), ("update", 2), ("update", 3)]
    assert "agrees" in str(r)
    assert [(row["quantity"], row["layer"]) for row in r.rows][:7] == [
        ("z", 1), ("a", 1), ("z", 2), ("a", 2), ("z", 3), ("a", 3), ("delta", 3)]


@pytest.mark.parametrize("bug, first", [
    ("sigma_prime", ("delta", 3)),
    ("transposed", ("z", 2)),
    ("no_mean", ("grad_b", 3)),
    ("decayed_biases", ("update", 1)),
])
def test_planted_bugs_are_found_where_they_are(case, bug, first):
    net, ws, bs, xs, ys = case
    r = pybp.compare(net, lambda xs_, ys_: other_backprop(ws, bs, xs_, ys_, bug), xs, ys,
                     eta=ETA, lmbda=LMBDA, n=N)
    assert not r.agrees and r.first == first
    assert "first difference" in str(r) and "%s of layer %d" % first in str(r)


def test_exact_needs_the_same_bits(case):
    net, ws, bs, xs, ys = case
    mine = net.trace(xs, ys)
    same = {q: [mine[l][q] for l in range(1, 4)] for q in ("z", "a", "delta", "grad_w",
                                                           "grad_b")}
    assert pybp.compare(net, same, xs, ys, exact=True).agrees
    same["a"][1][0][0] = math.nextafter(same["a"][1][0][0], 2.0) \
        if hasattr(math, "nextafter") else same["a"][1][0][0] * (1 + 2 ** -52)
    r = pybp.compare(net, same, xs, ys, exact=True)
    assert r.first == ("a", 2) and r.rows[3]["max_ulps"] == 1
    assert r.rows[3]["where"] == {"example": 0, "unit": 0}


def test_ulp_distance():
    assert ulp_distance(1.0, 1.0) == 0 and ulp_distance(0.0, -0.0) == 0
    assert ulp_distance(1.0, 1.0 + 2 ** -52) == 1
    assert ulp_distance(-1e-320, 1e-320) == 2 * ulp_distance(0.0, 1e-320)
    assert ulp_distance(float("nan"), 1.0) == math.inf
    assert ulp_distance(float("nan"), float("nan")) == 0


def test_bad_other(case):
    net, ws, bs, xs, ys = case
    with pytest.raises(ValueError, match="unknown quantities"):
        pybp.compare(net, {"zz": []}, xs, ys)
    with pytest.raises(ValueError, match="has 1 layers, the network 3"):
        pybp.compare(net, {"z": [[]]}, xs, ys)
    with pytest.raises(TypeError):
        pybp.compare(net, 3, xs, ys)
    with pytest.raises(ValueError, match="give the step's eta"):
        pybp.compare(net, other_backprop(ws, bs, xs, ys), xs, ys)


def test_pytorch_autograd_agrees_to_rounding():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Sigmoid(),
                                torch.nn.Linear(5, 3), torch.nn.Sigmoid()).double()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    net = pybp.Network.from_arrays([m.weight.detach().numpy() for m in linears],
                                   [m.bias.detach().numpy() for m in linears])
    x = torch.rand(4, 6, dtype=torch.float64)
    y = torch.eye(3, dtype=torch.float64)[torch.tensor([0, 2, 1, 0])]
    (0.5 * ((model(x) - y) ** 2).sum(1).mean()).backward()
    r = pybp.compare(net, {"grad_w": [m.weight.grad for m in linears],
                           "grad_b": [m.bias.grad for m in linears]}, x.tolist(), y.tolist())
    assert r.agrees, str(r)
