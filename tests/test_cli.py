"""The `pybp` command line: train, evaluate, predict, info, and its errors.

Most tests call pybp.cli.main() in-process (fast); a few run
`python -m pybp` as a subprocess to check real exit codes and stderr.
MNIST runs are kept small (a few hundred examples, a 784-16-10 network) so
that the pure-Python backend finishes in seconds.
"""

import gzip
import json

import pytest

import pybp
from pybp import checkpoint
from helpers import (MNIST, SMALL, blobs, error_lines, idx_bytes, json_lines,
                     mnist_or_skip, pybp_subprocess, run, write_csv)


@pytest.fixture
def csv_pair(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_csv(train, blobs(120, 1))
    write_csv(test, blobs(50, 2))
    return train, test


@pytest.fixture(scope="module")
def mnist_runs(tmp_path_factory):
    """Train SMALL once per backend (cached): (json records, model path)."""
    mnist_or_skip()
    cache = {}

    def get(backend):
        if backend not in cache:
            model = tmp_path_factory.mktemp("mnist-" + backend) / "net.model"
            status, out, err = run(["train", "--data", MNIST, "--backend", backend,
                                    "--json", "--save", model] + SMALL)
            assert status == 0, err
            cache[backend] = (json_lines(out), model)
        return cache[backend]
    return get


# --- train on MNIST ----------------------------------------------------------


def test_train_json_and_evaluate(backend, mnist_runs):
    records, model = mnist_runs(backend)
    assert [r["epoch"] for r in records] == [1, 2]
    for r in records:
        assert {"epoch", "correct", "total", "cost", "seconds"} <= set(r)
        assert r["total"] == 500 and 0 <= r["correct"] <= 500
        assert r["backend"] == backend and r["epochs"] == 2
        assert r["cost"] > 0 and r["seconds"] >= 0
    assert records[-1]["cost"] < records[0]["cost"]
    assert records[-1]["correct"] > 100  # well above chance after 2 epochs
    # The saved model scores what the last epoch reported.
    status, out, err = run(["evaluate", model, "--data", MNIST,
                            "--test-limit", "500", "--json", "--backend", backend])
    assert status == 0, err
    result = json.loads(out)
    assert (result["correct"], result["total"]) == (records[-1]["correct"], 500)


def test_backends_print_identical_numbers(c_backend, mnist_runs):
    py, py_model = mnist_runs("python")
    c, c_model = mnist_runs("c")
    strip = [{k: r[k] for k in ("epoch", "correct", "total", "cost")} for r in py]
    assert strip == [{k: r[k] for k in ("epoch", "correct", "total", "cost")}
                     for r in c]
    assert py_model.read_bytes() == c_model.read_bytes()


def test_train_text_output(backend, mnist_dir):
    args = ["train", "--data", mnist_dir, "--backend", backend, "--limit", "200",
            "--test-limit", "100", "--sizes", "784,8,10", "--epochs", "2"]
    status, out, err = run(args)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("pybp train: backend %s, sizes 784-8-10" % backend)
    assert "eta 3" in lines[0] and "batch 10" in lines[0]
    assert "200 training / 100 test" in lines[0]
    assert lines[1].startswith("epoch 1/2: ") and "/100 correct (" in lines[1]
    assert lines[2].startswith("epoch 2/2: ") and lines[2].endswith(" s")
    assert len(lines) == 3
    assert err == ""  # stderr is not a terminal here: no progress bar
    status, quiet, err = run(args + ["--quiet"])
    assert status == 0 and err == ""
    # Only the final line; the same numbers (seconds aside).
    assert quiet.count("\n") == 1
    assert quiet.split(", cost")[0] == lines[2].split(", cost")[0]


# --- train on CSV, resume in-process -----------------------------------------


def test_csv_train_default_sizes_and_evaluate(csv_pair, tmp_path):
    train, test = csv_pair
    model = tmp_path / "blobs.model"
    status, out, err = run(["train", "--csv-train", train, "--csv-test", test,
                            "--epochs", "3", "--eta", "1", "--save", model])
    assert status == 0, err
    assert "sizes 3-30-3" in out.splitlines()[0]
    assert out.splitlines()[-1] == "saved model to %s" % model
    last = out.splitlines()[-2]
    status, ev, err = run(["evaluate", model, "--csv", test])
    assert status == 0, err
    assert ev.strip() == last.split(": ", 1)[1].split(", cost")[0]


def test_csv_predict(csv_pair, tmp_path):
    train, test = csv_pair
    model = tmp_path / "m.model"
    assert run(["train", "--csv-train", train, "--csv-test", test, "--sizes",
                "3,8,3", "--activation", "tanh,softmax", "--cost",
                "log-likelihood", "--epochs", "2", "--save", model])[0] == 0
    rows = [[0.1, 0.2, 0.3], [2.0, -2.0, 0.5], [1.0, -1.0, 0.0]]
    features = tmp_path / "features.csv"
    write_csv(features, rows, header=None)
    net = pybp.load(model)
    status, out, err = run(["predict", model, features])
    assert status == 0, err
    assert out.splitlines() == [str(c) for c in net.predict(rows)]
    status, out, err = run(["predict", model, features, "--outputs"])
    assert status == 0, err
    got = [[float(v) for v in line.split(",")] for line in out.splitlines()]
    assert got == net.outputs(rows)  # repr round-trips every bit


def _write_idx(path, images, dims, compress=False):
    data = idx_bytes(dims, images)
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


def test_idx_predict(backend, mnist_runs, tmp_path):
    from pybp.data import load_mnist, read_idx
    _, model = mnist_runs("python")
    pixels = read_idx(MNIST / "t10k-images-idx3-ubyte.gz").data[:20 * 784]
    expected = pybp.load(model).predict(load_mnist(MNIST)[2].subset(20))
    for name, dims, compress in (("x.idx", (20, 28, 28), False),
                                 ("x.idx.gz", (20, 28, 28), True),
                                 ("flat.idx", (20, 784), False)):
        path = tmp_path / name
        _write_idx(path, pixels, dims, compress)
        status, out, err = run(["predict", model, path, "--backend", backend])
        assert status == 0, err
        assert out.splitlines() == [str(c) for c in expected]
    one = tmp_path / "one.idx"  # a single image, no count dimension
    _write_idx(one, pixels[:784], (28, 28))
    status, out, err = run(["predict", model, one])
    assert status == 0, err
    assert out.splitlines() == [str(expected[0])]


# --- info ----------------------------------------------------------------------


def test_info():
    status, out, err = run(["info"])
    assert status == 0, err
    assert "default backend:" in out and pybp.backend in out
    assert "pybp version:" in out and pybp.__version__ in out
    assert "python:" in out
    status, out, err = run(["info", "--json"])
    facts = json.loads(out)
    assert facts["default_backend"] == pybp.backend
    assert facts["available_backends"] == pybp.available_backends()
    assert (facts["c_unavailable"] is None) == ("c" in pybp.available_backends())
    if "c" in pybp.available_backends():
        assert facts["c_version"]


# --- errors -------------------------------------------------------------------


@pytest.fixture
def bad_files(tmp_path, csv_pair):
    """A checkpoint, a corrupt copy, a model, and a CSV of the wrong width."""
    train, test = csv_pair
    ck, model = tmp_path / "good.ck", tmp_path / "m.model"
    status, _, err = run(["train", "--csv-train", train, "--csv-test", test,
                          "--epochs", "1", "--checkpoint", ck, "--save", model])
    assert status == 0, err
    corrupt = tmp_path / "corrupt.ck"
    data = bytearray(ck.read_bytes())
    data[len(data) // 2] ^= 0x20
    corrupt.write_bytes(bytes(data))
    wide = tmp_path / "wide.csv"
    write_csv(wide, [[1.0, 2.0, 3.0, 4.0]], header=None)
    wide_labelled = tmp_path / "wide-labelled.csv"
    write_csv(wide_labelled, [[1.0, 2.0, 3.0, 4.0, 0]], header=None)
    return {"ck": ck, "corrupt": corrupt, "model": model, "wide": wide,
            "wide_labelled": wide_labelled, "train": train, "test": test}


# (arguments, expected exit status, a fragment of the message).  Every train
# case ends in options that would make it quick if it wrongly succeeded.
QUICK = ["--epochs", "1", "--limit", "10", "--test-limit", "10"]
BAD = [
    (["train", "--bogus"], 2, "unrecognized arguments: --bogus"),
    (["train", "--eta", "nan"], 2, "--eta: must be a finite number"),
    (["train", "--eta", "-1"], 2, "--eta: must be > 0"),
    (["train", "--eta", "x"], 2, "--eta: expected a number"),
    (["train", "--lmbda", "-0.5"], 2, "--lmbda: must be >= 0"),
    (["train", "--epochs", "0"], 2, "--epochs: must be at least 1"),
    (["train", "--mini-batch-size", "2.5"], 2, "expected an integer"),
    (["train", "--sizes", "784,,10"], 2, "empty layer size"),
    (["train", "--sizes", "abc"], 2, "--sizes"),
    (["train", "--sizes", "784,0,10"], 2, "must be at least 1"),
    (["train", "--sizes", "5,10"], 2, "MNIST needs 784 inputs"),
    (["train", "--activation", "softmax,sigmoid"], 2, "softmax"),
    (["train", "--activation", "sigmoid,sigmoid,sigmoid"], 2, "need 2 activations"),
    (["train", "--activation", "swish"], 2, "unknown activation"),
    (["train", "--cost", "log-likelihood"], 2, "needs softmax outputs"),
    (["train", "--backend", "fortran"], 2, "invalid choice: 'fortran'"),
    (["train", "--init", "zeros"], 2, "invalid choice: 'zeros'"),
    (["train", "--data", "/nonexistent"], 1, "MNIST not found"),
    (["train", "--resume", "{tmp}/missing.ck"], 1, "No such file"),
    (["train", "--resume", "{corrupt}"], 1, "checksum mismatch"),
    (["train", "--resume", "{model}"], 1, "not a pybp checkpoint"),
    (["train", "--resume", "{ck}", "--eta", "0.1"], 2, "conflicts with the checkpoint"),
    (["train", "--save", "{tmp}/no/such/dir/m.model"], 2, "does not exist"),
    (["train", "--csv-train", "{train}"], 2, "--csv-train needs --csv-test"),
    (["train", "--csv-train", "{train}", "--csv-test", "{test}", "--sizes",
      "4,5,3"], 2, "3 features per row"),
    (["evaluate", "{ck}"], 1, "not a pybp model file"),
    (["evaluate", "{tmp}/missing.model"], 1, "No such file"),
    (["evaluate", "{model}", "--csv", "{wide_labelled}"], 1,
     "4 values per example, the model takes 3"),
    (["predict", "{model}", "{wide}"], 1, "4 features per row, the model takes 3"),
    (["predict", "{model}"], 2, "required: INPUT"),
    ([], 2, "required: COMMAND"),
    (["fly"], 2, "invalid choice: 'fly'"),
]


@pytest.mark.parametrize("argv, status, fragment", BAD,
                         ids=[" ".join(a) or "(none)" for a, _, _ in BAD])
def test_bad_arguments(argv, status, fragment, bad_files, tmp_path):
    names = dict(bad_files, tmp=tmp_path)
    argv = [a.format(**names) for a in argv]
    if argv and argv[0] == "train":
        argv += QUICK
    got, out, err = run(argv)
    assert got == status, err
    assert out == ""
    assert err.startswith("pybp: error: ") and err.count("\n") == 1, err
    assert fragment in err


def test_unavailable_backend_is_an_error():
    if "c" in pybp.available_backends():
        pytest.skip("the C backend is available here")
    status, out, err = run(["train", "--backend", "c"] + QUICK)
    assert status == 1
    assert err.startswith("pybp: error: the C backend is not available")


def test_help_exits_zero():
    status, out, err = run(["train", "--help"])
    assert status == 0 and "--mini-batch-size" in out and "--resume" in out


@pytest.mark.parametrize("args, status", [
    (["train", "--eta", "nan"], 2),
    (["train", "--sizes", "5,10", "--epochs", "1"], 2),
    (["evaluate", "no-such.model"], 1),
])
def test_subprocess_errors(args, status):
    proc = pybp_subprocess(args)
    assert proc.returncode == status
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert error_lines(proc.stderr) == [proc.stderr.splitlines()[-1]]
    assert proc.stderr.splitlines()[-1].startswith("pybp: error: ")


def test_subprocess_predict(csv_pair, tmp_path):
    train, test = csv_pair
    model = tmp_path / "m.model"
    proc = pybp_subprocess(["train", "--csv-train", train, "--csv-test", test,
                            "--epochs", "2", "--json", "--save", model])
    assert proc.returncode == 0, proc.stderr
    assert [r["epoch"] for r in json_lines(proc.stdout)] == [1, 2]
    proc = pybp_subprocess(["predict", model, test])
    # The test CSV has a label column: the model takes 3 features, not 4.
    assert proc.returncode == 1 and "the model takes 3" in proc.stderr
    features = tmp_path / "f.csv"
    write_csv(features, [row[:3] for row in blobs(7, 3)], header=None)
    proc = pybp_subprocess(["predict", model, features])
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 7
    assert all(line in ("0", "1", "2") for line in proc.stdout.splitlines())


def test_checkpoint_file_is_readable(bad_files):
    ck = checkpoint.load(bad_files["ck"])
    assert ck.epoch == 1 and ck.settings["sizes"] == [3, 30, 3]
    text = bad_files["ck"].read_bytes().split(b"\n", 1)[1]
    doc = json.loads(text)  # plain JSON after the header line
    assert doc["settings"]["eta"] == 3.0 and len(doc["history"]) == 1
