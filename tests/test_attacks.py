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

from helpers import _pybp_command, pybp_popen, pybp_subprocess

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
    proc = pybp_subprocess(["train", "--resume", path])
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
    proc = pybp_subprocess(["show", "/dev/zero"])
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


# --- datasets and networks ------------------------------------------------------


def test_a_dataset_is_read_only():
    ds = pybp.Dataset([[0.1, 0.2, 0.3]] * 4, labels=[0, 1, 0, 1])
    for name, value in [("count", 10 ** 8), ("count", 5), ("n_inputs", 1),
                        ("labels", array("i", [0])), ("x", None), ("divisor", 1.0)]:
        with pytest.raises(AttributeError, match="read-only"):
            setattr(ds, name, value)
    assert ds.count == 4
    assert ds.subset(2).count == 2 and ds.inputs_as("float32").count == 4
    with pytest.raises(AttributeError):
        ds.subset(2).count = 4


@pytest.mark.parametrize("backend", ["python", "c"])
def test_the_c_wrapper_checks_buffers_against_count(backend):
    if backend not in pybp.available_backends():
        pytest.skip("no C backend")
    from pybp.dataset import Dataset
    net = pybp.Network([3, 2], seed=0, backend=backend)
    ds = Dataset([[0.1, 0.2, 0.3]] * 4)
    forged = object.__new__(Dataset)  # past the read-only guard, on purpose
    for name in Dataset.__slots__[:-1]:
        object.__setattr__(forged, name, getattr(ds, name))
    object.__setattr__(forged, "count", 10 ** 8)
    if backend == "c":
        with pytest.raises(ValueError, match="fewer than 100000000 examples"):
            net.kernels.forward_outputs(net.spec, net.params, forged)


@pytest.mark.parametrize("labels, exc, words", [
    ([True, False], TypeError, "booleans are not class indices"),
    ("ab", TypeError, "expected integers"),
    (array("d", [0.0, 1.0]), TypeError, "a buffer of integers"),
])
def test_bad_labels(labels, exc, words):
    with pytest.raises(exc, match=words):
        pybp.Dataset([[0.5], [0.25]], labels=labels)


def test_labels_from_bytes_are_one_class_per_byte():
    ds = pybp.Dataset([[0.5]] * 4, labels=b"\x01\x02\x00\x09")
    assert list(ds.labels) == [1, 2, 0, 9]
    ds = pybp.Dataset([[0.5]] * 2, labels=array("q", [3, 4]))
    assert list(ds.labels) == [3, 4]


def test_a_divisor_that_overflows_is_refused():
    with pytest.raises(ValueError, match="divisor 1e-308 is too small"):
        pybp.Dataset(bytes(6), n_inputs=3, divisor=1e-308)
    assert pybp.Dataset(bytes(6), n_inputs=3, divisor=255.0).count == 2


def test_float32_refuses_inputs_beyond_its_range(c_backend):
    net = pybp.Network([2, 1], seed=0, dtype="float32")
    with pytest.raises(ValueError, match="beyond float32's range"):
        net.feedforward([1e300, 1.0])
    with pytest.raises(ValueError, match="example 1"):
        net.outputs([[0.0, 1.0], [1.0, -1e39]])
    with pytest.raises(ValueError, match="beyond float32's range"):
        net.params = [1e39] * len(net.params)
    big = pybp.Network.from_params([1, 1], "identity", "quadratic", [1e300, 0.0])
    with pytest.raises(ValueError, match="parameter 0 is 1e\\+300, beyond float32"):
        big.copy(dtype="float32")


@pytest.mark.parametrize("backend", ["python", "c"])
def test_update_mini_batch_that_diverges_raises(backend):
    if backend not in pybp.available_backends():
        pytest.skip("no C backend")
    net = pybp.Network.from_params([2, 1], "sigmoid", "quadratic", [0.5, -0.25, 1.0],
                                   backend=backend)
    before = bytes(net.params)
    with pytest.raises(pybp.DivergenceError, match="in update_mini_batch") as e:
        net.update_mini_batch([[1.0, 2.0]], [[0.0]], eta=1e300, lmbda=1e300)
    assert e.value.epoch is None and e.value.eta == 1e300
    assert bytes(net.params) == before


