"""Checkpoints and exact resume.

The promise: a run killed after epoch k (even by SIGKILL) and resumed from
its checkpoint ends with a model file byte-identical to an uninterrupted run
with the same settings.  It holds because both backends' arithmetic is
exact and the checkpoint restores the parameters bit for bit together with
the shuffle generator's state.
"""

import json
import random
import signal
import subprocess

import pytest

import pybp
from pybp import checkpoint
from pybp.checkpoint import CheckpointError

from helpers import blobs, pybp_popen, run, write_csv

posix_signals = pytest.mark.skipif(not hasattr(signal, "SIGKILL"),
                                   reason="needs POSIX signals")

# Per backend, enough work per epoch that a kill lands mid-run, yet small
# enough that a whole run takes a few seconds.
WORK = {"python": ["--limit", "500", "--test-limit", "200"],
        "c": ["--limit", "10000", "--test-limit", "2000"]}


def finish(proc, timeout=300):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return out, err


def read_until_epoch(proc, epoch):
    """Read --json lines until the one for `epoch` (its checkpoint is written)."""
    seen = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["epoch"] >= epoch:
            return seen
    pytest.fail("the run ended before epoch %d: %s" % (epoch, proc.stderr.read()))


@posix_signals
def test_sigkill_and_resume_is_bit_identical(backend, mnist_dir, tmp_path):
    common = (["train", "--data", mnist_dir, "--backend", backend, "--sizes",
               "784,10,10", "--json"] + WORK[backend])
    # A run with many epochs, killed once its checkpoint holds epoch 2: it
    # is certainly mid-run then, however fast the machine.
    ck = tmp_path / "killed.ck"
    proc = pybp_popen(common + ["--epochs", "50", "--checkpoint", ck])
    try:
        read_until_epoch(proc, 2)
        proc.send_signal(signal.SIGKILL)
    finally:
        finish(proc)
    assert proc.returncode == -signal.SIGKILL
    k = checkpoint.load(ck).epoch  # 2, or a little more if the kill was slow
    assert 2 <= k < 50
    total = k + 2

    # Resume to `total` epochs (--epochs may change on resume; the number of
    # epochs planned does not enter the arithmetic).
    resumed = tmp_path / "resumed.model"
    proc = pybp_popen(["train", "--data", mnist_dir, "--backend", backend,
                       "--json", "--resume", ck, "--checkpoint", ck,
                       "--epochs", total, "--save", resumed])
    out, err = finish(proc)
    assert proc.returncode == 0, err
    assert [r["epoch"] for r in map(json.loads, out.splitlines())] == [k + 1, k + 2]

    # The same run, uninterrupted.
    full = tmp_path / "full.model"
    proc = pybp_popen(common + ["--epochs", total,
                                "--checkpoint", tmp_path / "full.ck",
                                "--save", full])
    out, err = finish(proc)
    assert proc.returncode == 0, err
    full_records = [json.loads(line) for line in out.splitlines()]
    assert len(full_records) == total

    assert resumed.read_bytes() == full.read_bytes()
    a, b = checkpoint.load(ck), checkpoint.load(tmp_path / "full.ck")
    assert a.epoch == b.epoch == total
    assert a.params.tobytes() == b.params.tobytes()
    assert a.shuffle_state == b.shuffle_state
    strip = [{k: r[k] for k in ("epoch", "correct", "total", "cost")}
             for r in full_records]
    assert [{k: r[k] for k in ("epoch", "correct", "total", "cost")}
            for r in a.history] == strip


@posix_signals
def test_sigint_exits_130_and_keeps_the_checkpoint(mnist_dir, tmp_path):
    ck = tmp_path / "run.ck"
    proc = pybp_popen(["train", "--data", mnist_dir, "--backend", "python",
                       "--sizes", "784,10,10", "--epochs", "50", "--json",
                       "--checkpoint", ck] + WORK["python"])
    try:
        read_until_epoch(proc, 1)
        proc.send_signal(signal.SIGINT)
    finally:
        out, err = finish(proc)
    assert proc.returncode == 130
    assert "Traceback" not in err
    # (An install whose C build failed may also print its import warning.)
    [line] = [l for l in err.splitlines() if l.startswith("pybp: ")]
    assert line.startswith("pybp: interrupted") and line == err.splitlines()[-1]
    assert "%s holds epoch" % ck in line
    assert checkpoint.load(ck).epoch >= 1


