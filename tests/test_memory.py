"""Memory: absurd sizes fail at once with MemoryError, and leave nothing changed.

- A network too large for memory fails when it is built, before a single
  parameter is drawn (it used to draw parameters for hours).
- A mini-batch size larger than the training set means one mini-batch of
  the whole set (docs/math.md: the last mini-batch may be shorter), on both
  backends and from sgd, train_epoch and the command line alike: 2**60 is
  not an error and allocates nothing extra.
- When a training step's scratch memory cannot be allocated (the C core's
  workspace grows with the mini-batch), MemoryError is raised before any
  kernel runs: the parameters and the shuffle state are unchanged and the
  network still trains with a smaller mini-batch.
"""

import os
import subprocess
import sys
import textwrap
import time

import pytest

import pybp

from helpers import bits, run

HUGE = [2 ** 60, 2 ** 70]


@pytest.mark.parametrize("sizes", [[2 ** 20, 2 ** 20], [784, 2 ** 32, 10],
                                   [1, 2 ** 40], [3, 2 ** 64, 3]])
def test_network_too_large_fails_at_once(backend, sizes):
    start = time.perf_counter()
    with pytest.raises(MemoryError, match="a network of sizes"):
        pybp.Network(sizes, seed=0, backend=backend)
    assert time.perf_counter() - start < 5.0
    pybp.Network([3, 2], seed=0, backend=backend).feedforward([0.0] * 3)


def _data():
    xs = [[0.1 * i, 1.0 - 0.05 * i, (i % 3) / 3.0] for i in range(23)]
    return pybp.Dataset(xs, labels=[i % 2 for i in range(23)])


@pytest.mark.parametrize("m", HUGE)
def test_absurd_mini_batch_is_the_whole_set(backend, m):
    data = _data()
    want = pybp.Network([3, 5, 2], seed=4, backend=backend)
    want.sgd(data, 2, data.count, 0.5, 0.1)
    got = pybp.Network([3, 5, 2], seed=4, backend=backend)
    got.sgd(data, 2, m, 0.5, 0.1)
    assert bits(got.params) == bits(want.params)
    again = pybp.Network([3, 5, 2], seed=4, backend=backend)
    again.train_epoch(data, m, 0.5, 0.1)
    again.train_epoch(data, m, 0.5, 0.1)
    assert bits(again.params) == bits(want.params)
    assert again.shuffle_state == want.shuffle_state


def test_cli_absurd_mini_batch(tmp_path):
    train = tmp_path / "t.csv"
    train.write_text("".join("%r,%r,%d\n" % (0.1 * i, -0.3 * i, i % 2)
                             for i in range(17)))
    models = []
    for m in ("17", str(2 ** 70)):
        models.append(tmp_path / ("m%d.model" % len(models)))
        status, _, err = run(["train", "--csv-train", train, "--csv-test", train,
                              "--epochs", "2", "--mini-batch-size", m,
                              "--save", models[-1], "--quiet"])
        assert status == 0, err
    assert models[0].read_bytes() == models[1].read_bytes()


# The child: a C network whose workspace for a mini-batch of all 20,000
# examples is about 2 GB, under an address-space limit 600 MB above what
# the process uses once it is set up.
CHILD = textwrap.dedent("""
    import math, resource, sys
    import pybp
    from array import array

    def vm_bytes():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024

    count = 20000
    data = pybp.Dataset(bytes(i % 251 for i in range(count)),
                        labels=[i % 2 for i in range(count)],
                        n_inputs=1, divisor=255.0)
    net = pybp.Network([1, 4096, 2], seed=0, backend="c")
    params, state = bytes(net.params), net.shuffle_state
    limit = vm_bytes() + 600 * 2 ** 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for what, call in [
            ("sgd", lambda: net.sgd(data, 1, 2 ** 60, 0.1)),
            ("train_epoch", lambda: net.train_epoch(data, count, 0.1)),
            ("update_mini_batch", lambda: net.update_mini_batch(data, eta=0.1)),
            ("gradient", lambda: net.gradient(data))]:
        try:
            call()
        except MemoryError as exc:
            print(what, "MemoryError", exc)
        else:
            print(what, "no error")
        assert bytes(net.params) == params, what
        assert net.shuffle_state == state, what
        assert net.epochs_trained == 0, what
    # Smaller mini-batches still train, and change the parameters.
    net.sgd(data.subset(200), 1, 10, 0.1)
    assert bytes(net.params) != params
    assert all(map(math.isfinite, net.params))
    print("trained after the errors")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="needs RLIMIT_AS and /proc/self/status")
def test_workspace_memory_error_leaves_the_network_unchanged(c_backend, tmp_path):
    env = dict(os.environ, PYBP_THREADS="0")
    env.pop("PYTHONPATH", None)
    # Run against the pybp this test imported (see test_cli.pybp_subprocess).
    cwd = os.path.dirname(os.path.dirname(os.path.abspath(pybp.__file__)))
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "trained after the errors"
    for what in ("sgd", "train_epoch", "update_mini_batch"):
        line = next(l for l in lines if l.startswith(what + " "))
        assert line.startswith(what + " MemoryError pybp: a workspace of "), line
        assert "does not fit in memory" in line


def test_large_workspaces_are_kept_one_size_at_a_time(c_backend):
    """Scratch space above 4 MiB is kept between kernel calls (an epoch's
    calls reuse it), but only the latest such size: training at several
    large mini-batch sizes holds one of them, and the bits are those of a
    network that never kept any."""
    import random

    from pybp._kernels import ccore
    rng = random.Random(5)
    x = bytes(rng.randrange(256) for _ in range(300 * 300))
    ds = pybp.Dataset(x, labels=[rng.randrange(10) for _ in range(300)],
                      n_inputs=300, divisor=255.0)
    net = pybp.Network([300, 2000, 10], seed=1, backend="c")
    fresh = net.copy()

    def big(n):
        return [k for k in ccore._cache(n.spec) if k[0] == "big work"]
    for m in (100, 150, 100):
        net.train_epoch(ds, m, 0.5)
        held = ccore._cache(net.spec)[("big work", "d")]
        assert big(net) == [("big work", "d")] and len(held[1]) == 1
        assert held[0] * 8 > ccore.KEEP_BYTES
    sizes = set()
    for m in (100, 150, 100):
        fresh.train_epoch(ds, m, 0.5)
        sizes.add(ccore._cache(fresh.spec)[("big work", "d")][0])
        ccore._cache(fresh.spec).pop(("big work", "d"))   # as if never kept
    assert len(sizes) == 2
    assert bits(net.params) == bits(fresh.params)