@pytest.mark.parametrize("backend", ["python", "c"])
def test_an_interrupted_epoch_leaves_the_network_as_it_was(backend):
    if backend not in pybp.available_backends():
        pytest.skip("no C backend")
    rng = random.Random(3)
    xs = [[rng.random() for _ in range(4)] for _ in range(200)]
    ys = [rng.randrange(3) for _ in range(200)]
    data = pybp.Dataset(xs, labels=ys)
    net = pybp.Network([4, 5, 3], seed=2, backend=backend)
    whole = net.copy()
    whole.sgd(data, 1, 10, 0.5)

    def stop(done, count):
        if done > count // 2:
            raise KeyboardInterrupt
    before, state = bytes(net.params), net.shuffle_state
    for how in (stop, lambda done, count: 1 / 0):
        with pytest.raises((KeyboardInterrupt, ZeroDivisionError)):
            net.sgd(data, 1, 10, 0.5, progress=how)
        assert bytes(net.params) == before and net.shuffle_state == state
        assert net.epochs_trained == 0
    net.sgd(data, 1, 10, 0.5)  # the retry gives the uninterrupted bits
    assert bytes(net.params) == bytes(whole.params)


def test_inputs_changed_after_the_dataset_was_made_are_named():
    np = pytest.importorskip("numpy")
    xs = np.full((20, 2), 0.5)
    ds = pybp.Dataset(xs.reshape(-1), labels=[0, 1] * 10, n_inputs=2)
    xs[7, 1] = np.nan
    net = pybp.Network([2, 2], seed=0)
    with pytest.raises(ValueError, match="example 7 holds a value that is not finite"):
        net.sgd(ds, 1, 5, 0.5)


X, LABEL = [0.5, 0.5], [1]


@pytest.mark.parametrize("backend", ["python", "c"])
def test_no_result_from_non_finite_parameters(backend):
    if backend not in pybp.available_backends():
        pytest.skip("no C backend")
    for act in ("sigmoid", "relu"):
        net = pybp.Network([2, 3, 2], act, seed=0, backend=backend)
        net.params[0] = float("nan")
        for call in (lambda n: n.feedforward(X), lambda n: n.evaluate(([X], LABEL)),
                     lambda n: n.cost([X], LABEL), lambda n: n.gradient([X], LABEL),
                     lambda n: n.sgd(([X], LABEL), 1, 1, 0.5)):
            with pytest.raises(ValueError, match="NaN or infinite"):
                call(net)


def test_concurrent_training_of_one_network_is_refused():
    rng = random.Random(1)
    xs = [[rng.random() for _ in range(20)] for _ in range(3000)]
    data = pybp.Dataset(xs, labels=[rng.randrange(4) for _ in xs])
    net = pybp.Network([20, 30, 4], seed=0)
    started, errors = threading.Event(), []

    def slow(done, count):
        started.set()
        release.wait(30)
    release = threading.Event()
    trainer = threading.Thread(target=lambda: net.sgd(data, 1, 10, 0.5, progress=slow))
    trainer.start()
    started.wait(30)
    for call in (lambda: net.sgd(data, 1, 10, 0.5), lambda: net.feedforward([0.0] * 20),
                 lambda: net.update_mini_batch(xs[:2], [0, 1], eta=0.1)):
        try:
            call()
        except RuntimeError as exc:
            errors.append(str(exc))
    release.set()
    trainer.join(60)
    assert len(errors) == 3 and all("in use by another thread" in e for e in errors)
    assert net.epochs_trained == 1
    # reads from several threads at once are fine
    outs = []
    readers = [threading.Thread(target=lambda: outs.append(net.feedforward([0.5] * 20)))
               for _ in range(4)]
    [t.start() for t in readers]
    [t.join() for t in readers]
    assert len(outs) == 4 and all(o == outs[0] for o in outs)


