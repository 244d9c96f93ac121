"""Per-layer learning diagnostics (pybp.diagnostics, Network.diagnose,
`pybp train --diagnose`).

The values are checked against a separate computation on the reference's
own backpropagation (pybp._kernels.reference: feedforward, and backprop one example
at a time, whose bias part is delta), and the two backends must give the
very same numbers.
"""

import json
import math
import random

import pytest

import pybp
from pybp import diagnostics
from pybp._kernels import reference as _reference
from pybp.diagnostics import LayerDiagnostics, Probe, sample_indices
from pybp.spec import layer_offsets

from helpers import SMALL, blobs, run, write_csv


def random_data(sizes, count, seed, labels=True):
    r = random.Random(seed)
    xs = [[r.uniform(-1.0, 1.0) if r.random() < 0.7 else 0.0
           for _ in range(sizes[0])] for _ in range(count)]
    if labels:
        ys = [r.randrange(sizes[-1]) for _ in range(count)]
    else:
        ys = [[r.random() for _ in range(sizes[-1])] for _ in range(count)]
    return pybp.Dataset(xs, labels=ys) if labels else pybp.Dataset(xs, ys)


def expected(net, data):
    """The diagnostics computed straight from the reference's equations."""
    spec, params = net.spec, net.params
    sizes, acts = spec.sizes, spec.activations
    L = len(sizes) - 1
    n_out = sizes[-1]
    offsets = layer_offsets(sizes)
    deltas = [[] for _ in range(L)]
    activations = [[] for _ in range(L + 1)]
    for i in range(data.count):
        x, y = data.input(i), data.target(i, n_out)
        _, acts_x = _reference.feedforward(spec, params, x)
        for l in range(L + 1):
            activations[l].append(acts_x[l])
        acc = [0.0] * len(params)
        _reference.backprop(spec, params, x, y, acc, first=True)
        for l, (_, b_off) in enumerate(offsets):
            deltas[l].append(acc[b_off:b_off + sizes[l + 1]])   # BP3
    grad = _reference.gradient(spec, params, data)
    out = []
    for l in range(1, L + 1):
        w_off, b_off = offsets[l - 1]
        flat_d = [abs(v) for row in deltas[l - 1] for v in row]
        a = [v for row in activations[l] for v in row]
        a_in = [v for row in activations[l - 1] for v in row]
        act = acts[l - 1]
        sat = wrong = dead = None
        if act in ("sigmoid", "tanh"):
            slope = [v * (1 - v) < 0.05 * 0.25 if act == "sigmoid"
                     else 1 - v * v < 0.05 for v in a]
            sat = sum(slope) / len(a)
            if l == L:
                ys = [v for i in range(data.count) for v in data.target(i, n_out)]
                wrong = sum(s and abs(v - t) >= 0.5
                            for s, v, t in zip(slope, a, ys)) / len(a)
        elif act == "relu":
            dead = sum(all(row[j] == 0.0 for row in activations[l])
                       for j in range(sizes[l])) / sizes[l]
        gn = math.sqrt(math.fsum(g * g for g in grad[w_off:b_off]))
        wn = math.sqrt(math.fsum(w * w for w in params[w_off:b_off]))
        out.append({"mean_abs_delta": math.fsum(flat_d) / len(flat_d),
                    "grad_norm": gn, "weight_norm": wn,
                    "grad_weight_ratio": gn / wn, "saturated": sat,
                    "saturated_wrong": wrong, "dead": dead,
                    "low_inputs": sum(abs(v) < 0.01 for v in a_in) / len(a_in)})
    return out


NETS = [
    ([5, 7, 4, 3], ["tanh", "relu", "sigmoid"], "quadratic"),
    ([6, 5, 4], ["sigmoid", "softmax"], "log-likelihood"),
    ([4, 6, 3], ["relu", "sigmoid"], "cross-entropy"),
    ([3, 2], ["identity"], "quadratic"),
]


@pytest.mark.parametrize("sizes,acts,cost", NETS)
def test_values_match_the_reference_equations(backend, sizes, acts, cost):
    net = pybp.Network(sizes, acts, cost, seed=3, backend=backend)
    data = random_data(sizes, 25, seed=1, labels=cost != "quadratic")
    records = net.diagnose(data, sample=25)
    assert [r.layer for r in records] == list(range(1, len(sizes)))
    for r, e in zip(records, expected(net, data)):
        assert isinstance(r, LayerDiagnostics)
        assert r.examples == 25
        for key, value in e.items():
            assert getattr(r, key) == value, (r.layer, key)


