"""The `pybp` command line: train, evaluate, predict, info, checkpoints, help.

Bad options and bad files, for every command, are the CLI table of
test_bad_input.py.

Most tests call pybp.cli.main() in-process (fast); the last runs
`python -m pybp` as a subprocess, for real exit codes and output.
MNIST runs are kept small (a few hundred examples, a 784-16-10 network) so
that the pure-Python backend finishes in seconds.
"""

import gzip
import json
import random

import pytest

import pybp
from pybp import checkpoint

from helpers import (
    MNIST,
    SMALL,
    blobs,
    idx_bytes,
    json_lines,
    mnist_or_skip,
    pybp_subprocess,
    run,
    write_csv,
)


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


# --- checkpoints, help, a missing backend -------------------------------------
# (Bad options and bad files, of every command: test_bad_input.py.)


def test_checkpoint_file_is_readable(csv_pair, tmp_path):
    train, test = csv_pair
    ck_path = tmp_path / "good.ck"
    status, _, err = run(["train", "--csv-train", train, "--csv-test", test,
                          "--epochs", "1", "--checkpoint", ck_path,
                          "--save", tmp_path / "m.model"])
    assert status == 0, err
    ck = checkpoint.load(ck_path)
    assert ck.epoch == 1 and ck.settings["sizes"] == [3, 30, 3]
    text = ck_path.read_bytes().split(b"\n", 1)[1]
    doc = json.loads(text)  # plain JSON after the header line
    assert doc["settings"]["eta"] == 3.0 and len(doc["history"]) == 1


def test_unavailable_backend_is_an_error():
    if "c" in pybp.available_backends():
        pytest.skip("the C backend is available here")
    status, out, err = run(["train", "--backend", "c", "--epochs", "1",
                            "--limit", "10", "--test-limit", "10"])
    assert status == 1
    assert err.startswith("pybp: error: the C backend is not available")


def test_help_exits_zero():
    status, out, err = run(["train", "--help"])
    assert status == 0 and "--mini-batch-size" in out and "--resume" in out


# --- as a subprocess --------------------------------------------------------------


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


def test_every_output_is_reported(tmp_path):
    rng = random.Random(2)
    csv = tmp_path / "d.csv"
    csv.write_text("".join("%.3f,%.3f,%d\n" % (rng.random(), rng.random(), i % 2)
                           for i in range(30)))
    plot, model = tmp_path / "c.svg", tmp_path / "m.pybp"
    status, out, err = run(["train", "--csv-train", csv, "--csv-test", csv, "--epochs", "1",
                            "--plot", plot, "--save", model])
    assert status == 0, err
    assert out.splitlines()[-2:] == ["saved model to %s" % model,
                                     "wrote learning curves to %s" % plot]


def test_show_png_picks_a_readable_size(tmp_path):
    model = tmp_path / "m.pybp"
    pybp.Network([784, 30, 10], seed=0, backend="python").save(model)
    status, out, _ = run(["show", model, "--png", tmp_path / "w.png"])
    assert status == 0
    assert out.strip() == "wrote %s: 30 first-layer neurons, 679x566 pixels" % (
        tmp_path / "w.png")
    status, out, _ = run(["show", model, "--png", tmp_path / "s.png", "--scale", "1"])
    assert "175x146 pixels" in out