def test_gradcheck_floor_must_be_positive():
    net = pybp.Network([2, 2], seed=0)
    for floor in (0.0, -1.0, float("nan"), "1"):
        with pytest.raises(ValueError, match="floor must be a finite number > 0"):
            pybp.gradcheck(net, [[0.5, 0.5]], [1], floor=floor)


def test_summary_norms_do_not_overflow_below_the_float64_range():
    from pybp.summary import summary
    net = pybp.Network.from_params([2, 1], "identity", "quadratic", [1e200, 1e200, 1e154])
    layer = summary(net)["layers"][0]
    assert layer["weight_norm"] == pytest.approx(1e200 * 2 ** 0.5, rel=1e-15)
    assert layer["bias_norm"] == 1e154
    huge = pybp.Network.from_params([2, 1], "identity", "quadratic",
                                    [1.7e308, 1.7e308, 0.0])
    assert summary(huge)["layers"][0]["weight_norm"] == float("inf")  # really beyond


def test_diagnose_a_float32_network_on_float_inputs(c_backend, tmp_path):
    rng = random.Random(5)
    xs = [[rng.random() for _ in range(3)] for _ in range(40)]
    data = pybp.Dataset(xs, labels=[rng.randrange(2) for _ in xs])
    f32 = pybp.Network([3, 4, 2], seed=1, dtype="float32")
    f64 = f32.copy(dtype="float64")
    # the float32 network sees its inputs rounded to float32
    rounded = data.inputs_as("float32")
    assert [r.mean_abs_delta for r in f32.diagnose(data)] == \
        [r.mean_abs_delta for r in f64.diagnose(rounded)]


# --- the command line ------------------------------------------------------------


