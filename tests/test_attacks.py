"""Hostile inputs: files forged to look valid, outputs aimed at links and
devices, names at the file system's limits (docs/hardening.md, "Second
round").  Each test failed before its fix."""

import base64
import json
import os
import random
import stat
import subprocess
import sys
import threading
import zlib
from array import array

import pytest

import pybp
from pybp import checkpoint, files, model
from pybp.checkpoint import CheckpointError
from pybp.model import ModelFormatError

SETTINGS = {"sizes": [2, 3, 2], "activations": ["sigmoid", "sigmoid"],
            "cost": "quadratic", "eta": 0.5, "lmbda": 0.0, "mini_batch_size": 2,
            "epochs": 3, "seed": 1, "init": "normal", "limit": None,
            "test_limit": None, "data": "csv"}
HISTORY = [{"epoch": 1, "cost": 0.25, "seconds": 0.01, "correct": 3, "total": 4}]


def _state():
    return random.Random(7).getstate()


def _checkpoint_doc():
    net = pybp.Network([2, 3, 2], seed=1, backend="python")
    data = checkpoint.dumps(SETTINGS, 1, _state(), net.params, HISTORY)
    return json.loads(data.split(b"\n", 1)[1])


def forge(body):
    """A checkpoint around JSON text `body`, with a correct header and CRC."""
    raw = body.encode("ascii") if isinstance(body, str) else body
    head = "%s %d %08x %d\n" % (checkpoint.MAGIC, checkpoint.VERSION,
                                zlib.crc32(raw) & 0xFFFFFFFF, len(raw))
    return head.encode("ascii") + raw


def forge_doc(change):
    doc = _checkpoint_doc()
    change(doc)
    return forge(json.dumps(doc))


# --- forged checkpoints ------------------------------------------------------


