"""What several test modules share (fixtures are in conftest.py).

- ISAS: the C core's instruction-set paths on this CPU (the `isa` fixture
  runs a test on each).
- Exactness: bits() of floats, and sgd_outcome() of a training run, in a
  form to compare with ==.
- Random networks and data (hypothesis strategies) for the comparisons of
  the C core with the pure-Python reference: networks(), datasets(),
  python_and_c().
- The command line: run() calls pybp.cli.main in-process; pybp_subprocess()
  and pybp_popen() run `python -m pybp`; error_lines() and json_lines() read
  what they wrote.
- Files: MNIST (the checkout's data/mnist) and mnist_or_skip(), SMALL (the
  options of a short MNIST run), write_csv() and blobs() for small CSV
  problems, idx_bytes() for IDX files.
"""

import contextlib
import io
import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import strategies as st

import pybp
from pybp.cli import main

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT / "data" / "mnist"

# The C core's instruction-set paths on this CPU (pybp.backends.supported_isas(),
# e.g. ["scalar", "avx2", "avx512"]); without the C backend a placeholder, for
# the tests that take the `isa` fixture to be skipped.
ISAS = (pybp.backends.supported_isas() if "c" in pybp.available_backends()
        else ["scalar"])


# --- exactness -----------------------------------------------------------------


def bits(values):
    """The raw IEEE-754 bytes of a sequence of floats: what exactness compares."""
    return struct.pack("<%dd" % len(values), *values)


def sgd_outcome(net, *args, **kwargs):
    """What net.sgd(*args, **kwargs) did, in a form to compare with ==.

    A run that ends normally gives its history (each epoch's cost as raw
    bits, and its count of correct test examples).  A run that diverges
    gives the DivergenceError's type and fields (epoch, mini-batch, batches
    per epoch, eta) and its message: a diverging case must diverge the same
    way on both backends.  Either way the caller then compares the
    parameters left behind, bit for bit.
    """
    try:
        history = net.sgd(*args, **kwargs)
    except pybp.DivergenceError as exc:
        return ("diverged", type(exc).__name__, exc.epoch, exc.batch,
                exc.batches, bits([exc.eta]), str(exc), net.epochs_trained)
    return ("trained", [(r["epoch"], bits([r["cost"]]), r.get("correct"),
                         r.get("total")) for r in history], net.epochs_trained)


# --- random networks and data (hypothesis) -------------------------------------

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUT_COST = [(a, "quadratic") for a in HIDDEN] + [
    ("sigmoid", "cross-entropy"), ("softmax", "log-likelihood")]


@st.composite
def networks(draw, max_layers=4, max_size=40):
    """(sizes, activations, cost, seed, init) for a valid network."""
    L = draw(st.integers(1, max_layers))
    sizes = [draw(st.integers(1, max_size)) for _ in range(L + 1)]
    out, cost = draw(st.sampled_from(OUTPUT_COST))
    acts = [draw(st.sampled_from(HIDDEN)) for _ in range(L - 1)] + [out]
    seed = draw(st.integers(0, 2 ** 32 - 1))
    init = draw(st.sampled_from(["normal", "scaled"]))
    return sizes, acts, cost, seed, init


@st.composite
def datasets(draw, sizes, cost, max_count=12):
    """A Dataset fitting `sizes`: float64 or uint8 inputs, dense y or labels."""
    count = draw(st.integers(1, max_count))
    rng = random.Random(draw(st.integers(0, 2 ** 32 - 1)))
    n_in, n_out = sizes[0], sizes[-1]
    u8 = draw(st.booleans())
    if u8:
        x = bytes(rng.randrange(256) for _ in range(count * n_in))
        kw = {"n_inputs": n_in, "divisor": 255.0}
    else:
        scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
        x = [[rng.gauss(0.0, scale) for _ in range(n_in)] for _ in range(count)]
        kw = {}
    labels = [rng.randrange(n_out) for _ in range(count)]
    if cost == "log-likelihood" or draw(st.booleans()):
        if draw(st.booleans()):
            return pybp.Dataset(x, labels=labels, **kw)
        y = [[1.0 if j == c else 0.0 for j in range(n_out)] for c in labels]
    elif cost == "cross-entropy":
        y = [[rng.random() for _ in range(n_out)] for _ in range(count)]
    else:
        y = [[rng.gauss(0.0, 1.0) for _ in range(n_out)] for _ in range(count)]
    return pybp.Dataset(x, y, **kw)


def python_and_c(sizes, acts, cost, seed, init):
    """The same network on the reference and on the C core."""
    py = pybp.Network(sizes, acts, cost, seed=seed, init=init, backend="python")
    return py, py.copy(backend="c")


# --- the command line ------------------------------------------------------------


def run(argv):
    """main(argv) in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def _pybp_command(args):
    """(argv, cwd, env) of `python -m pybp ARGS` against the pybp under test.

    cwd is the directory holding that package (the checkout's root, or
    site-packages for an installed pybp): `-m` puts cwd first on sys.path,
    so the child runs the same code as the tests, without PYTHONPATH.
    """
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    cwd = Path(pybp.__file__).resolve().parents[1]
    return ([sys.executable, "-m", "pybp"] + [str(a) for a in args],
            str(cwd), env)


def pybp_subprocess(args, **kwargs):
    """`python -m pybp ARGS`, run to its end: a CompletedProcess (text)."""
    argv, cwd, env = _pybp_command(args)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, **kwargs)


def pybp_popen(args):
    """`python -m pybp ARGS`, started: a Popen with text stdout and stderr pipes."""
    argv, cwd, env = _pybp_command(args)
    return subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def error_lines(stderr):
    """The lines pybp wrote on stderr.

    A subprocess's stderr may also begin with the import-time warning of an
    install whose C build failed; that is not the command's output.
    """
    return [line for line in stderr.splitlines() if line.startswith("pybp: ")]


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


# --- files -----------------------------------------------------------------------

# MNIST runs: small enough for the pure-Python backend.
SMALL = ["--limit", "1000", "--test-limit", "500", "--sizes", "784,16,10",
         "--epochs", "2"]


def mnist_or_skip():
    """MNIST (data/mnist), or skip the test when its files are not there."""
    if not (MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST not found in data/mnist")
    return MNIST


def write_csv(path, rows, header="f1,f2,f3,label"):
    with open(path, "w") as f:
        if header:
            f.write(header + "\n")
        for row in rows:
            f.write(",".join(repr(v) for v in row) + "\n")


def blobs(n, seed):
    """Three separable-ish classes in 3 features: rows f1,f2,f3,label."""
    r = random.Random(seed)
    rows = []
    for _ in range(n):
        c = r.randrange(3)
        rows.append([r.gauss(c, 0.5), r.gauss(-c, 0.5), r.random(), c])
    return rows


def idx_bytes(dims, payload, code=0x08):
    """An IDX file: magic (element type `code`), big-endian dimensions, then
    the payload as given (not checked against the dimensions)."""
    return (bytes([0, 0, code, len(dims)]) + struct.pack(">%dI" % len(dims), *dims)
            + payload)


def example_settings(variable, default):
    """Hypothesis settings for the equivalence tests: `variable` (an
    environment variable) examples per test, else `default`; derandomized,
    so a run checks the same cases every time.  (The `isa` fixture is
    function-scoped on purpose: it holds one path for all of a test's
    examples.)"""
    from hypothesis import HealthCheck, settings
    return settings(max_examples=int(os.environ.get(variable, str(default))),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