@pytest.mark.parametrize("sizes,acts,cost", NETS)
def test_both_backends_give_the_same_numbers(c_backend, sizes, acts, cost):
    py = pybp.Network(sizes, acts, cost, seed=7, backend="python")
    c = py.copy(backend="c")
    data = random_data(sizes, 40, seed=2, labels=cost != "quadratic")
    assert [r.as_dict() for r in py.diagnose(data, sample=17)] == \
        [r.as_dict() for r in c.diagnose(data, sample=17)]


def test_mnist_sample_same_on_both_backends(c_backend, mnist_dir):
    from pybp.data import load_mnist
    training = load_mnist(mnist_dir)[0].subset(3000)
    c = pybp.Network([784, 16, 10], seed=0, backend="c")
    py = c.copy(backend="python")
    rc, rp = c.diagnose(training, sample=20), py.diagnose(training, sample=20)
    assert [r.as_dict() for r in rc] == [r.as_dict() for r in rp]
    # The sample, gathered from uint8 pixels, is the evenly spread one.
    picked = Probe(training, 20).data
    expect = expected(c, picked)
    for r, e in zip(rc, expect):
        for key, value in e.items():
            assert getattr(r, key) == value, (r.layer, key)


def test_sample_is_spread_evenly():
    assert sample_indices(10, 20) == list(range(10))
    assert sample_indices(10, 4) == [0, 2, 5, 7]
    assert sample_indices(1000, 3) == [0, 333, 666]
    data = random_data([3, 2], 30, seed=0)
    probe = Probe(data, 10)
    assert probe.data.count == 10
    for k, i in enumerate(probe.indices):
        assert probe.data.input(k) == data.input(i)
        assert probe.data.target_class(k) == data.target_class(i)


def test_saturated_network_warns():
    net = pybp.Network([8, 12, 3], seed=1)
    for w in net.weights:
        for j in range(w.shape[0]):
            for k in range(w.shape[1]):
                w[j, k] *= 100.0
    data = random_data([8, 12, 3], 50, seed=4)
    records = net.diagnose(data)
    assert records[0].saturated > 0.9
    warnings = diagnostics.all_warnings(records)
    assert any(text.startswith("layer 1: ") and "saturated" in text
               and "learn slowly" in text for text in warnings), warnings


def test_saturated_output_warns_only_when_wrong_and_quadratic():
    data = random_data([4, 5, 3], 40, seed=5)
    for cost, warned in (("quadratic", True), ("cross-entropy", False)):
        net = pybp.Network([4, 5, 3], "sigmoid", cost, seed=2)
        b = net.biases[-1]
        for j in range(len(b)):
            b[j] = 30.0     # every output 1: right for the label, else wrong
        out = net.diagnose(data)[-1]
        assert out.saturated == 1.0
        assert out.saturated_wrong == 2 / 3
        assert any("saturated at the wrong value" in t
                   for t in out.warnings) == warned, out.warnings
    # Saturated but right: no warning.
    net = pybp.Network([4, 5, 3], "sigmoid", "quadratic", seed=2)
    data = pybp.Dataset([[0.0] * 4] * 10, labels=[1] * 10)
    b = net.biases[-1]
    for j in range(3):
        b[j] = 30.0 if j == 1 else -30.0
    out = net.diagnose(data)[-1]
    assert out.saturated == 1.0 and out.saturated_wrong == 0.0
    assert not any("saturated" in t for t in out.warnings), out.warnings
    # Nothing left to learn: the gradient is practically 0.
    assert any("stopped learning" in t for t in out.warnings), out.warnings


def test_dead_relus(backend):
    sizes = [4, 10, 2]
    net = pybp.Network(sizes, ["relu", "sigmoid"], seed=3, backend=backend)
    data = random_data(sizes, 30, seed=6)
    b = net.biases[0]
    for j in range(6):
        b[j] = -100.0   # never positive: dead on every example
    for j in range(6, 10):
        b[j] = 100.0    # always positive
    first = net.diagnose(data)[0]
    assert first.dead == 0.6
    assert first.saturated is None
    assert any("60% of ReLU units dead" in t for t in first.warnings)
    # A healthy layer gets no warning about dead units.
    for j in range(6):
        b[j] = 100.0
    first = net.diagnose(data)[0]
    assert first.dead == 0.0
    assert not any("dead" in t for t in first.warnings)


def test_low_inputs_and_vanishing_gradient():
    sizes = [10, 8, 3]
    net = pybp.Network(sizes, seed=4)
    r = random.Random(0)
    xs = [[r.random() if k == 0 else 0.0 for k in range(10)] for _ in range(20)]
    data = pybp.Dataset(xs, labels=[r.randrange(3) for _ in range(20)])
    first = net.diagnose(data)[0]
    assert first.low_inputs >= 0.9
    assert any("inputs are near 0" in t for t in first.warnings)
    # Weights into the output 1e-4 of their size: layer 1's deltas vanish.
    w = net.weights[1]
    for j in range(w.shape[0]):
        for k in range(w.shape[1]):
            w[j, k] *= 1e-4
    first = net.diagnose(data)[0]
    assert any("vanishing gradient" in t for t in first.warnings), first.warnings


