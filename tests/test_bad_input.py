"""Bad input, table-driven: the public Python API and the `pybp` command.

Two tables:

API  (id, call, exception, message fragment): each call gets a fresh
     [2, 3, 2] network on each backend (the `backend` fixture) and must raise
     exactly that exception type with the fragment in its message, leaving
     the network's parameters unchanged.
CLI  (id, arguments, exit status, message fragment): each command runs as
     a real `python -m pybp` subprocess and must exit with that status,
     write nothing on stdout and exactly one line on stderr,
     "pybp: error: ..." holding the fragment (no traceback).

Paths in the tables are placeholders ({model}, {dir}, ...) for the files the
`files` fixture writes: good, truncated, empty and unreadable model files,
IDX and CSV files, a checkpoint, a directory.  tests/test_errors.py and
tests/test_cli.py hold more cases of the same kind, written earlier.
"""

import gzip
import math
import os
import signal
from array import array

import pytest

import pybp
from pybp import checkpoint, data
from pybp.checkpoint import CheckpointError
from pybp.data import DataError
from pybp.model import ModelFormatError
from helpers import error_lines, idx_bytes, pybp_subprocess, run

NAN, INF = math.nan, math.inf
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# chmod 000 does not stop root (CAP_DAC_OVERRIDE) from reading a file.
needs_non_root = pytest.mark.skipif(ROOT, reason="root reads any file")

X = [[0.1, 0.2], [0.3, 0.4]]
Y = [[1.0, 0.0], [0.0, 1.0]]
PAIRS = list(zip(X, Y))


