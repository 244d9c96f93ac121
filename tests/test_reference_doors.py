"""Bringing a network in from another implementation (Network.from_arrays)
and tracing every quantity of backpropagation (Network.trace), both backends
with the same bits."""

import random

import pytest

import pybp


def _layers(sizes, seed=2):
    rng = random.Random(seed)
    ws = [[[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_out)]
          for n_in, n_out in zip(sizes, sizes[1:])]
    bs = [[rng.uniform(-1, 1) for _ in range(n_out)] for n_out in sizes[1:]]
    return ws, bs


def test_from_arrays_in_pybps_orientation(backend):
    ws, bs = _layers([3, 4, 2])
    net = pybp.Network.from_arrays(ws, bs, activation=["tanh", "sigmoid"],
                                   cost="cross-entropy", backend=backend)
    assert net.sizes == [3, 4, 2] and net.backend == backend
    for l in range(2):
        assert net.weights[l].tolist() == ws[l] and net.biases[l].tolist() == bs[l]


def test_from_arrays_takes_numpy_and_copies():
    np = pytest.importorskip("numpy")
    w = np.arange(6.0).reshape(3, 2) / 8
    b = np.array([0.5, -0.5, 0.25])
    net = pybp.Network.from_arrays([w], [b], activation="identity")
    w[0, 0] = 99.0  # the network holds a copy
    assert net.weights[0].tolist() == [[0.0, 0.125], [0.25, 0.375], [0.5, 0.625]]
    assert list(net.params) == [0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.5, -0.5, 0.25]


@pytest.mark.parametrize("weights, biases, words", [
    ([[[1.0, 2.0]]], [[1.0, 2.0]], "biases\\[0\\] has 2 values for 1 units"),
    ([[[1.0, 2.0]], [[1.0, 2.0]]], [[0.0], [0.0]], "weights\\[1\\] has 2 columns"),
    ([[[1.0, 2.0], [1.0]]], [[0.0, 0.0]], "not a non-empty matrix"),
    ([], [], "at least one"),
])
def test_from_arrays_refuses_shapes_that_do_not_chain(weights, biases, words):
    with pytest.raises(ValueError, match=words):
        pybp.Network.from_arrays(weights, biases)


@pytest.mark.parametrize("acts, cost", [(["sigmoid", "sigmoid"], "quadratic"),
                                        (["relu", "softmax"], "log-likelihood"),
                                        (["tanh", "sigmoid"], "cross-entropy")])
def test_trace_is_every_quantity_with_the_kernels_bits(backend, acts, cost):
    ws, bs = _layers([3, 5, 4], seed=7)
    net = pybp.Network.from_arrays(ws, bs, activation=acts, cost=cost, backend=backend)
    rng = random.Random(3)
    xs = [[rng.random() for _ in range(3)] for _ in range(6)]
    labels = [rng.randrange(4) for _ in xs]
    t = net.trace(xs, labels)
    assert len(t) == 3 and t[0]["a"] == xs
    assert t.cost == net.cost(xs, labels)
    assert t[2]["a"] == net.outputs(xs)
    grad = net.gradient(xs, labels)
    flat = []
    for l in (1, 2):
        assert len(t[l]["z"]) == len(t[l]["delta"]) == 6
        for row in t[l]["grad_w"]:
            flat.extend(row)
        flat.extend(t[l]["grad_b"])
        # BP3: the bias gradient is the mean delta, summed in example order
        for j, g in enumerate(t[l]["grad_b"]):
            s = 0.0
            for d in t[l]["delta"]:
                s += d[j]
            assert g == s / 6
    assert flat == grad.tolist()
    # BP1 for a cost whose output error simplifies: delta^L = a^L - y
    if cost != "quadratic":
        y0 = [1.0 if j == labels[0] else 0.0 for j in range(4)]
        assert t[2]["delta"][0] == [a - y for a, y in zip(t[2]["a"][0], y0)]


def test_trace_is_the_same_on_both_backends(c_backend):
    ws, bs = _layers([4, 3, 2], seed=9)
    py = pybp.Network.from_arrays(ws, bs, backend="python")
    c = py.copy(backend="c")
    xs, ys = [[0.1, 0.2, 0.3, 0.4], [1.0, 0.0, -1.0, 0.5]], [[0.0, 1.0], [1.0, 0.0]]
    assert py.trace(xs, ys) == c.trace(xs, ys) and py.trace(xs, ys).cost == c.trace(xs, ys).cost


def test_from_layers_keras_style():
    ws, bs = _layers([2, 3, 1])
    net = pybp.from_layers(list(zip(ws, bs)), activation="tanh")
    assert net.sizes == [2, 3, 1] and net.weights[1].tolist() == ws[1]


def test_from_torch_gives_torchs_outputs_and_gradients():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(),
                                torch.nn.Linear(4, 3), torch.nn.Softmax(dim=-1)).double()
    net = pybp.from_torch(model, cost="log-likelihood")
    assert net.sizes == [5, 4, 3] and net.activations == ["tanh", "softmax"]
    x = torch.rand(6, 5, dtype=torch.float64)
    labels = [0, 2, 1, 1, 0, 2]
    out = model(x)
    mine = [v for row in net.outputs(x.tolist()) for v in row]
    assert mine == pytest.approx([v for row in out.tolist() for v in row], rel=1e-14)
    torch.nn.functional.nll_loss(torch.log(out), torch.tensor(labels)).backward()
    r = pybp.compare(net, {"grad_w": [model[0].weight.grad, model[2].weight.grad],
                           "grad_b": [model[0].bias.grad, model[2].bias.grad]},
                     x.tolist(), labels)
    assert r.agrees, str(r)
    with pytest.raises(ValueError, match="no pybp equivalent"):
        pybp.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU()))
