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


@pytest.mark.parametrize("typecode", ["d", "f"])
def test_the_kernels_finiteness_check_sees_every_bad_value(typecode):
    """The check after each piece of an epoch (the C core's in one pass):
    any one NaN or infinity anywhere, the last element included, and the
    largest finite values are not one."""
    from array import array

    from pybp._kernels import ccore, reference
    kernels = [reference] if typecode == "d" else []
    if ccore is not None:
        kernels.append(ccore)
    if not kernels:
        pytest.skip("float32 needs the C backend")
    big, tiny = (1.7e308, 5e-324) if typecode == "d" else (3.4e38, 1e-45)
    for k in kernels:
        assert k.all_finite(array(typecode, [big, -big, 0.0, -0.0, tiny]))
        assert k.all_finite(array(typecode))
        for n in (1, 7, 64, 1001):
            for at in sorted({0, n // 2, n - 1}):
                for bad in (math.inf, -math.inf, math.nan):
                    values = array(typecode, [0.5] * n)
                    values[at] = bad
                    assert not k.all_finite(values), (k.__name__, n, at, bad)
