"""No data loss: a save killed by SIGKILL leaves the previous model intact.

Network.save writes a temporary file in the same directory, fsyncs it and
renames it over the model (pybp.model.save_file).  Here a real subprocess
saves a 4 MB model over and over, each time with a new first parameter,
and is SIGKILLed at a random moment, many times.  After every kill the
model file must load and hold exactly one of the versions the child saved.

A kill that lands between the temporary file's creation and the rename
leaves that temporary file behind (".NAME.XXXXXXXX.tmp"): that is how the
test knows that kills did land in the middle of saves, and it requires
some.  Such stale files are harmless: loading never looks at them, later
saves pick other names, and a name collision is skipped (tested below);
they can be deleted at any time.
"""

import os
import random
import signal
import subprocess
import sys
import time
from array import array

import pytest

import pybp
from pybp import model

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"),
                                reason="needs POSIX signals")

SIZES = [1000, 500]  # 500,500 parameters: a 4 MB file
ACTS = ["sigmoid"]


def base_params():
    n = SIZES[1] * (SIZES[0] + 1)
    block = array("d", [k / 1000.0 - 0.5 for k in range(1000)])
    return (block * (n // 1000 + 1))[:n]


CHILD = """
import sys
import pybp
sys.path.insert(0, %(tests)r)
from test_save_kill import ACTS, SIZES, base_params

path = sys.argv[1]
net = pybp.Network.from_params(SIZES, ACTS, "quadratic", base_params(),
                               backend="python")
i = 0
while True:
    net.params[0] = float(i)
    net.save(path)
    if i == 0:
        print("saved", flush=True)
    i += 1
"""


def temp_files(directory, name):
    return sorted(p for p in os.listdir(directory)
                  if p.startswith("." + name + ".") and p.endswith(".tmp"))


def check_model(path, base):
    """The file holds one complete version the child saved: base with its
    first parameter replaced by a whole number."""
    net = pybp.load(path, backend="python")
    assert net.sizes == SIZES and net.activations == ACTS
    p = net.params
    assert p[1:] == base[1:]
    assert p[0] >= 0.0 and p[0] == int(p[0])
    return int(p[0])


def test_sigkill_during_save_keeps_the_previous_model(tmp_path):
    base = base_params()
    path = tmp_path / "m.model"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    cwd = os.path.dirname(os.path.dirname(os.path.abspath(pybp.__file__)))
    code = CHILD % {"tests": os.path.dirname(os.path.abspath(__file__))}
    rng = random.Random(0)
    kills = mid_save = 0
    versions = set()
    # Kill until a few kills landed mid-save (a temporary file was left
    # behind), at most 50 times (about a third of the kills do).
    while kills < 50 and mid_save < 3:
        before = set(temp_files(tmp_path, path.name))
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=cwd,
                                env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            assert line == "saved\n", proc.stderr.read()
            time.sleep(rng.uniform(0.0, 0.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        left = set(temp_files(tmp_path, path.name)) - before
        assert len(left) <= 1
        mid_save += len(left)
        versions.add(check_model(path, base))
    assert mid_save >= 1, "no kill landed during a save in %d tries" % kills
    assert len(versions) > 1  # the file was replaced between kills

    # The stale temporary files are harmless: the model loads, a new save
    # replaces it, and they are left as they were (another process could
    # still be writing one).
    stale = {name: (tmp_path / name).read_bytes()
             for name in temp_files(tmp_path, path.name)}
    assert len(stale) == mid_save
    net = pybp.Network.from_params(SIZES, ACTS, "quadratic", base,
                                   backend="python")
    net.params[0] = 12345.0
    net.save(path)
    assert check_model(path, base) == 12345
    assert {name: (tmp_path / name).read_bytes()
            for name in temp_files(tmp_path, path.name)} == stale


def test_save_skips_a_stale_temporary_name(tmp_path, monkeypatch):
    """A leftover temporary file with the very name a save draws is not
    overwritten or renamed into place: the save takes the next name."""
    path = tmp_path / "m.model"
    net = pybp.Network([3, 2], seed=0, backend="python")
    stale = tmp_path / ".m.model.00000000.tmp"
    stale.write_bytes(b"half a model")
    draws = iter([b"\x00" * 4, b"\x01" * 4])
    monkeypatch.setattr(model.os, "urandom", lambda n: next(draws))
    net.save(path)
    assert stale.read_bytes() == b"half a model"
    assert not (tmp_path / ".m.model.01010101.tmp").exists()
    assert bytes(pybp.load(path).params) == bytes(net.params)
    assert temp_files(tmp_path, path.name) == [stale.name]


def test_failed_save_removes_its_temporary_file(tmp_path, monkeypatch):
    """A save that fails with an exception (not a kill) cleans up after
    itself and leaves the old model in place."""
    path = tmp_path / "m.model"
    old = pybp.Network([3, 2], seed=0, backend="python")
    old.save(path)
    saved = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(model.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        pybp.Network([3, 2], seed=1, backend="python").save(path)
    assert path.read_bytes() == saved
    assert temp_files(tmp_path, path.name) == []