def pybp_cmd(args, env=None):
    """`python -m pybp ARGS` against the pybp under test, with `env` added to
    the environment: (status, stdout, stderr)."""
    argv, cwd, full = _pybp_command(args)
    full.update(env or {})
    proc = subprocess.run(argv, capture_output=True, text=True, env=full, cwd=cwd,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def one_error_line(stderr, fragment):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("pybp: error: ") and fragment in lines[0], stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("env, fragment", [
    ({"PYBP_THREADS": "abc"}, "PYBP_THREADS: threads must be an integer"),
    ({"PYBP_BACKEND": "foo"}, "PYBP_BACKEND='foo' is not one of"),
    ({"PYBP_ISA": "avx9"}, "PYBP_ISA: unknown instruction set 'avx9'"),
])
def test_bad_settings_are_one_line_on_every_command(env, fragment, tmp_path):
    if "PYBP_BACKEND" not in env and "c" not in pybp.available_backends():
        pytest.skip("PYBP_ISA and PYBP_THREADS are read by the C backend")
    for args in (["--version"], ["info"], ["train", "--epochs", "1"]):
        status, out, err = pybp_cmd(args, env=env)
        assert status == 1 and out == ""
        one_error_line(err, fragment)
    # a program importing pybp gets an ImportError saying the same
    _, cwd, full = _pybp_command([])
    proc = subprocess.run([sys.executable, "-c", "import pybp"], capture_output=True,
                          text=True, env=dict(full, **env), cwd=cwd)
    assert proc.returncode == 1 and "ImportError: " + fragment.split("'")[0] in proc.stderr


def _csv(path, rows):
    path.write_text("".join(",".join(str(v) for v in row) + "\n" for row in rows))
    return path


@pytest.fixture
def csv_files(tmp_path):
    rng = random.Random(4)
    rows = [[round(rng.random(), 3), round(rng.random(), 3), rng.randrange(2)]
            for _ in range(30)]
    return _csv(tmp_path / "train.csv", rows), _csv(tmp_path / "test.csv", rows[:10])


@pytest.mark.parametrize("outputs, fragment", [
    (["--checkpoint", "{train}"], "--checkpoint {train} is the --csv-train file"),
    (["--save", "{test}"], "--save {test} is the --csv-test file"),
    (["--save", "{d}/x", "--checkpoint", "{d}/x"], "--save and --checkpoint both name"),
    (["--plot", "{d}/x", "--save", "{d}/x"], "--save and --plot both name"),
    (["--save", "{d}/" + "m" * 300], "file name too long"),
    (["--threads", "100000"], "--threads: must be at most 64"),
])
def test_outputs_are_checked_before_training(csv_files, tmp_path, outputs, fragment):
    train, test = csv_files
    fill = {"train": train, "test": test, "d": tmp_path}
    before = train.read_bytes(), test.read_bytes()
    args = ["train", "--csv-train", train, "--csv-test", test, "--epochs", "1"]
    args += [o.format(**fill) for o in outputs]
    status, out, err = pybp_cmd(args)
    assert status == 2 and out == ""
    one_error_line(err, fragment.format(**fill))
    assert (train.read_bytes(), test.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv", "train.csv"]


def test_resume_may_go_on_in_its_own_checkpoint(csv_files, tmp_path):
    train, test = csv_files
    ck = tmp_path / "run.ck"
    common = ["train", "--csv-train", train, "--csv-test", test, "--quiet"]
    assert pybp_cmd(common + ["--epochs", "1", "--checkpoint", ck])[0] == 0
    status, out, err = pybp_cmd(common + ["--epochs", "2", "--resume", ck,
                                          "--checkpoint", ck])
    assert status == 0, err
    assert checkpoint.load(ck).epoch == 2


def test_float32_with_the_python_backend_is_a_usage_error(csv_files):
    train, test = csv_files
    status, _, err = pybp_cmd(["train", "--csv-train", train, "--csv-test", test,
                               "--dtype", "float32", "--backend", "python"])
    assert status == 2
    one_error_line(err, "--dtype float32 runs on the C backend only")


def test_labels_from_data_cannot_build_a_huge_network(tmp_path):
    rows = [[0.5, 0.25, 10000000], [0.25, 0.5, 0]]
    train = _csv(tmp_path / "t.csv", rows)
    status, _, err = pybp_cmd(["train", "--csv-train", train, "--csv-test", train])
    assert status == 2
    one_error_line(err, "the labels go up to 10000000")


def test_show_png_scale_that_overflows_is_one_line(tmp_path):
    model_path = tmp_path / "m.pybp"
    pybp.Network([784, 4, 10], seed=0, backend="python").save(model_path)
    status, _, err = pybp_cmd(["show", model_path, "--png", tmp_path / "w.png",
                               "--scale", "100000000000"])
    assert status == 1
    one_error_line(err, "choose a smaller scale")
    assert not (tmp_path / "w.png").exists()
    status, _, err = pybp_cmd(["show", model_path, "--png", model_path])
    assert status == 2
    one_error_line(err, "is the MODEL file")


def test_json_output_is_strict(tmp_path):
    model_path = tmp_path / "big.pybp"
    pybp.Network.from_params([2, 1], "identity", "quadratic",
                             [1.7e308, 1.7e308, 1.0]).save(model_path)
    status, out, _ = pybp_cmd(["show", model_path, "--json"])
    assert status == 0

    def refuse(name):
        raise AssertionError("not strict JSON: %s" % name)
    facts = json.loads(out, parse_constant=refuse)
    assert facts["layers"][0]["weight_norm"] is None  # beyond the float64 range
    assert facts["layers"][0]["weight_max_abs"] == 1.7e308


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_stops_a_long_epoch_soon_and_names_it(c_backend, tmp_path):
    mnist = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "data", "mnist")
    if not os.path.exists(os.path.join(mnist, "train-images-idx3-ubyte.gz")):
        pytest.skip("MNIST not found in data/mnist")
    import signal
    import time
    ck = tmp_path / "k.ck"
    # An epoch of a few seconds, no progress bar (the output is a pipe).
    proc = pybp_popen(["train", "--data", mnist, "--sizes", "784,200,10", "--epochs", "20",
                       "--json", "--test-limit", "100", "--checkpoint", ck])
    try:
        first = json.loads(proc.stdout.readline())
        assert first["epoch"] == 1
        time.sleep(first["seconds"] / 4)  # well inside epoch 2
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        waited = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert "interrupted in epoch 2 (%s holds epoch 1)" % ck in err
    # A piece of the epoch is about 0.2 s: Ctrl-C does not wait for the end.
    assert waited < first["seconds"] / 2, (waited, first["seconds"])
    assert checkpoint.load(ck).epoch == 1


def test_a_header_that_declares_terabytes_costs_nothing(tmp_path):
    """A small file whose header declares a huge length is refused as
    truncated, after reading what the file holds, not what it claims."""
    body = b'{"epoch": 1}'
    path = tmp_path / "liar.ck"
    path.write_bytes(b"pybp-checkpoint 1 %08x %d\n" % (zlib.crc32(body), 10 ** 12) + body)
    with pytest.raises(CheckpointError, match="truncated"):
        _limited(checkpoint.load, path)
    good = tmp_path / "m.pybp"
    _net().save(good)
    image = bytearray(good.read_bytes())
    image[20:24] = (2 ** 31).to_bytes(4, "little")  # n_0: P becomes huge
    liar = tmp_path / "liar.pybp"
    liar.write_bytes(bytes(image))
    with pytest.raises(ModelFormatError):
        _limited(model.load_file, liar)


# --- CSV ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, fragment", [
    ("0.1,0.2,0x1\n0.3,0.4,1\n", "label '0x1' is not an integer class index"),
    ("\ufeff\ufeff0.1,0.2,1\n0.3,0.4,0\n", "field 1: '\\ufeff0.1' is not a number"),
    ("1_0,0.5,1\n", "field 1: '1_0' is not a number"),
    ("\uff11,0.5,1\n", "is not a number"),            # a fullwidth digit one
    ("\u0661,0.5,1\n", "is not a number"),            # an Arabic-Indic one
    ("0.5,0.5,1e9\n", "label '1e9' is not an integer class index"),
    ("0.5,0.5,\u0663\n", "is not an integer class index"),
    ("0.5,0.5,-3\n", "label -3 is negative"),
])
def test_csv_reads_only_plain_numbers(tmp_path, text, fragment):
    from pybp import data
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(data.DataError, match=re_escape(fragment)):
        data.load_csv(path)


