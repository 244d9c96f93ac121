"""Networks travel: pickle and copy.deepcopy keep the bits, the backend,
the dtype and the shuffle state, so a network sent to another process
(multiprocessing, joblib) goes on exactly as it would have at home."""

import copy
import pickle
import random
import subprocess
import sys

import pytest

import pybp

from helpers import _pybp_command


def _data(n=60, width=4, classes=3, seed=5):
    rng = random.Random(seed)
    xs = [[rng.random() for _ in range(width)] for _ in range(n)]
    return pybp.Dataset(xs, labels=[rng.randrange(classes) for _ in xs])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pickle_and_deepcopy_keep_everything(backend, dtype):
    if dtype == "float32" and backend != "c":
        pytest.skip("float32 runs on the C backend")
    data = _data()
    net = pybp.Network([4, 5, 3], ["tanh", "softmax"], "log-likelihood", seed=3,
                       backend=backend, dtype=dtype, threads=2)
    net.sgd(data, 1, 7, 0.3)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert bytes(clone.params) == bytes(net.params)
        assert (clone.backend, clone.dtype, clone.threads, clone.seed, clone.epochs_trained) \
            == (net.backend, net.dtype, 2, 3, 1)
        assert clone.shuffle_state == net.shuffle_state
        assert clone.params is not net.params
        clone.sgd(data, 1, 7, 0.3)
    net.sgd(data, 1, 7, 0.3)
    assert bytes(clone.params) == bytes(net.params)  # the same second epoch


def test_a_c_network_unpickles_on_python_where_c_is_missing(c_backend):
    net = pybp.Network([3, 2], seed=1, backend="c")
    blob = pickle.dumps(net)
    _, cwd, env = _pybp_command([])
    env["PYBP_BACKEND"] = "python"
    code = ("import pickle, sys, warnings\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    net = pickle.loads(sys.stdin.buffer.read())\n"
            "print(net.backend, bytes(net.params).hex(), len(w))\n"
            "print(w[0].message)\n")
    proc = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                          cwd=cwd, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, message = proc.stdout.decode().splitlines()[:2]
    backend, params, warned = first.split()
    assert backend == "python" and params == bytes(net.params).hex() and warned == "1"
    assert "unpickled on the Python backend" in message