def test_deeply_nested_json_is_refused_without_recursing(tmp_path):
    body = "[" * 100000 + "]" * 100000
    with pytest.raises(CheckpointError, match="nests 100000 deep"):
        checkpoint.loads(forge(body), source="ck")
    # brackets inside strings are not nesting
    doc = _checkpoint_doc()
    doc["note"] = "[" * 1000
    assert checkpoint.loads(forge(json.dumps(doc))).epoch == 1
    # and through the command line: one error line, exit status 1
    path = tmp_path / "deep.ck"
    path.write_bytes(forge(body))
    proc = subprocess.run([sys.executable, "-m", "pybp", "train", "--resume", str(path)],
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "nests 100000 deep" in proc.stderr
    assert "Traceback" not in proc.stderr


def _settings(**kw):
    return lambda d: d["settings"].update(kw)


def _history(**kw):
    return lambda d: d["history"][0].update(kw)


def _zero_state(d):
    d["shuffle_state"][1] = [0] * 624 + [624]


def _nan_param(d):
    values = array("d", [float("nan")] * 17)
    d["params"] = base64.b64encode(values.tobytes()).decode("ascii")


@pytest.mark.parametrize("change, message", [
    (_settings(data="http://evil"), "settings.data is 'http://evil'"),
    (_settings(init="uniform"), "settings.init is 'uniform'"),
    (_settings(eta=0.0), "settings.eta must be > 0"),
    (_settings(eta=-1.0), "settings.eta must be > 0"),
    (_settings(lmbda=-0.5), "settings.lmbda must be >= 0"),
    (_settings(mini_batch_size=0), "settings.mini_batch_size must be at least 1"),
    (_settings(epochs=0), "settings.epochs must be at least 1"),
    (_settings(seed=10 ** 4000), "settings.seed is not in 0 .. 2\\*\\*64-1"),
    (_settings(seed=-1), "settings.seed is not in"),
    (_settings(limit=0), "settings.limit is not a positive integer"),
    (_settings(test_limit=-3), "settings.test_limit is not a positive integer"),
    (_zero_state, "all-zero generator state"),
    (_nan_param, "parameter 0 is nan"),
    (_history(correct=5), "correct 5 > total 4"),
    (_history(correct=-1), "lacks an integer correct"),
])
def test_forged_checkpoint_fields_are_refused(change, message):
    data = forge_doc(change)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.loads(data, source="ck")


def test_checkpoint_reader_reads_only_what_the_header_declares(tmp_path):
    net = pybp.Network([2, 3, 2], seed=1, backend="python")
    data = checkpoint.dumps(SETTINGS, 1, _state(), net.params, HISTORY)
    path = tmp_path / "big.ck"
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(3 * 2 ** 30)  # 3 GB, sparse: costs no disk
    with pytest.raises(CheckpointError, match="unexpected bytes after the end"):
        _limited(checkpoint.load, path)
    path.write_bytes(b"x" * 50)
    with pytest.raises(CheckpointError, match="not a pybp checkpoint"):
        checkpoint.load(path)


# --- model files -------------------------------------------------------------


def _limited(fn, *args):
    """fn(*args) where reading a whole 3 GB file would be noticed: read()
    of more than 64 MB at once fails the test."""
    real = files.Reader.read

    def read(self, n):
        assert 0 <= n <= 64 << 20, "a read of %d bytes" % n
        return real(self, n)
    files.Reader.read = read
    try:
        return fn(*args)
    finally:
        files.Reader.read = real


def test_model_reader_refuses_a_huge_file_from_its_header(tmp_path):
    net = pybp.Network([2, 3, 2], seed=1, backend="python")
    good = tmp_path / "m.pybp"
    net.save(good)
    big = tmp_path / "big.pybp"
    with open(big, "wb") as f:
        f.write(good.read_bytes())
        f.truncate(3 * 2 ** 30)
    with pytest.raises(ModelFormatError, match="unexpected bytes after the end"):
        _limited(model.load_file, big)
    junk = tmp_path / "junk.pybp"
    with open(junk, "wb") as f:
        f.truncate(3 * 2 ** 30)  # 3 GB of zeros
    with pytest.raises(ModelFormatError, match="not a pybp model file"):
        _limited(model.load_file, junk)
    assert bytes(_limited(pybp.load, good).params) == bytes(net.params)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_show_dev_zero_is_refused_at_once(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pybp", "show", "/dev/zero"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "not a pybp model file" in proc.stderr


# --- saving ------------------------------------------------------------------


def _net():
    return pybp.Network([2, 3, 2], seed=1, backend="python")


@pytest.mark.parametrize("length", [200, 241, 242, 250, 255])
def test_long_file_names_can_be_saved(tmp_path, length):
    path = tmp_path / ("m" * (length - 5) + ".pybp")
    assert len(path.name) == length
    files.check_writable(path)
    _net().save(path)
    assert bytes(pybp.load(path).params) == bytes(_net().params)
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left


def test_a_name_beyond_the_limit_is_refused_naming_it(tmp_path):
    path = tmp_path / ("m" * 300)
    with pytest.raises(OSError, match="name too long") as e:
        files.check_writable(path)
    assert e.value.filename == str(path)
    with pytest.raises(OSError, match="name too long"):
        _net().save(path)


def test_check_writable_sees_what_a_save_would_meet(tmp_path):
    with pytest.raises(IsADirectoryError):
        files.check_writable(tmp_path)
    with pytest.raises(FileNotFoundError):
        files.check_writable(tmp_path / "no" / "m.pybp")
    files.check_writable(tmp_path / "new.pybp")
    assert not (tmp_path / "new.pybp").exists()  # checking writes nothing


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_save_writes_through_a_symbolic_link(tmp_path):
    target = tmp_path / "v1.pybp"
    _net().save(target)
    link = tmp_path / "current.pybp"
    link.symlink_to(target.name)
    net = _net()
    net.params[0] = 42.0
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == target.name
    assert pybp.load(target).params[0] == 42.0
    assert sorted(os.listdir(tmp_path)) == ["current.pybp", "v1.pybp"]
    # a dangling link: the file is created where it points
    dangling = tmp_path / "next.pybp"
    dangling.symlink_to("v2.pybp")
    net.save(dangling)
    assert dangling.is_symlink() and pybp.load(tmp_path / "v2.pybp").params[0] == 42.0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_save_to_a_pipe_writes_into_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    net = _net()
    net.save(fifo)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a pipe
    assert model.loads(got[0])[3].tobytes() == bytes(net.params)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_save_to_a_device_leaves_the_device():
    before = os.stat("/dev/null")
    files.save_file("/dev/null", b"abc")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_write_errors_name_the_file(tmp_path, monkeypatch):
    path = tmp_path / "m.pybp"

    def full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OSError) as e:
        _net().save(path)
    assert e.value.errno == 28 and e.value.filename == str(path)
    assert os.listdir(tmp_path) == []