CSV_ROWS = "".join("%r,%r,%r,%d\n" % (0.1 * i, -0.2 * i, 0.05 * i, i % 3)
                   for i in range(30))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Every file the tables name, written once: name -> path (str)."""
    d = tmp_path_factory.mktemp("bad-input")
    f = {}

    def write(name, content):
        path = d / name
        path.write_bytes(content if isinstance(content, bytes)
                         else content.encode("utf-8"))
        f[name.replace(".", "_").replace("-", "_")] = str(path)
        return path

    # A [2, 3, 2] model for the API, and a trained 3-input, 3-class model
    # with its checkpoint for the command line.
    api_model = d / "api.model"
    pybp.Network([2, 3, 2], seed=0, backend="python").save(api_model)
    f["api_model"] = str(api_model)
    good_csv = write("good.csv", "f1,f2,f3,label\n" + CSV_ROWS)
    model, ck = d / "m.model", d / "run.ck"
    status, _, err = run(["train", "--csv-train", good_csv, "--csv-test",
                          good_csv, "--epochs", "1", "--sizes", "3,4,3",
                          "--save", model, "--checkpoint", ck, "--quiet"])
    assert status == 0, err
    f["model"], f["ck"] = str(model), str(ck)
    image = model.read_bytes()
    write("truncated.model", image[:len(image) // 2])
    write("header-only.model", image[:20])
    write("empty.model", b"")
    write("unreadable.model", image)
    os.chmod(f["unreadable_model"], 0)
    ck_bytes = ck.read_bytes()
    write("truncated.ck", ck_bytes[:len(ck_bytes) - 40])
    directory = d / "a-directory"
    directory.mkdir()
    f["dir"] = str(directory)
    f["missing"] = str(d / "no-such-file")
    f["missing_dir"] = str(d / "no-such-dir" / "x.model")

    # IDX: 4 examples of 3 bytes, cut short; a header of absurd sizes; a
    # gzipped file cut in the middle; a good one of the wrong width.
    write("truncated.idx", idx_bytes((4, 3), bytes(range(7))))
    write("huge.idx", idx_bytes((2 ** 31, 2 ** 31, 2 ** 31), b"\x00" * 64))
    full = gzip.compress(idx_bytes((400, 3), bytes(range(200)) * 6))
    write("truncated.idx.gz", full[:len(full) // 2])
    write("wide.idx", idx_bytes((2, 5), bytes(10)))
    write("header-cut.idx", idx_bytes((4, 3), b"")[:9])

    # CSV: cut in the middle of a row; empty; a header only; NaN and inf
    # values; labels beyond the model's classes; bytes that are not UTF-8.
    write("truncated.csv", "f1,f2,f3,label\n" + CSV_ROWS + "0.5,0.2")
    write("empty.csv", "")
    write("header-only.csv", "f1,f2,f3,label\n")
    write("nan.csv", "0.1,0.2,0.3,1\n0.1,nan,0.3,1\n")
    write("inf-features.csv", "0.1,0.2,0.3\n0.1,-inf,0.3\n")
    write("inf-label.csv", "0.1,0.2,0.3,inf\n")
    write("label7.csv", "0.1,0.2,0.3,7\n0.4,0.5,0.6,1\n")
    write("binary.csv", b"0.1,0.2,0.3,1\n\xff\xfe\x00\x81,1\n")
    write("unreadable.csv", "0.1,0.2,0.3,1\n")
    os.chmod(f["unreadable_csv"], 0)

    # An MNIST directory whose training images stop after the header.
    mnist = d / "mnist-cut"
    mnist.mkdir()
    for name, dims in (("train-images-idx3-ubyte", (60000, 28, 28)),
                       ("train-labels-idx1-ubyte", (60000,)),
                       ("t10k-images-idx3-ubyte", (10000, 28, 28)),
                       ("t10k-labels-idx1-ubyte", (10000,))):
        (mnist / name).write_bytes(idx_bytes(dims, b"\x00" * 100))
    f["mnist_cut"] = str(mnist)
    yield f
    for name in ("unreadable_model", "unreadable_csv"):
        os.chmod(f[name], 0o600)


class Ctx:
    """What an API case gets: the backend, a fresh network, the files."""

    def __init__(self, backend, files):
        self.backend = backend
        self.net = pybp.Network([2, 3, 2], seed=0, backend=backend)
        self.f = files

    def network(self, sizes, **kw):
        kw.setdefault("seed", 0)
        return pybp.Network(sizes, backend=self.backend, **kw)

    def dataset(self):
        return pybp.Dataset(X, Y)


def u8(n):
    return bytes(range(n))


# --- the API table -------------------------------------------------------------
# (id, call, exception type (exact), fragment of the message[, marks])

API = [
    # construction: types, sizes, layer and cost combinations, memory
    ("Network sizes None", lambda c: c.network(None),
     TypeError, "sizes must be a sequence of integers"),
    ("Network size a string", lambda c: c.network([784, "30", 10]),
     TypeError, "layer size 1 must be an integer"),
    ("Network input size 0", lambda c: c.network([0, 2]),
     ValueError, "layer size 0 must be at least 1"),
    ("Network size negative", lambda c: c.network([2, 3, -1]),
     ValueError, "layer size 2 must be at least 1"),
    ("Network params product over memory", lambda c: c.network([2 ** 20, 2 ** 20]),
     MemoryError, "more than this machine can allocate"),
    ("Network params product over 64 bits", lambda c: c.network([3, 2 ** 64]),
     MemoryError, "too many for this machine"),
    ("Network size over 64 bits, deep", lambda c: c.network([2 ** 70, 1, 1]),
     MemoryError, "too many for this machine"),
    ("Network softmax on first of 3 layers",
     lambda c: c.network([3, 4, 4, 2], activation=["softmax", "relu", "softmax"],
                         cost="log-likelihood"),
     ValueError, "softmax is only allowed on the output layer, not layer 1 of 3"),
    ("Network log-likelihood on tanh outputs",
     lambda c: c.network([3, 4, 2], activation=["relu", "tanh"],
                         cost="log-likelihood"),
     ValueError, "log-likelihood cost needs softmax outputs"),
    ("Network softmax with cross-entropy",
     lambda c: c.network([3, 2], activation="softmax", cost="cross-entropy"),
     ValueError, "cross-entropy cost needs sigmoid outputs"),
    ("Network activation None", lambda c: c.network([3, 2], activation=None),
     TypeError, "activation must be a name or a list"),
    ("Network cost None", lambda c: c.network([3, 2], cost=None),
     TypeError, "cost must be a string"),
    ("Network threads 0", lambda c: c.network([3, 2], threads=0),
     ValueError, "threads must be in 1 .. 64"),
    ("Network threads a string", lambda c: c.network([3, 2], threads="2"),
     TypeError, "threads must be an integer"),
    ("Network seed a float", lambda c: c.network([3, 2], seed=1.5),
     TypeError, "seed must be an integer"),

    # one example: wrong types, lengths, NaN/inf, labels
    ("feedforward None", lambda c: c.net.feedforward(None),
     TypeError, "input x must be a sequence of numbers"),
    ("feedforward empty", lambda c: c.net.feedforward([]),
     ValueError, "input x has 0 values, expected 2"),
    ("feedforward too long", lambda c: c.net.feedforward([0.1, 0.2, 0.3]),
     ValueError, "input x has 3 values, expected 2"),
    ("feedforward -inf", lambda c: c.net.feedforward([-INF, 0.0]),
     ValueError, "not finite"),
    ("backprop label -1", lambda c: c.net.backprop([0.1, 0.2], -1),
     ValueError, "label -1 is out of range for 2 outputs"),
    ("backprop target NaN", lambda c: c.net.backprop([0.1, 0.2], [NAN, 0.0]),
     ValueError, "target y holds a value that is not finite"),
    ("backprop target a bool", lambda c: c.net.backprop([0.1, 0.2], True),
     TypeError, "target y must be a sequence of numbers"),

    # many examples: empty, ragged, NaN/inf, labels out of range
    ("outputs of no rows", lambda c: c.net.outputs([]),
     ValueError, "inputs: no examples"),
    ("outputs of wrong width", lambda c: c.net.outputs([[0.1, 0.2, 0.3]]),
     ValueError, "inputs have 3 values, the network takes 2"),
    ("predict of a string", lambda c: c.net.predict("abc"),
     TypeError, "expected rows of numbers"),
    ("cost with a NaN target", lambda c: c.net.cost(X, [[NAN, 0.0], [0.0, 1.0]]),
     ValueError, "targets: value 0 is nan (not finite)"),
    ("cost with a label over 32 bits", lambda c: c.net.cost(X, [0, 2 ** 31]),
     ValueError, "labels: a label is out of range"),
    ("gradient with bools for targets", lambda c: c.net.gradient(X, [True, False]),
     TypeError, "targets: row 0 is not a sequence of numbers"),
    ("evaluate without targets", lambda c: c.net.evaluate(pybp.Dataset(X)),
     ValueError, "test_data: no targets or labels"),
    ("evaluate label 5 of 2 classes",
     lambda c: c.net.evaluate(pybp.Dataset(X, labels=[0, 5])),
     ValueError, "label 5 is out of range for 2 outputs"),

    # training settings: eta, lmbda, n, epochs, absurd batch sizes
    ("update_mini_batch eta -inf",
     lambda c: c.net.update_mini_batch(X, Y, eta=-INF),
     ValueError, "eta must be finite"),
    ("update_mini_batch lmbda inf",
     lambda c: c.net.update_mini_batch(X, Y, eta=1.0, lmbda=INF),
     ValueError, "lmbda must be finite"),
    ("update_mini_batch n 2**70",
     lambda c: c.net.update_mini_batch(X, Y, eta=1.0, lmbda=0.1, n=2 ** 70),
     ValueError, "n must be at most"),
    ("update_mini_batch n a float",
     lambda c: c.net.update_mini_batch(X, Y, eta=1.0, n=2.5),
     TypeError, "n must be an integer"),
    ("sgd on no examples", lambda c: c.net.sgd([], 1, 1, 1.0),
     ValueError, "training_data: no examples"),
    ("sgd NaN input", lambda c: c.net.sgd([([0.1, NAN], [1.0, 0.0])], 1, 1, 1.0),
     ValueError, "inputs: value 1 is nan (not finite)"),
    ("sgd inf target", lambda c: c.net.sgd([([0.1, 0.2], [INF, 0.0])], 1, 1, 1.0),
     ValueError, "targets: value 0 is inf (not finite)"),
    ("sgd test_data of wrong width",
     lambda c: c.net.sgd(PAIRS, 1, 1, 1.0, test_data=[([0.1], [1.0, 0.0])]),
     ValueError, "test_data: inputs have 1 values, the network takes 2"),
    ("sgd epochs a float", lambda c: c.net.sgd(PAIRS, 1.0, 1, 1.0),
     TypeError, "epochs must be an integer"),
    ("sgd mini-batch -2**60", lambda c: c.net.sgd(PAIRS, 1, -2 ** 60, 1.0),
     ValueError, "mini_batch_size must be at least 1"),
    ("sgd mini-batch 1e18 (a float)", lambda c: c.net.sgd(PAIRS, 1, 1e18, 1.0),
     TypeError, "mini_batch_size must be an integer"),
    ("sgd eta inf", lambda c: c.net.sgd(PAIRS, 1, 1, INF),
     ValueError, "eta must be finite"),
    ("sgd lmbda -inf", lambda c: c.net.sgd(PAIRS, 1, 1, 1.0, -INF),
     ValueError, "lmbda must be finite"),
    ("train_epoch mini-batch 0", lambda c: c.net.train_epoch(c.dataset(), 0, 1.0),
     ValueError, "mini_batch_size must be at least 1"),
    ("train_epoch eta NaN", lambda c: c.net.train_epoch(c.dataset(), 1, NAN),
     ValueError, "eta must be finite"),
    ("train_epoch of an int", lambda c: c.net.train_epoch(42, 1, 1.0),
     TypeError, "training_data: expected a Dataset"),
    ("params inf", lambda c: setattr(c.net, "params", [INF] * 17),
     ValueError, "every parameter must be finite"),
    ("params too many", lambda c: setattr(c.net, "params", [0.0] * 18),
     ValueError, "expected 17 values"),

    # Dataset
    ("Dataset of no bytes", lambda c: pybp.Dataset(b"", n_inputs=2, divisor=255.0),
     ValueError, "inputs: no examples"),
    ("Dataset n_inputs 0", lambda c: pybp.Dataset(array("d", [1.0]), n_inputs=0),
     ValueError, "need at least one value per example"),
    ("Dataset n_inputs negative",
     lambda c: pybp.Dataset(array("d", [1.0, 2.0]), n_inputs=-2),
     ValueError, "need at least one value per example"),
    ("Dataset divisor NaN", lambda c: pybp.Dataset(u8(4), n_inputs=2, divisor=NAN),
     ValueError, "divisor must be a finite number > 0"),
    ("Dataset divisor inf", lambda c: pybp.Dataset(u8(4), n_inputs=2, divisor=INF),
     ValueError, "divisor must be a finite number > 0"),
    ("Dataset inf input in a buffer",
     lambda c: pybp.Dataset(array("d", [1.0, INF]), n_inputs=2),
     ValueError, "inputs: value 1 is inf"),
    ("Dataset targets of wrong length",
     lambda c: pybp.Dataset([[1.0], [2.0]], array("d", [1.0, 2.0, 3.0])),
     ValueError, "targets: 3 values for 2 examples"),
    ("Dataset label 2**40", lambda c: pybp.Dataset([[1.0]], labels=[2 ** 40]),
     ValueError, "labels: a label is out of range"),
    ("Dataset of a string", lambda c: pybp.Dataset("abc"),
     TypeError, "inputs: expected rows of numbers"),

    # model files
    ("load a directory", lambda c: pybp.load(c.f["dir"], backend=c.backend),
     IsADirectoryError, "is a directory, not a pybp model file"),
    ("load a missing file", lambda c: pybp.load(c.f["missing"], backend=c.backend),
     FileNotFoundError, "No such file"),
    ("load a truncated model",
     lambda c: pybp.load(c.f["truncated_model"], backend=c.backend),
     ModelFormatError, "truncated: header says"),
    ("load a model cut in its header",
     lambda c: pybp.load(c.f["header_only_model"], backend=c.backend),
     ModelFormatError, "truncated: 20 bytes"),
    ("load an empty model", lambda c: pybp.load(c.f["empty_model"], backend=c.backend),
     ModelFormatError, "empty file"),
    ("load an unreadable model",
     lambda c: pybp.load(c.f["unreadable_model"], backend=c.backend),
     PermissionError, "Permission denied", needs_non_root),
    ("load with an unknown backend",
     lambda c: pybp.load(c.f["api_model"], backend="gpu"),
     ValueError, "backend must be 'c', 'python' or None"),
    ("save into a directory", lambda c: c.net.save(c.f["dir"]),
     IsADirectoryError, "is a directory, not a file to save a model to"),
    ("save into a missing directory", lambda c: c.net.save(c.f["missing_dir"]),
     FileNotFoundError, "no such directory to save a model in"),
    ("checkpoint truncated", lambda c: checkpoint.load(c.f["truncated_ck"]),
     CheckpointError, "truncated: the header promises"),
    ("checkpoint is a model", lambda c: checkpoint.load(c.f["api_model"]),
     CheckpointError, "not a pybp checkpoint"),

    # IDX files
    ("IDX truncated data", lambda c: data.read_idx(c.f["truncated_idx"]),
     DataError, "truncated: header says 4x3 = 12 bytes of data, file has 7"),
    ("IDX truncated header", lambda c: data.read_idx(c.f["header_cut_idx"]),
     DataError, "truncated header: 2 dimensions need 8 bytes"),
    ("IDX sizes overflow", lambda c: data.read_idx(c.f["huge_idx"]),
     DataError, "implausibly large"),
    ("IDX gzip cut short", lambda c: data.read_idx(c.f["truncated_idx_gz"]),
     DataError, "corrupt gzip data"),
    ("IDX a directory", lambda c: data.read_idx(c.f["dir"]),
     IsADirectoryError, "is a directory, expected an IDX file"),
    ("MNIST images cut short", lambda c: data.load_mnist(c.f["mnist_cut"]),
     DataError, "truncated: header says 60000x28x28"),

    # CSV files
    ("CSV cut in a row", lambda c: data.load_csv(c.f["truncated_csv"]),
     DataError, "line 32: expected 4 fields, found 2"),
    ("CSV empty", lambda c: data.load_csv(c.f["empty_csv"]),
     DataError, "no data rows"),
    ("CSV header only", lambda c: data.load_csv(c.f["header_only_csv"]),
     DataError, "no data rows after the header row"),
    ("CSV NaN feature", lambda c: data.load_csv(c.f["nan_csv"]),
     DataError, "line 2, field 2: 'nan' is not a finite number"),
    ("CSV inf label", lambda c: data.load_csv(c.f["inf_label_csv"]),
     DataError, "label 'inf' is not an integer class index"),
    ("CSV label out of range", lambda c: data.load_csv(c.f["label7_csv"], n_classes=3),
     DataError, "label 7 is not below the number of classes, 3"),
    ("CSV not UTF-8", lambda c: data.load_csv(c.f["binary_csv"]),
     DataError, "line 2: not UTF-8 text (byte 0xff: invalid start byte)"),
    ("CSV a directory", lambda c: data.read_csv_inputs(c.f["dir"]),
     IsADirectoryError, "is a directory, expected a CSV file"),
    ("CSV unreadable", lambda c: data.load_csv(c.f["unreadable_csv"]),
     PermissionError, "Permission denied", needs_non_root),
]


def _params(table):
    out = []
    for row in table:
        name, rest, marks = row[0], row[1:4], row[4:]
        out.append(pytest.param(*rest, id=name, marks=list(marks)))
    return out


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang("the call ran for %d s instead of refusing its input" % LIMIT)


LIMIT = 60  # seconds; every case takes milliseconds when it works


@pytest.mark.parametrize("call, exc, fragment", _params(API))
def test_api(backend, files, call, exc, fragment):
    ctx = Ctx(backend, files)
    before = bytes(ctx.net.params)
    alarm = hasattr(signal, "SIGALRM")
    if alarm:  # a case that hangs (e.g. a network too large) fails instead
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(LIMIT)
    try:
        with pytest.raises(BaseException) as info:
            call(ctx)
    finally:
        if alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    assert type(info.value) is exc, repr(info.value)
    assert fragment in str(info.value)
    assert bytes(ctx.net.params) == before


# --- the CLI table ---------------------------------------------------------------
# (id, arguments, exit status, fragment of the error line[, marks]).
# 2: a usage error (bad options), 1: a runtime error (files, data, memory).

CSV = ["--csv-train", "{good_csv}", "--csv-test", "{good_csv}"]
QUICK = ["--epochs", "1"]

CLI = [
    ("train mini-batch 0", ["train", "--mini-batch-size", "0"] + CSV,
     2, "--mini-batch-size: must be at least 1"),
    ("train mini-batch -2**60", ["train", "--mini-batch-size", str(-2 ** 60)] + CSV,
     2, "--mini-batch-size: must be at least 1"),
    ("train epochs -1", ["train", "--epochs", "-1"] + CSV,
     2, "--epochs: must be at least 1"),
    ("train eta inf", ["train", "--eta", "inf"] + CSV,
     2, "--eta: must be a finite number"),
    ("train lmbda nan", ["train", "--lmbda", "nan"] + CSV,
     2, "--lmbda: must be a finite number"),
    ("train threads 0", ["train", "--threads", "0"] + CSV,
     2, "--threads: must be at least 1"),
    ("train threads 1000", ["train", "--threads", "1000"] + CSV,
     1, "threads must be in 1 .. 64"),
    ("train sizes past memory",
     ["train", "--sizes", "3,1048576,1048576,3", "--save", "{dir}/big.model"] + CSV,
     1, "out of memory: a network of sizes [3, 1048576, 1048576, 3]"),
    ("train sizes past 64 bits",
     ["train", "--sizes", "3,%d,3" % 2 ** 64] + CSV,
     1, "out of memory: a network of sizes"),
    ("train softmax not last",
     ["train", "--sizes", "3,4,4,3", "--activation", "relu,softmax,softmax",
      "--cost", "log-likelihood"] + CSV,
     2, "softmax is only allowed on the output layer, not layer 2 of 3"),
    ("train log-likelihood on relu",
     ["train", "--activation", "relu", "--cost", "log-likelihood"] + CSV,
     2, "log-likelihood cost needs softmax outputs"),
    ("train labels beyond the outputs",
     ["train", "--csv-train", "{good_csv}", "--csv-test", "{label7_csv}",
      "--sizes", "3,5,3"],
     2, "the data has labels up to 7"),
    ("train CSV empty", ["train", "--csv-train", "{empty_csv}", "--csv-test",
                         "{good_csv}"],
     1, "no data rows"),
    ("train CSV NaN", ["train", "--csv-train", "{nan_csv}", "--csv-test",
                       "{good_csv}"],
     1, "field 2: 'nan' is not a finite number"),
    ("train CSV truncated", ["train", "--csv-train", "{truncated_csv}",
                             "--csv-test", "{good_csv}"],
     1, "expected 4 fields, found 2"),
    ("train CSV a directory", ["train", "--csv-train", "{dir}", "--csv-test",
                               "{good_csv}"],
     1, "is a directory, expected a CSV file"),
    ("train CSV unreadable", ["train", "--csv-train", "{unreadable_csv}",
                              "--csv-test", "{good_csv}"],
     1, "Permission denied", needs_non_root),
    ("train MNIST truncated", ["train", "--data", "{mnist_cut}"],
     1, "truncated: header says 60000x28x28"),
    ("train resume truncated", ["train", "--resume", "{truncated_ck}"] + CSV,
     1, "truncated: the header promises"),
    ("train save to a directory", ["train", "--save", "{dir}"] + CSV,
     2, "--save {dir}: is a directory"),
    ("evaluate truncated model", ["evaluate", "{truncated_model}", "--csv",
                                  "{good_csv}"],
     1, "truncated: header says"),
    ("evaluate empty model", ["evaluate", "{empty_model}", "--csv", "{good_csv}"],
     1, "empty file"),
    ("evaluate a directory", ["evaluate", "{dir}", "--csv", "{good_csv}"],
     1, "is a directory, not a pybp model file"),
    ("evaluate unreadable model", ["evaluate", "{unreadable_model}"],
     1, "Permission denied", needs_non_root),
    ("evaluate a file that cannot be read",
     ["evaluate", "/proc/self/mem"], 1, "/proc/self/mem: ",
     pytest.mark.skipif(not os.path.exists("/proc/self/mem"),
                        reason="Linux /proc only")),
    ("evaluate labels beyond the outputs",
     ["evaluate", "{model}", "--csv", "{label7_csv}"],
     1, "label 7 is not below the number of classes, 3"),
    ("predict truncated IDX", ["predict", "{model}", "{truncated_idx}"],
     1, "truncated: header says 4x3 = 12 bytes"),
    ("predict IDX of absurd sizes", ["predict", "{model}", "{huge_idx}"],
     1, "implausibly large"),
    ("predict gzip IDX cut short", ["predict", "{model}", "{truncated_idx_gz}"],
     1, "corrupt gzip data"),
    ("predict IDX of the wrong width", ["predict", "{model}", "{wide_idx}"],
     1, "not a list of examples of the model's 3 inputs"),
    ("predict empty CSV", ["predict", "{model}", "{empty_csv}"],
     1, "no data rows"),
    ("predict -inf feature", ["predict", "{model}", "{inf_features_csv}"],
     1, "'-inf' is not a finite number"),
    ("predict a directory", ["predict", "{model}", "{dir}"],
     1, "Is a directory"),
    ("predict with a truncated model", ["predict", "{truncated_model}",
                                        "{inf_features_csv}"],
     1, "truncated"),
    ("show a directory", ["show", "{dir}"], 1, "is a directory"),
    ("export-c a model cut in its header", ["export-c", "{header_only_model}"],
     1, "truncated: 20 bytes"),
]


@pytest.mark.parametrize("argv, status, fragment", _params(CLI))
def test_cli(files, argv, status, fragment):
    argv = [a.format(**files) for a in argv]
    fragment = fragment.format(**files)
    if argv[0] == "train":
        argv += QUICK
    outputs = [argv[i + 1] for i, a in enumerate(argv[:-1])
               if a in ("--save", "--checkpoint", "--plot")
               and not os.path.exists(argv[i + 1])]
    proc = pybp_subprocess(argv)
    assert proc.returncode == status, proc.stderr
    for path in outputs:  # a failed run writes none of its files
        assert not os.path.exists(path), path
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and lines == proc.stderr.splitlines()[-1:], proc.stderr
    assert lines[0].startswith("pybp: error: ")
    assert fragment in lines[0], lines[0]


def test_tables_are_large_enough():
    """The hardening requirement: at least 40 cases across API and CLI."""
    assert len(API) + len(CLI) >= 40
    assert len({row[0] for row in API}) == len(API)
    assert len({row[0] for row in CLI}) == len(CLI)
