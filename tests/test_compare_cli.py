"""pybp compare CASE OTHER: pybp.compare from files (exit 0 agrees,
1 differs, 2 the files could not be used)."""

import json
import os

import pytest

from helpers import run

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
CASE = os.path.join(GOLDEN, "deep_mixed.json")


def _trace(name="deep_mixed"):
    with open(os.path.join(GOLDEN, name + ".json"), encoding="ascii") as f:
        return json.load(f)["trace"]


def _write(tmp_path, obj, name="other.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


def test_a_golden_file_agrees_with_itself_exactly():
    status, out, err = run(["compare", CASE, CASE, "--exact"])
    assert status == 0, err
    assert out.splitlines()[-1] == "agrees (exact): largest difference 0 ulp"


def test_plain_json_numbers_do_as_well_as_hex(tmp_path):
    """repr-style decimals round-trip exactly, so they too agree exactly."""
    t = _trace()
    numbers = {q: [[[float.fromhex(v) for v in row] for row in layer]
                   if q != "grad_b" else [float.fromhex(v) for v in layer]
                   for layer in layers] for q, layers in t.items()}
    status, out, err = run(["compare", CASE, _write(tmp_path, numbers), "--exact"])
    assert status == 0, err


@pytest.mark.parametrize("quantity, layer, first", [
    ("z", 1, "z of layer 2"),
    ("delta", 2, "delta of layer 3"),
    ("grad_w", 0, "grad_w of layer 1"),
])
def test_the_first_quantity_that_differs_is_named(tmp_path, quantity, layer, first):
    t = _trace()
    rows = t[quantity][layer]
    i, j = next((i, j) for i, row in enumerate(rows) for j, v in enumerate(row)
                if float.fromhex(v) != 0.0)
    rows[i][j] = (float.fromhex(rows[i][j]) * (1 + 1e-9)).hex()
    status, out, _ = run(["compare", CASE, _write(tmp_path, {"trace": t})])
    assert status == 1
    assert out.splitlines()[-1].endswith(": " + first)
    assert "DIFFERS" in out


def test_only_some_quantities(tmp_path):
    t = _trace()
    status, out, err = run(["compare", CASE, _write(tmp_path, {"grad_b": t["grad_b"]})])
    assert status == 0, err
    assert len(out.splitlines()) == 2 + len(t["grad_b"])


@pytest.mark.parametrize("other, message", [
    ("not json", "not JSON"),
    ([1, 2], "expected a JSON object of quantities"),
    ({"zz": []}, "unknown quantities zz"),
    ({"z": [[]]}, "z must be a list of 4 layers"),
    ({"grad_b": [["0x1p0"], ["nope"], [], []]}, "grad_b[1]"),
    ({"grad_b": [[True], [], [], []]}, "expected a number"),
    ({}, "none of"),
])
def test_bad_other_files(tmp_path, other, message):
    status, _, err = run(["compare", CASE, _write(tmp_path, other if isinstance(other, str)
                                                   else json.dumps(other))])
    assert status == 2
    assert message in err, err


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("params"), "no 'params'"),
    (lambda d: d.update(sizes="6,8"), "sizes must be a list of integers"),
    (lambda d: d.update(activations=["tanh", "bogus", "identity", "softmax"]), "bogus"),
    (lambda d: d.pop("x"), "no inputs"),
    (lambda d: d.update(params=d["params"][:-1]), "params"),
])
def test_bad_case_files(tmp_path, edit, message):
    with open(CASE, encoding="ascii") as f:
        doc = json.load(f)
    edit(doc)
    case = _write(tmp_path, doc, "case.json")
    status, _, err = run(["compare", case, CASE])
    assert status == 2
    assert message in err, err


def test_missing_files_and_bad_tolerances(tmp_path):
    status, _, err = run(["compare", tmp_path / "none.json", CASE])
    assert status == 2 and "case" in err and "none.json" in err
    status, _, err = run(["compare", CASE, CASE, "--max-ulps", "-1"])
    assert status == 2 and "--max-ulps" in err


def test_the_update_is_checked_with_the_cases_settings(tmp_path):
    """OTHER's "update" (per layer, w row by row then b) against one SGD step
    with the case's eta, lmbda and n: the golden file's own update agrees
    exactly, and the same numbers against other settings differ there."""
    with open(CASE, encoding="ascii") as f:
        doc = json.load(f)
    flat = [float.fromhex(v) for v in doc["expected"]["update"]]
    sizes, layers, at = doc["sizes"], [], 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers.append(flat[at:at + n_out * (n_in + 1)])
        at += n_out * (n_in + 1)
    status, out, err = run(["compare", CASE, _write(tmp_path, {"update": layers}), "--exact"])
    assert status == 0, err
    assert out.splitlines()[-2].startswith("update")
    case = dict(doc, lmbda=(1.0).hex(), n=4)
    status, out, _ = run(["compare", _write(tmp_path, case, "case.json"),
                          _write(tmp_path, {"update": layers})])
    assert status == 1 and out.splitlines()[-1].endswith(": update of layer 1")
