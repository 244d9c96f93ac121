"""The golden cases (tests/golden): both backends, every instruction-set path.

The files hold fixed networks, inputs and the reference's results as hex
floats (tests/golden/README.md); csrc/test_golden.c reads the same files,
and .ci/platforms runs that on other platforms.  Here: the reference and the
C core on each path must give exactly those bits (compared as bits, so -0.0
and NaN count too); float32 must come within the stated bounds; and the
files must be what make_golden.py writes, byte for byte.
"""

import importlib.util
import math
import os
from array import array

import pytest

import pybp
from pybp import golden as make_golden
from pybp.dataset import Dataset

from helpers import bits

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "make_golden", os.path.join(GOLDEN, "make_golden.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _load_script()
MANIFEST, RESULTS_DIGEST = make_golden.read_manifest(GOLDEN)
NAMES = [name for name, _ in MANIFEST]
FILES = [name + ext for name in NAMES for ext in (".txt", ".json")] + ["MANIFEST"]


class Case:
    """One golden file, read into a network, a Dataset and expected values."""

    def __init__(self, name):
        f = make_golden.read_case(os.path.join(GOLDEN, name + ".txt"))
        fl = make_golden.floats
        self.name = name
        self.sizes = [int(v) for v in f["sizes"]]
        self.activations = f["activations"]
        self.cost = f["cost"][0]
        self.params = fl(f["params"])
        count, n_in, n_out = int(f["count"][0]), self.sizes[0], self.sizes[-1]
        if "x" in f:
            xin, kw = array("d", fl(f["x"])), {"n_inputs": n_in}
        else:
            xin = bytes(int(v) for v in f["x_u8"])
            kw = {"n_inputs": n_in, "divisor": fl(f["divisor"])[0]}
        if "labels" in f:
            self.data = Dataset(xin, labels=[int(v) for v in f["labels"]], **kw)
        else:
            y = fl(f["y"])
            self.data = Dataset(xin, [y[i * n_out:(i + 1) * n_out]
                                      for i in range(count)], **kw)
        self.eta = fl(f["eta"])[0]
        self.lmbda = fl(f["lmbda"])[0]
        self.n = int(f["n"][0])
        self.mbs = int(f["mini_batch_size"][0])
        self.perm = [int(v) for v in f["perm"]]
        self.expected = {k: fl(f[k]) for k in
                         ("out", "cost_total", "gradient", "update", "epoch",
                          "epoch_cost")}
        self.expected["correct"] = int(f["correct"][0])

    def compute(self, backend, dtype="float64", threads=None):
        """Every golden quantity, computed by `backend` through the kernels."""
        net = pybp.Network.from_params(self.sizes, self.activations, self.cost,
                                       self.params, backend=backend, dtype=dtype)
        k, spec = net.kernels, net.spec
        data = self.data.inputs_as(dtype)
        params = net.params
        got = {"out": list(k.forward_outputs(spec, params, data)),
               "cost_total": [k.cost_total(spec, params, data, 0.0)],
               "gradient": list(k.gradient(spec, params, data)),
               "correct": k.evaluate(spec, params, data)}
        updated = array(params.typecode, params)
        k.update_mini_batch(spec, updated, data, self.eta, self.lmbda, self.n)
        got["update"] = list(updated)
        trained = array(params.typecode, params)
        kw = {} if threads is None else {"threads": threads}
        total = k.sgd_epoch(spec, trained, data, self.perm, self.mbs, self.eta,
                            self.lmbda, self.n, 0.0, **kw)
        got["epoch"], got["epoch_cost"] = list(trained), [total]
        return got


CASES = {name: Case(name) for name in NAMES}


def assert_bits(got, expected, name):
    for key, want in expected.items():
        if key == "correct":
            assert got[key] == want, (name, key)
            continue
        if bits(got[key]) != bits(want):
            i = next(i for i, (a, b) in enumerate(zip(got[key], want))
                     if bits([a]) != bits([b]))
            pytest.fail("%s %s[%d]: %s, expected %s"
                        % (name, key, i, got[key][i].hex(), want[i].hex()))


def test_manifest_matches_the_files():
    assert NAMES == [c[0] for c in make_golden.CASES]
    texts = []
    for name, digest in MANIFEST:
        with open(os.path.join(GOLDEN, name + ".txt"), encoding="ascii",
                  newline="") as f:
            text = f.read()
        assert make_golden.sha256(text) == digest, name
        texts.append((name, text.split("expected 0\n", 1)[1]))
    assert make_golden.sha256(make_golden.results_text(texts)) == RESULTS_DIGEST


def test_every_activation_and_cost_is_covered():
    acts = {a for c in CASES.values() for a in c.activations}
    assert acts == {"sigmoid", "tanh", "relu", "identity", "softmax"}
    assert {c.cost for c in CASES.values()} == {
        "quadratic", "cross-entropy", "log-likelihood"}
    assert any(c.data.count == 1 for c in CASES.values())
    assert any(1 in c.sizes for c in CASES.values())


def test_regenerating_writes_the_same_bytes(tmp_path):
    """make_golden.py, run twice, writes the committed files byte for byte."""
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        script.main(["make_golden.py", str(out)])
    for fname in FILES:
        a = (tmp_path / "a" / fname).read_bytes()
        assert a == (tmp_path / "b" / fname).read_bytes(), fname
        with open(os.path.join(GOLDEN, fname), "rb") as f:
            assert a == f.read(), fname


@pytest.mark.parametrize("name", NAMES)
def test_reference(name):
    assert_bits(CASES[name].compute("python"), CASES[name].expected, name)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_c_core(isa, name, threads):
    case = CASES[name]
    assert_bits(case.compute("c", threads=threads), case.expected, name)


def close(r, e, tol):
    """max |r - e| <= tol * (max |e| + 1e-3), as in test_float32.py."""
    top = max(abs(v) for v in e)
    return max(abs(a - b) for a, b in zip(r, e)) <= tol * (top + 1e-3)


@pytest.mark.parametrize("name", NAMES)
def test_float32_is_close(isa, name):
    """float32 from the rounded parameters and inputs: within 1e-5 of the
    golden float64 outputs and costs, 1e-4 of gradients and parameters."""
    case = CASES[name]
    got = case.compute("c", dtype="float32")
    for key, tol in (("out", 1e-5), ("cost_total", 1e-5), ("epoch_cost", 1e-5),
                     ("gradient", 1e-4), ("update", 1e-4), ("epoch", 1e-4)):
        assert close(got[key], case.expected[key], tol), (name, key)
    assert all(math.isfinite(v) for v in got["epoch"])


def test_the_golden_command_writes_the_repositorys_cases(tmp_path):
    """pybp golden -o DIR: the same files as tests/golden/, for other
    implementations' test suites."""
    from helpers import run
    out = tmp_path / "cases"
    status, text, err = run(["golden", "-o", out])
    assert status == 0, err
    assert text.strip() == ("wrote %d golden cases (text, JSON and .npy) and their "
                            "MANIFEST to %s" % (len(NAMES), out))
    for fname in FILES:
        with open(os.path.join(GOLDEN, fname), "rb") as f:
            assert (out / fname).read_bytes() == f.read(), fname


# --- the JSON form ---------------------------------------------------------------


def _json(name):
    import json
    with open(os.path.join(GOLDEN, name + ".json"), encoding="ascii") as f:
        return json.load(f)


def _unhex(value):
    if isinstance(value, str):
        return float.fromhex(value)
    return [_unhex(v) for v in value]


def _flat(rows):
    return [v for row in rows for v in row]


@pytest.mark.parametrize("name", NAMES)
def test_the_json_file_holds_the_text_files_numbers(name):
    """NAME.json and NAME.txt are one case in two encodings."""
    doc, case = _json(name), CASES[name]
    assert doc["format"] == "pybp-golden" and doc["version"] == make_golden.FORMAT_VERSION
    assert (doc["sizes"], doc["activations"], doc["cost"]) == (
        case.sizes, case.activations, case.cost)
    assert bits(_unhex(doc["params"])) == bits(case.params)
    exp = doc["expected"]
    for key in ("out",):
        assert bits(_flat(_unhex(exp[key]))) == bits(case.expected[key])
    for key in ("gradient", "update", "epoch"):
        assert bits(_unhex(exp[key])) == bits(case.expected[key]), key
    for key in ("cost_total", "epoch_cost"):
        assert bits([_unhex(exp[key])]) == bits(case.expected[key]), key
    assert exp["correct"] == case.expected["correct"]
    assert doc["perm"] == case.perm and doc["mini_batch_size"] == case.mbs


@pytest.mark.parametrize("backend", ["python", "c"])
@pytest.mark.parametrize("name", NAMES)
def test_trace_gives_the_json_files_bits(name, backend):
    """Every traced quantity (z, a, delta, grad_w, grad_b of every layer)
    and the mean cost, on both backends, as the files hold them."""
    doc, case = _json(name), CASES[name]
    if backend == "c" and "c" not in pybp.available_backends():
        pytest.skip("no C backend")
    net = pybp.Network.from_params(case.sizes, case.activations, case.cost,
                                   case.params, backend=backend)
    t = net.trace(case.data)
    assert bits([t.cost]) == bits([_unhex(doc["expected"]["cost"])])
    if "x" in doc:
        assert bits(_flat(t[0]["a"])) == bits(_flat(_unhex(doc["x"])))
    for q, layers in doc["trace"].items():
        assert len(layers) == len(case.sizes) - 1
        for l, want in enumerate(layers, start=1):
            got = t[l][q]
            flat_got = _flat(got) if q != "grad_b" else list(got)
            flat_want = _flat(_unhex(want)) if q != "grad_b" else _unhex(want)
            assert bits(flat_got) == bits(flat_want), (q, l)


def test_the_edge_cases_are_what_they_say():
    """The edge cases hold what their names promise: a network of width 1
    throughout, a ReLU unit at exactly z = 0, sigmoid outputs rounded to 1.0,
    and logits large enough that exp overflows without the max taken out."""
    w1 = _json("all_width1")
    assert w1["sizes"] == [1, 1, 1]
    rz = _unhex(_json("relu_zero")["trace"]["z"][0])
    assert all(row[0] == 0.0 for row in rz)
    sat = _unhex(_json("sigmoid_saturated")["trace"]["a"])
    assert any(v == 1.0 for layer in sat for row in layer for v in row)
    logits = _unhex(_json("softmax_large_logits")["trace"]["z"][-1])
    assert min(v for row in logits for v in row) > 709.8  # e^z overflows
    assert all(math.isfinite(v) for row in logits for v in row)


def test_the_npy_files_hold_the_json_files_numbers(tmp_path):
    np = pytest.importorskip("numpy")
    make_golden.write(str(tmp_path), npy=True)
    for name in NAMES:
        doc, d = _json(name), tmp_path / name
        assert bits(np.load(d / "params.npy").tolist()) == bits(_unhex(doc["params"]))
        for q, layers in doc["trace"].items():
            for l, want in enumerate(layers, start=1):
                got = np.load(d / ("%s_%d.npy" % (q, l)))
                assert got.dtype == np.float64
                assert bits(got.ravel().tolist()) == bits(
                    _flat(_unhex(want)) if q != "grad_b" else _unhex(want)), (name, q, l)
        if "labels" in doc:
            assert np.load(d / "labels.npy").tolist() == doc["labels"]


def test_golden_without_npy(tmp_path):
    from helpers import run
    status, text, err = run(["golden", "-o", tmp_path, "--no-npy"])
    assert status == 0, err
    assert "(text and JSON)" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