def test_sgd_records_diagnostics_per_epoch(backend):
    sizes = [5, 6, 3]
    net = pybp.Network(sizes, seed=0, backend=backend)
    data = random_data(sizes, 40, seed=8)
    seen = []
    history = net.sgd(data, 2, 10, 1.0, callback=seen.append, diagnose=12)
    assert len(history) == 2
    for rec in history:
        assert len(rec["diagnostics"]) == 2
        assert rec["diagnostics"][0].examples == 12
    assert seen[0] is history[0]
    # The same numbers as asking after training.
    assert net.diagnose(data, sample=12) == history[-1]["diagnostics"]
    # Without diagnose, nothing is added; diagnostics change no parameter.
    again = pybp.Network(sizes, seed=0, backend=backend)
    plain = again.sgd(data, 2, 10, 1.0)
    assert "diagnostics" not in plain[0]
    assert list(again.params) == list(net.params)


def test_bad_sample():
    net = pybp.Network([3, 2], seed=0)
    data = random_data([3, 2], 5, seed=0)
    with pytest.raises(ValueError):
        net.diagnose(data, sample=0)
    with pytest.raises(TypeError):
        net.diagnose(data, sample="10")
    with pytest.raises(ValueError):
        net.diagnose(random_data([4, 2], 5, seed=0))
    with pytest.raises(ValueError):
        net.diagnose(pybp.Dataset([[0.0, 0.0, 0.0]]))  # no targets


def test_format_table_and_json():
    net = pybp.Network([4, 5, 3], ["relu", "sigmoid"], seed=0)
    records = net.diagnose(random_data([4, 5, 3], 10, seed=0))
    table = diagnostics.format_table(records).splitlines()
    assert table[0].split() == ["layer", "units", "act", "mean|delta|",
                                "|dW|/|W|", "saturated", "wrong", "dead",
                                "low", "inputs"]
    assert table[1].split()[:3] == ["1", "5", "relu"]
    assert table[1].split()[5:7] == ["-", "-"]  # no saturation for ReLU
    assert table[2].split()[7] == "-"           # no dead units for sigmoid
    rows = diagnostics.as_json(records)
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    assert rows[0]["layer"] == 1 and rows[0]["dead"] == records[0].dead


def test_cli_diagnose_text(mnist_dir):
    status, out, err = run(["train", "--data", mnist_dir, "--diagnose", "50",
                            "--backend", "c" if "c" in pybp.available_backends()
                            else "python"] + SMALL)
    assert status == 0, err
    lines = out.splitlines()
    heads = [i for i, line in enumerate(lines)
             if line.split()[:3] == ["layer", "units", "act"]]
    assert len(heads) == 2            # one table per epoch
    assert lines[heads[0] - 1].startswith("epoch 1/2:")
    assert lines[heads[0] + 1].split()[:3] == ["1", "16", "sigmoid"]
    assert lines[heads[0] + 2].split()[:3] == ["2", "10", "sigmoid"]


def test_cli_diagnose_json(mnist_dir):
    status, out, err = run(["train", "--data", mnist_dir, "--diagnose", "--json",
                            "--sizes", "784,8,10", "--limit", "300",
                            "--test-limit", "100", "--epochs", "1"])
    assert status == 0, err
    (line,) = [json.loads(text) for text in out.splitlines()]
    diag = line["diagnostics"]
    assert [d["layer"] for d in diag] == [1, 2]
    assert diag[0]["examples"] == 300   # fewer than the default sample: all
    assert isinstance(diag[0]["warnings"], list)
    # --quiet --json prints the last epoch with its diagnostics too.
    status, out, err = run(["train", "--data", mnist_dir, "--diagnose", "--json",
                            "--quiet", "--sizes", "784,8,10", "--limit", "300",
                            "--test-limit", "100", "--epochs", "2"])
    assert status == 0, err
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert line["epoch"] == 2 and len(line["diagnostics"]) == 2


def test_cli_diagnose_saturation_warning(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_csv(train, [[100 * v for v in row[:-1]] + [row[-1]]
                      for row in blobs(60, 1)])
    write_csv(test, blobs(20, 2))
    status, out, err = run(["train", "--csv-train", train, "--csv-test", test,
                            "--epochs", "1", "--diagnose"])
    assert status == 0, err
    assert "warning: layer 1: " in out and "saturated" in out, out
    # A bad sample size is a usage error.
    status, out, err = run(["train", "--csv-train", train, "--csv-test", test,
                            "--diagnose", "0"])
    assert status == 2 and "--diagnose" in err
