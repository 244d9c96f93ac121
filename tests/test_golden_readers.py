"""The golden files' readers in examples/: golden_check.py (plain Python,
the JSON files) and golden_check.c (C99 and libm, the text files), each with
a textbook implementation standing in for the one a user would check.

They must pass on the golden cases, within their stated rounding allowance
(they use the platform's exp and other sums, so not pybp's bits), and must
find a planted bug at the quantity where it is."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")
EXAMPLES = os.path.join(ROOT, "examples")
CC = shutil.which("cc")
if not os.path.exists(os.path.join(EXAMPLES, "golden_check.py")):  # pragma: no cover
    pytest.skip("needs the source tree's examples/", allow_module_level=True)


def _reader():
    spec = importlib.util.spec_from_file_location(
        "golden_check", os.path.join(EXAMPLES, "golden_check.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _names():
    return sorted(f[:-5] for f in os.listdir(GOLDEN) if f.endswith(".json"))


def test_the_python_reader_passes_on_the_golden_cases(capsys):
    assert _reader().main([GOLDEN]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "%d of %d cases agree" % (len(_names()), len(_names()))


def test_the_python_reader_passes_on_what_pybp_golden_writes(tmp_path, capsys):
    from helpers import run
    status, _, err = run(["golden", "-o", tmp_path, "--no-npy"])
    assert status == 0, err
    assert _reader().main([str(tmp_path)]) == 0


def test_the_python_readers_tolerance_is_not_exactness(capsys):
    """Demanding the bits, the textbook implementation fails somewhere: the
    allowance is what lets it pass, not a check that checks nothing."""
    assert _reader().main([GOLDEN, "--max-ulps", "0", "--abs", "0"]) == 1
    assert "first difference" in capsys.readouterr().out


@pytest.mark.parametrize("bug, where", [
    ("sigmoid_prime", "delta of layer 2"),
    ("decayed_biases", "params after one step"),
    ("no_max_in_softmax", None),
])
def test_the_python_reader_finds_planted_bugs(bug, where, capsys):
    r = _reader()
    if bug == "sigmoid_prime":
        good = r._act_prime

        def bad(name, z, a):
            return [v * (1 - v) + 1e-9 for v in a] if name == "sigmoid" else good(name, z, a)
        r._act_prime = bad
        case = "sigmoid_quadratic"
    elif bug == "decayed_biases":
        good_update = r.sgd_update

        def bad(weights, biases, grad_w, grad_b, eta, lmbda, n):
            w, b = good_update(weights, biases, grad_w, grad_b, eta, lmbda, n)
            return w, [[v * (1 - eta * lmbda / n) for v in layer] for layer in b]
        r.sgd_update = bad
        case = "tanh_softmax_loglik"
    else:
        good_act = r._act

        def bad(name, z):
            if name != "softmax":
                return good_act(name, z)
            import math
            e = [math.exp(v) for v in z]  # overflows at large logits
            return [v / sum(e) for v in e]
        r._act = bad
        case = "softmax_large_logits"
    import json
    with open(os.path.join(GOLDEN, case + ".json"), encoding="ascii") as f:
        doc = json.load(f)
    try:
        _, _, problem = r.check_case(doc, 1024, 1e-13)
    except OverflowError:
        assert where is None  # the naive softmax does not even finish
        return
    assert problem is not None
    if where is not None:
        assert problem.startswith(where), problem
    else:
        assert problem.startswith("a of layer 2"), problem


needs_cc = pytest.mark.skipif(CC is None or sys.platform == "win32",
                              reason="needs a C compiler")


@pytest.fixture(scope="module")
def c_reader(tmp_path_factory):
    exe = str(tmp_path_factory.mktemp("golden_check") / "golden_check")
    subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    os.path.join(EXAMPLES, "golden_check.c"), "-lm", "-o", exe],
                   check=True)
    return exe


def _run(exe, *args):
    p = subprocess.run([exe, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@needs_cc
def test_the_c_reader_passes_on_the_golden_cases(c_reader):
    files = [os.path.join(GOLDEN, n + ".txt") for n in _names()]
    status, out, err = _run(c_reader, *files)
    assert status == 0, out + err
    assert out.splitlines()[-1] == "%d of %d cases agree" % (len(files), len(files))


@needs_cc
def test_the_c_reader_reports_the_first_quantity_that_differs(c_reader, tmp_path):
    """A gradient value changed in the file: the outputs still agree, the
    gradient is named."""
    with open(os.path.join(GOLDEN, "sigmoid_quadratic.txt"), encoding="ascii") as f:
        lines = f.read().split("\n")
    i = next(i for i, ln in enumerate(lines) if ln.startswith("gradient "))
    words = lines[i].split(" ")
    words[4] = float.hex(float.fromhex(words[4]) * 1.001)
    lines[i] = " ".join(words)
    bad = tmp_path / "case.txt"
    bad.write_text("\n".join(lines), encoding="ascii")
    status, out, _ = _run(c_reader, str(bad))
    assert status == 1
    assert "first difference: gradient, value 2:" in out


@needs_cc
@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("cost 1 quadratic", "cost 1 quad"), "unknown cost 'quad'"),
    (lambda t: t[:len(t) // 2], "is not a number"),
    (lambda t: "\n".join(ln for ln in t.split("\n") if not ln.startswith("params")),
     "no params line"),
    (lambda t: t.replace("sizes 3 3 4 2", "sizes 3 3 99999999 2"), "out of range"),
])
def test_the_c_reader_refuses_a_damaged_file(c_reader, tmp_path, edit, message):
    with open(os.path.join(GOLDEN, "sigmoid_quadratic.txt"), encoding="ascii") as f:
        text = f.read()
    bad = tmp_path / "case.txt"
    bad.write_text(edit(text), encoding="ascii")
    status, _, err = _run(c_reader, str(bad))
    assert status == 2 and message in err, err