def re_escape(text):
    import re
    return re.escape(text)


def test_csv_numbers_that_are_fine(tmp_path):
    from pybp import data
    path = tmp_path / "ok.csv"
    path.write_text("x,y,label\n1,.5,3.0\n-2.5e-3,+4.,0\n", encoding="utf-8")
    ds = data.load_csv(path)
    assert list(ds.labels) == [3, 0] and list(ds.x) == [1.0, 0.5, -2.5e-3, 4.0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_AS")
def test_inference_scratch_space_is_sized_by_bytes(c_backend):
    """One wide layer: the scratch space for a chunk of examples is bounded
    in bytes, not by a fixed count of examples (it took 2.4 GB here)."""
    # The limit is what the process has mapped plus 600 MB (relative, as
    # an ASan build maps terabytes of shadow memory up front).
    code = """
import resource, sys
import pybp
from array import array
net = pybp.Network.from_params([1, 1000000, 1], "sigmoid", "quadratic",
                               array("d", [0.5]) * 3000001, backend="c")
with open("/proc/self/status") as f:
    vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + 600 * 2 ** 20, vm + 600 * 2 ** 20))
out = net.outputs([[i / 300] for i in range(300)])
assert len(out) == 300 and out[0] == out[0]
print("ok")
"""
    _, cwd, env = _pybp_command([])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
