"""Divergence: NaN/inf parameters stop training with an error naming where."""

import math

import pytest

import pybp

from helpers import pybp_subprocess

DATA = [([0.1 * i, 1.0 - 0.1 * i], [0.5 * i]) for i in range(40)]


def diverging(backend):
    return pybp.Network([2, 8, 1], activation=["relu", "identity"], seed=1,
                        backend=backend)


def test_divergence_names_epoch_and_batch(backend):
    net = diverging(backend)
    with pytest.raises(pybp.DivergenceError, match="epoch 1, mini-batch") as info:
        net.sgd(DATA, 5, 4, 50.0)
    err = info.value
    assert (err.epoch, err.batches, err.eta) == (1, 10, 50.0)
    assert 1 <= err.batch <= 10
    assert "eta=50 is most likely too large" in str(err)
    # The parameters are those from before the mini-batch at fault.
    assert all(map(math.isfinite, net.params))
    assert net.epochs_trained == 0


def test_divergence_is_found_at_the_same_place_on_both_backends():
    places = set()
    for backend in pybp.available_backends():
        net = diverging(backend)
        with pytest.raises(pybp.DivergenceError) as info:
            net.sgd(DATA, 5, 4, 50.0)
        places.add((info.value.epoch, info.value.batch, bytes(net.params)))
    assert len(places) == 1


def test_stable_training_is_not_flagged(backend):
    net = diverging(backend)
    net.sgd(DATA, 3, 4, 0.01)
    assert net.epochs_trained == 3


def test_cli_reports_divergence_and_keeps_last_good_checkpoint(tmp_path, mnist_dir):
    ck = tmp_path / "ck"
    base = ["train", "--data", mnist_dir, "--limit", "200", "--test-limit", "100",
            "--sizes", "784,10,10", "--activation", "relu,identity",
            "--checkpoint", ck, "--json"]
    good = pybp_subprocess(base + ["--epochs", "1", "--eta", "0.01"])
    assert good.returncode == 0, good.stderr
    saved = ck.read_bytes()
    bad = pybp_subprocess(base + ["--epochs", "2", "--eta", "1e6"])
    assert bad.returncode == 1
    last = bad.stderr.strip().splitlines()[-1]
    assert last.startswith("pybp: error: training diverged in epoch 1, mini-batch")
    assert "Traceback" not in bad.stderr
    assert ck.read_bytes() == saved
