"""A sweep on a dask.distributed cluster gives the bits of the same runs
done one after the other at home (docs/sweeps.md): every number of a run
follows from its settings, whichever process, machine or thread computes
it, and a Network pickled to a worker trains on there exactly as it would
have here."""

import os
import random
import sys

import pytest

import pybp

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# The tasks below are this module's functions: ship them by value, so the
# workers need not import the test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SETTINGS = [{"seed": seed, "eta": eta, "activation": act}
            for seed, eta, act in [(1, 0.5, "sigmoid"), (2, 0.5, "sigmoid"),
                                   (1, 0.1, "tanh"), (3, 0.3, "relu")]]


def _data(n=300, width=8, classes=3, seed=0):
    """Synthetic blobs, as plain lists (what a task receives)."""
    rng = random.Random(seed)
    labels = [rng.randrange(classes) for _ in range(n)]
    xs = [[rng.gauss(1.0 if k % classes == c else 0.0, 0.5) for k in range(width)]
          for c in labels]
    return xs, labels


def run(settings, xs, labels):
    """One run of the sweep: a network from its settings, trained."""
    net = pybp.Network([len(xs[0]), 10, 3], [settings["activation"], "softmax"],
                       "log-likelihood", seed=settings["seed"], init="scaled")
    data = pybp.Dataset(xs, labels=labels)
    history = net.sgd(data, 3, 10, settings["eta"])
    return {"settings": settings, "backend": net.backend, "params": net.params,
            "costs": [r["cost"] for r in history], "correct": net.evaluate(data)}


def train_more(net, xs, labels, eta):
    """A network sent to a worker, trained there and sent back."""
    net.sgd(pybp.Dataset(xs, labels=labels), 2, 10, eta)
    return net


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        with distributed.Client(cluster) as c:
            yield c
    finally:
        cluster.close()


def test_a_sweep_on_the_cluster_gives_the_bits_of_a_plain_loop(client):
    xs, labels = _data()
    data = client.scatter([xs, labels], broadcast=True)
    futures = [client.submit(run, s, *data, pure=False) for s in SETTINGS]
    remote = client.gather(futures)
    where = set(client.run(os.getpid).values())
    assert len(where) == 2 and os.getpid() not in where  # two other processes
    local = [run(s, xs, labels) for s in SETTINGS]
    for mine, theirs in zip(local, remote):
        assert theirs["settings"] == mine["settings"]
        assert theirs["backend"] == mine["backend"]
        assert theirs["params"] == mine["params"]
        assert bytes(theirs["params"]) == bytes(mine["params"])
        assert theirs["costs"] == mine["costs"] and theirs["correct"] == mine["correct"]
    assert len({bytes(r["params"]) for r in remote}) == len(SETTINGS)


def test_a_network_shipped_to_a_worker_trains_on_as_at_home(client):
    xs, labels = _data(n=200, seed=1)
    net = pybp.Network([8, 6, 3], ["tanh", "softmax"], "log-likelihood", seed=4)
    net.sgd(pybp.Dataset(xs, labels=labels), 1, 10, 0.2)
    futures = [client.submit(train_more, net, xs, labels, eta, pure=False)
               for eta in (0.2, 0.05)]
    shipped = client.gather(futures)
    for eta, back in zip((0.2, 0.05), shipped):
        home = net.copy()
        home.sgd(pybp.Dataset(xs, labels=labels), 2, 10, eta)
        assert bytes(back.params) == bytes(home.params)
        assert back.shuffle_state == home.shuffle_state
        assert back.epochs_trained == home.epochs_trained == 3
    assert net.epochs_trained == 1  # the original stayed here, untouched