# --- in-process, on a small CSV problem (fast) -----------------------------


@pytest.fixture
def csv_args(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_csv(train, blobs(150, 11))
    write_csv(test, blobs(40, 12))
    return ["train", "--csv-train", train, "--csv-test", test, "--sizes", "3,7,3",
            "--eta", "0.7", "--mini-batch-size", "8", "--lmbda", "0.1",
            "--seed", "5"]


def test_resume_in_steps_matches_one_run(backend, csv_args, tmp_path):
    full, part = tmp_path / "full.model", tmp_path / "part.model"
    status, out, err = run(csv_args + ["--backend", backend, "--epochs", "7",
                                       "--json", "--save", full])
    assert status == 0, err
    one_run = [json.loads(line) for line in out.splitlines()]
    ck = tmp_path / "ck"
    # 7 epochs as 3 + 2 + 2: settings come from the checkpoint, --epochs grows.
    steps = [csv_args + ["--epochs", "3", "--checkpoint", ck],
             ["train", "--resume", ck, "--csv-train", csv_args[2], "--csv-test",
              csv_args[4], "--epochs", "5", "--checkpoint", ck],
             ["train", "--resume", ck, "--csv-train", csv_args[2], "--csv-test",
              csv_args[4], "--epochs", "7", "--checkpoint", ck, "--save", part]]
    printed = []
    for argv in steps:
        status, out, err = run(argv + ["--backend", backend, "--json"])
        assert status == 0, err
        printed += [json.loads(line) for line in out.splitlines()]
    assert part.read_bytes() == full.read_bytes()
    keys = ("epoch", "correct", "total", "cost")
    assert [[r[k] for k in keys] for r in printed] == \
        [[r[k] for k in keys] for r in one_run]
    assert checkpoint.load(ck).settings["epochs"] == 7


def test_resume_takes_settings_and_reports_conflicts(csv_args, tmp_path):
    ck = tmp_path / "ck"
    assert run(csv_args + ["--epochs", "2", "--checkpoint", ck])[0] == 0
    data = csv_args[1:5]
    # The same values again are fine; one activation name means every layer.
    status, out, err = run(["train", "--resume", ck] + data +
                           ["--eta", "0.7", "--activation", "sigmoid",
                            "--sizes", "3,7,3", "--epochs", "3"])
    assert status == 0, err
    assert "resuming %s after epoch 2 of 3" % ck in out
    assert [l for l in out.splitlines() if l.startswith("epoch")][0].startswith("epoch 3/3")
    for option, value in (("--eta", "0.5"), ("--seed", "6"), ("--sizes", "3,8,3"),
                          ("--activation", "tanh"), ("--lmbda", "0"),
                          ("--mini-batch-size", "10"), ("--limit", "100"),
                          ("--init", "scaled"), ("--cost", "cross-entropy")):
        status, out, err = run(["train", "--resume", ck] + data + [option, value])
        assert status == 2, (option, err)
        assert err.startswith("pybp: error: %s " % option)
        assert "conflicts with the checkpoint" in err
    status, out, err = run(["train", "--resume", ck] + data + ["--epochs", "1"])
    assert status == 2 and "already trained 2 epochs" in err
    status, out, err = run(["train", "--resume", ck])
    assert status == 2 and "trained on CSV data" in err
    # Nothing left to do: no epochs, but --save still writes the model.
    model = tmp_path / "m.model"
    status, out, err = run(["train", "--resume", ck] + data + ["--save", model,
                                                               "--quiet"])
    assert status == 0, err
    assert out.startswith("epoch 2/2: ")  # --quiet: the final result line
    assert pybp.load(model).params.tobytes() == checkpoint.load(ck).params.tobytes()


# --- the checkpoint format ---------------------------------------------------

SETTINGS = {"sizes": [2, 3, 2], "activations": ["sigmoid", "sigmoid"],
            "cost": "quadratic", "eta": 0.5, "lmbda": 0.0, "mini_batch_size": 4,
            "epochs": 3, "seed": 1, "init": "normal", "limit": None,
            "test_limit": None, "data": "csv"}
HISTORY = [{"epoch": 1, "correct": 3, "total": 4, "cost": 0.25, "seconds": 0.01}]


def _sample():
    net = pybp.Network([2, 3, 2], seed=1, backend="python")
    rng = random.Random(3)
    rng.gauss(0.0, 1.0)  # leaves a gauss_next float in the state
    return net.params, rng.getstate()


def test_checkpoint_round_trip_is_exact():
    params, state = _sample()
    assert state[2] is not None
    params[0] = 1.0 / 3.0
    params[1] = -0.0
    params[2] = 5e-324
    data = checkpoint.dumps(SETTINGS, 1, state, params, HISTORY)
    ck = checkpoint.loads(data)
    assert ck.params.tobytes() == params.tobytes()
    assert ck.shuffle_state == state
    assert ck.settings == dict(SETTINGS, dtype="float64")
    assert ck.history == HISTORY and ck.epoch == 1
    assert checkpoint.dumps(ck.settings, ck.epoch, ck.shuffle_state, ck.params,
                            ck.history) == data


def test_checkpoint_save_is_atomic_and_loads(tmp_path):
    params, state = _sample()
    path = tmp_path / "c.ck"
    checkpoint.save(path, SETTINGS, 1, state, params, HISTORY)
    checkpoint.save(path, SETTINGS, 1, state, params, HISTORY)  # replaces
    assert [p.name for p in tmp_path.iterdir()] == ["c.ck"]  # no temp files left
    assert checkpoint.load(path).params.tobytes() == params.tobytes()


def _mangle(data, how):
    head, body = data.split(b"\n", 1)
    if how == "flip":
        b = bytearray(data)
        b[len(head) + 1 + len(body) // 2] ^= 1
        return bytes(b)
    if how == "truncate":
        return data[:-10]
    if how == "extra":
        return data + b"x"
    if how == "magic":
        return b"pybp-checkpiont" + data[15:]
    if how == "version":
        return data.replace(b"pybp-checkpoint 1 ", b"pybp-checkpoint 9 ", 1)
    if how == "empty":
        return b""
    raise AssertionError(how)


@pytest.mark.parametrize("how, message", [
    ("flip", "checksum mismatch"),
    ("truncate", "truncated"),
    ("extra", "unexpected bytes"),
    ("magic", "not a pybp checkpoint"),
    ("version", "version 9"),
    ("empty", "empty file"),
])
def test_damaged_checkpoints_are_rejected(how, message):
    params, state = _sample()
    data = _mangle(checkpoint.dumps(SETTINGS, 1, state, params, HISTORY), how)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.loads(data, source="ck")


def _with_doc(change):
    """A checkpoint whose JSON was edited (with a valid checksum)."""
    params, state = _sample()
    data = checkpoint.dumps(SETTINGS, 1, state, params, HISTORY)
    doc = json.loads(data.split(b"\n", 1)[1])
    change(doc)
    return checkpoint.dumps(doc["settings"], doc["epoch"],
                            (doc["shuffle_state"][0], doc["shuffle_state"][1],
                             doc["shuffle_state"][2]),
                            [0.0] * 16 if doc["params"] == "short" else params,
                            doc["history"])


@pytest.mark.parametrize("change, message", [
    (lambda d: d["settings"].update(cost="log-likelihood"), "no valid network"),
    (lambda d: d["settings"].update(eta="fast"), "settings.eta"),
    (lambda d: d["shuffle_state"][1].pop(), "not a valid generator state"),
    (lambda d: d.update(params="short"), "params hold"),
    (lambda d: d.update(epoch=4), "past the run's 3 epochs"),
    (lambda d: d["history"].append(dict(HISTORY[0], epoch=2)), "history"),
])
def test_inconsistent_checkpoints_are_rejected(change, message):
    with pytest.raises(CheckpointError, match=message):
        checkpoint.loads(_with_doc(change))
