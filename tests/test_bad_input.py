"""Bad input, table-driven: the public Python API and the `pybp` command.

Every case of bad input, of either interface, is a row of one of two tables:

API  (id, call, exception, message fragment): each call gets a fresh
     [2, 3, 2] network on each backend (the `backend` fixture) and must raise
     exactly that exception type with the fragment in its message, leaving
     the network's parameters unchanged; a call that hangs fails after 60 s.
CLI  (id, how, arguments, exit status, message fragment): each command must
     exit with that status, write nothing on stdout and exactly one line
     "pybp: error: ..." holding the fragment on stderr (no traceback), and
     write none of the files it names to write.  It runs in-process through
     pybp.cli.main (fast), as a real `python -m pybp` subprocess (the real
     exit status and stderr), or both, as its `how` says.

Paths in the tables are placeholders ({model}, {dir}, ...) for the files the
`files` fixture writes: good, truncated, empty and unreadable model files,
IDX and CSV files, good, truncated and corrupt checkpoints, a directory.
Adding a case is adding a row.  Errors of other kinds (divergence, a missing
C backend, damaged checkpoints and data files in detail) are tested with
what they concern.
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
    corrupt = bytearray(ck_bytes)
    corrupt[len(corrupt) // 2] ^= 0x20
    write("corrupt.ck", bytes(corrupt))
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
    # values; labels beyond the model's classes; one feature too many, with
    # and without a label; bytes that are not UTF-8.
    write("truncated.csv", "f1,f2,f3,label\n" + CSV_ROWS + "0.5,0.2")
    write("empty.csv", "")
    write("header-only.csv", "f1,f2,f3,label\n")
    write("nan.csv", "0.1,0.2,0.3,1\n0.1,nan,0.3,1\n")
    write("inf-features.csv", "0.1,0.2,0.3\n0.1,-inf,0.3\n")
    write("inf-label.csv", "0.1,0.2,0.3,inf\n")
    write("label7.csv", "0.1,0.2,0.3,7\n0.4,0.5,0.6,1\n")
    write("wide.csv", "1.0,2.0,3.0,4.0\n")
    write("wide-labelled.csv", "1.0,2.0,3.0,4.0,0\n")
    write("binary.csv", b"0.1,0.2,0.3,1\n\xff\xfe\x00\x81,1\n")
    write("unreadable.csv", "0.1,0.2,0.3,1\n")
    os.chmod(f["unreadable_csv"], 0)

    # An MNIST directory whose images stop soon after the header (the
    # labels, read first, are whole).
    mnist = d / "mnist-cut"
    mnist.mkdir()
    for name, dims in (("train-images-idx3-ubyte", (60000, 28, 28)),
                       ("train-labels-idx1-ubyte", (60000,)),
                       ("t10k-images-idx3-ubyte", (10000, 28, 28)),
                       ("t10k-labels-idx1-ubyte", (10000,))):
        body = bytes(dims[0]) if len(dims) == 1 else b"\x00" * 100
        (mnist / name).write_bytes(idx_bytes(dims, body))
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

    def build(self, **kw):
        """pybp.Network(**kw), on this backend unless kw names one."""
        kw.setdefault("backend", self.backend)
        return pybp.Network(**kw)

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
    ("Network of one layer", lambda c: c.build(sizes=[5]),
     ValueError, "at least 2 layers"),
    ("Network of no layers", lambda c: c.build(sizes=[]),
     ValueError, "at least 2 layers"),
    ("Network hidden size 0", lambda c: c.build(sizes=[3, 0, 2]),
     ValueError, "at least 1"),
    ("Network output size negative", lambda c: c.build(sizes=[3, -4]),
     ValueError, "at least 1"),
    ("Network size a float", lambda c: c.build(sizes=[3, 2.5]),
     TypeError, "integer"),
    ("Network sizes a string", lambda c: c.build(sizes="784,30,10"),
     TypeError, "sequence of integers"),
    ("Network size a bool", lambda c: c.build(sizes=[3, True]),
     TypeError, "integer"),
    ("Network of 66 layers", lambda c: c.build(sizes=[2] * 66),
     ValueError, "at most 64"),
    ("Network activation unknown",
     lambda c: c.build(sizes=[3, 2], activation="swish"),
     ValueError, "unknown activation"),
    ("Network activation a number", lambda c: c.build(sizes=[3, 2], activation=7),
     TypeError, "name or a list"),
    ("Network too few activations",
     lambda c: c.build(sizes=[3, 4, 2], activation=["sigmoid"]),
     ValueError, "need 2 activations"),
    ("Network softmax on the hidden layer",
     lambda c: c.build(sizes=[3, 4, 2], activation=["softmax", "softmax"],
                       cost="log-likelihood"),
     ValueError, "only allowed on the output layer"),
    ("Network cost unknown", lambda c: c.build(sizes=[3, 2], cost="hinge"),
     ValueError, "unknown cost"),
    ("Network cross-entropy on tanh outputs",
     lambda c: c.build(sizes=[3, 2], activation="tanh", cost="cross-entropy"),
     ValueError, "needs sigmoid outputs"),
    ("Network log-likelihood on sigmoid outputs",
     lambda c: c.build(sizes=[3, 2], cost="log-likelihood"),
     ValueError, "needs softmax"),
    ("Network softmax with quadratic cost",
     lambda c: c.build(sizes=[3, 2], activation="softmax"),
     ValueError, "log-likelihood"),
    ("Network init unknown", lambda c: c.build(sizes=[3, 2], init="xavier"),
     ValueError, "init must be"),
    ("Network seed a string", lambda c: c.build(sizes=[3, 2], seed="abc"),
     TypeError, "seed"),
    ("Network backend unknown", lambda c: c.build(sizes=[3, 2], backend="fortran"),
     ValueError, "backend must be"),
    ("Network params product over 2**80", lambda c: c.build(sizes=[2 ** 40, 2 ** 40]),
     MemoryError, "too many"),

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
    ("feedforward too short", lambda c: c.net.feedforward([0.1]),
     ValueError, "has 1 values, expected 2"),
    ("feedforward NaN", lambda c: c.net.feedforward([0.1, NAN]),
     ValueError, "not finite"),
    ("feedforward inf", lambda c: c.net.feedforward([0.1, INF]),
     ValueError, "not finite"),
    ("feedforward a string", lambda c: c.net.feedforward("ab"),
     TypeError, "sequence of numbers"),
    ("feedforward a string value", lambda c: c.net.feedforward([0.1, "x"]),
     TypeError, "sequence of numbers"),
    ("backprop target too short", lambda c: c.net.backprop([0.1, 0.2], [1.0]),
     ValueError, "has 1 values, expected 2"),
    ("backprop label 5", lambda c: c.net.backprop([0.1, 0.2], 5),
     ValueError, "out of range"),

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
    # targets outside the cost's domain (labels are always inside)
    ("cost cross-entropy target above 1",
     lambda c: c.network([2, 2], cost="cross-entropy").cost(X, [[1.0, 0.0], [0.0, 1.5]]),
     ValueError, "data: example 1 has target 1.5, outside [0, 1] (the cross-entropy"),
    ("sgd cross-entropy target below 0",
     lambda c: c.network([2, 2], cost="cross-entropy").sgd(
         pybp.Dataset(X, [[-0.25, 0.0], [0.0, 1.0]]), epochs=1, mini_batch_size=1, eta=0.1),
     ValueError, "training_data: example 0 has target -0.25, outside [0, 1]"),
    ("backprop cross-entropy target 2",
     lambda c: c.network([2, 2], cost="cross-entropy").backprop([0.1, 0.2], [2.0, 0.0]),
     ValueError, "target y: example 0 has target 2.0, outside [0, 1]"),
    ("cost log-likelihood targets summing to 2",
     lambda c: c.network([2, 3], activation="softmax", cost="log-likelihood").cost(
         X, [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]),
     ValueError, "data: the targets of example 1 sum to 2.0; the log-likelihood cost"),
    ("gradient log-likelihood negative target",
     lambda c: c.network([2, 2], activation="softmax", cost="log-likelihood").gradient(
         X, [[1.5, -0.5], [0.0, 1.0]]),
     ValueError, "data: example 0 has target -0.5 < 0; the log-likelihood cost"),
    ("update_mini_batch log-likelihood targets summing to 0.5",
     lambda c: c.network([2, 2], activation="softmax", cost="log-likelihood")
     .update_mini_batch(X, [[0.25, 0.25], [0.0, 1.0]], eta=0.1),
     ValueError, "sum to 0.5"),
    ("backprop log-likelihood all-ones target",
     lambda c: c.network([2, 2], activation="softmax", cost="log-likelihood").backprop(
         [0.1, 0.2], [1.0, 1.0]),
     ValueError, "target y: the targets of example 0 sum to 2.0"),
    ("cost with fewer target rows than inputs",
     lambda c: c.net.cost(X, [[1.0, 0.0]]),
     ValueError, "1 rows for 2 examples"),
    ("cost with targets of wrong width", lambda c: c.net.cost(X, [[1.0], [0.0]]),
     ValueError, "network has 2 outputs"),
    ("cost of inputs of wrong width",
     lambda c: c.net.cost([[0.1, 0.2, 0.3]], [[1.0, 0.0]]),
     ValueError, "network takes 2"),
    ("cost of ragged inputs", lambda c: c.net.cost([[0.1, 0.2], [0.3]], Y),
     ValueError, "row 1 has 1 values"),
    ("cost with a NaN input", lambda c: c.net.cost([[0.1, NAN], [0.3, 0.4]], Y),
     ValueError, "not finite"),
    ("cost with an inf target", lambda c: c.net.cost(X, [[1.0, INF], [0.0, 1.0]]),
     ValueError, "not finite"),
    ("cost of no examples", lambda c: c.net.cost([], []),
     ValueError, "no examples"),
    ("gradient with label 2 of 2 classes", lambda c: c.net.gradient(X, [0, 2]),
     ValueError, "label 2 is out of range"),
    ("gradient with a negative label", lambda c: c.net.gradient(X, [0, -1]),
     ValueError, "negative"),
    ("gradient of an int", lambda c: c.net.gradient(42),
     TypeError, "expected a Dataset"),
    ("evaluate of a list", lambda c: c.net.evaluate([[0.1, 0.2]]),
     TypeError, "expected a Dataset"),

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
    ("update_mini_batch without eta", lambda c: c.net.update_mini_batch(X, Y),
     TypeError, "needs eta"),
    ("update_mini_batch eta NaN", lambda c: c.net.update_mini_batch(X, Y, eta=NAN),
     ValueError, "eta must be finite"),
    ("update_mini_batch eta inf", lambda c: c.net.update_mini_batch(X, Y, eta=INF),
     ValueError, "eta must be finite"),
    ("update_mini_batch eta 0", lambda c: c.net.update_mini_batch(X, Y, eta=0.0),
     ValueError, "eta must be > 0"),
    ("update_mini_batch eta a string",
     lambda c: c.net.update_mini_batch(X, Y, eta="1"),
     TypeError, "eta must be a number"),
    ("update_mini_batch lmbda negative",
     lambda c: c.net.update_mini_batch(X, Y, eta=1.0, lmbda=-1.0),
     ValueError, "lmbda must be >= 0"),
    ("update_mini_batch lmbda NaN",
     lambda c: c.net.update_mini_batch(X, Y, eta=1.0, lmbda=NAN),
     ValueError, "lmbda must be finite"),
    ("update_mini_batch n 0",
     lambda c: c.net.update_mini_batch(X, Y, eta=1.0, lmbda=0.1, n=0),
     ValueError, "n must be at least 1"),
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
    ("sgd epochs 0", lambda c: c.net.sgd(PAIRS, 0, 1, 1.0),
     ValueError, "epochs must be at least 1"),
    ("sgd mini-batch 0", lambda c: c.net.sgd(PAIRS, 1, 0, 1.0),
     ValueError, "mini_batch_size must be at least 1"),
    ("sgd mini-batch 1.5", lambda c: c.net.sgd(PAIRS, 1, 1.5, 1.0),
     TypeError, "mini_batch_size must be an integer"),
    ("sgd eta NaN", lambda c: c.net.sgd(PAIRS, 1, 1, NAN),
     ValueError, "eta must be finite"),
    ("sgd eta negative", lambda c: c.net.sgd(PAIRS, 1, 1, -3.0),
     ValueError, "eta must be > 0"),
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
    ("params too few", lambda c: setattr(c.net, "params", [0.0] * 3),
     ValueError, "expected 17 values"),
    ("params NaN", lambda c: setattr(c.net, "params", [NAN] * 17),
     ValueError, "finite"),
    ("params a string", lambda c: setattr(c.net, "params", "x" * 17),
     TypeError, "params must be a sequence of floats"),

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
    ("Dataset of bytes not a whole number of examples",
     lambda c: pybp.Dataset(b"\x01\x02\x03", n_inputs=2, divisor=255.0),
     ValueError, "whole number of examples"),
    ("Dataset divisor 0", lambda c: pybp.Dataset(b"\x01\x02", n_inputs=2, divisor=0.0),
     ValueError, "divisor"),
    ("Dataset divisor with float inputs",
     lambda c: pybp.Dataset(array("d", [1.0, 2.0]), n_inputs=2, divisor=255.0),
     TypeError, "uint8"),
    ("Dataset of an int buffer", lambda c: pybp.Dataset(array("i", [1, 2]), n_inputs=2),
     TypeError, "float64 or float32"),
    ("Dataset flat buffer without n_inputs",
     lambda c: pybp.Dataset(array("d", [1.0, 2.0])),
     ValueError, "needs n_inputs"),
    ("Dataset targets and labels", lambda c: pybp.Dataset([[1.0]], [[1.0]], labels=[0]),
     ValueError, "not both"),
    ("Dataset 2 labels for 1 example", lambda c: pybp.Dataset([[1.0]], labels=[0, 1]),
     ValueError, "2 labels for 1"),
    ("Dataset label a string", lambda c: pybp.Dataset([[1.0]], labels=["a"]),
     TypeError, "integers"),
    ("Dataset of an empty row", lambda c: pybp.Dataset([[]]),
     ValueError, "at least one value"),

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
# (id, how, arguments, exit status, fragment of the error line[, marks]).
# 2: a usage error (bad options), 1: a runtime error (files, data, memory).
# How a case runs: MAIN, in-process through pybp.cli.main (fast; stderr must
# be exactly the one error line); PROC, as `python -m pybp` (the real exit
# status, no traceback on stderr); BOTH, each way.
# Every train case also gets QUICK (one epoch), so that it would end soon if
# it wrongly got past its error; the in-process ones, which would train in
# the test process itself, take FEW examples as well.

MAIN, PROC = ("main",), ("process",)
BOTH = MAIN + PROC
CSV = ["--csv-train", "{good_csv}", "--csv-test", "{good_csv}"]
QUICK = ["--epochs", "1"]
FEW = ["--limit", "10", "--test-limit", "10"]

CLI = [
    # train: options
    ("train unknown option", MAIN, ["train", "--bogus"] + FEW,
     2, "unrecognized arguments: --bogus"),
    ("train mini-batch 0", PROC, ["train", "--mini-batch-size", "0"] + CSV,
     2, "--mini-batch-size: must be at least 1"),
    ("train mini-batch -2**60", PROC,
     ["train", "--mini-batch-size", str(-2 ** 60)] + CSV,
     2, "--mini-batch-size: must be at least 1"),
    ("train mini-batch 2.5", MAIN, ["train", "--mini-batch-size", "2.5"] + FEW,
     2, "expected an integer"),
    ("train epochs 0", MAIN, ["train", "--epochs", "0"] + FEW,
     2, "--epochs: must be at least 1"),
    ("train epochs -1", PROC, ["train", "--epochs", "-1"] + CSV,
     2, "--epochs: must be at least 1"),
    ("train eta nan", BOTH, ["train", "--eta", "nan"] + FEW,
     2, "--eta: must be a finite number"),
    ("train eta inf", PROC, ["train", "--eta", "inf"] + CSV,
     2, "--eta: must be a finite number"),
    ("train eta -1", MAIN, ["train", "--eta", "-1"] + FEW,
     2, "--eta: must be > 0"),
    ("train eta not a number", MAIN, ["train", "--eta", "x"] + FEW,
     2, "--eta: expected a number"),
    ("train lmbda -0.5", MAIN, ["train", "--lmbda", "-0.5"] + FEW,
     2, "--lmbda: must be >= 0"),
    ("train lmbda nan", PROC, ["train", "--lmbda", "nan"] + CSV,
     2, "--lmbda: must be a finite number"),
    ("train threads 0", PROC, ["train", "--threads", "0"] + CSV,
     2, "--threads: must be at least 1"),
    ("train threads 1000", PROC, ["train", "--threads", "1000"] + CSV,
     2, "--threads: must be at most 64"),
    ("train backend unknown", MAIN, ["train", "--backend", "fortran"] + FEW,
     2, "invalid choice: 'fortran'"),
    ("train init unknown", MAIN, ["train", "--init", "zeros"] + FEW,
     2, "invalid choice: 'zeros'"),

    # train: the network's sizes, activations and cost
    ("train sizes with an empty layer", MAIN, ["train", "--sizes", "784,,10"] + FEW,
     2, "empty layer size"),
    ("train sizes not numbers", MAIN, ["train", "--sizes", "abc"] + FEW,
     2, "--sizes"),
    ("train sizes with a layer of 0", MAIN, ["train", "--sizes", "784,0,10"] + FEW,
     2, "must be at least 1"),
    ("train sizes not MNIST's", BOTH, ["train", "--sizes", "5,10"] + FEW,
     2, "MNIST needs 784 inputs"),
    ("train sizes not the CSV's", MAIN, ["train"] + CSV + ["--sizes", "4,5,3"] + FEW,
     2, "3 features per row"),
    ("train sizes past memory", PROC,
     ["train", "--sizes", "3,1048576,1048576,3", "--save", "{dir}/big.model"] + CSV,
     1, "out of memory: a network of sizes [3, 1048576, 1048576, 3]"),
    ("train sizes past 64 bits", PROC,
     ["train", "--sizes", "3,%d,3" % 2 ** 64] + CSV,
     1, "out of memory: a network of sizes"),
    ("train too many activations", MAIN,
     ["train", "--activation", "sigmoid,sigmoid,sigmoid"] + FEW,
     2, "need 2 activations"),
    ("train activation unknown", MAIN, ["train", "--activation", "swish"] + FEW,
     2, "unknown activation"),
    ("train softmax on the hidden layer", MAIN,
     ["train", "--activation", "softmax,sigmoid"] + FEW,
     2, "softmax"),
    ("train softmax not last", PROC,
     ["train", "--sizes", "3,4,4,3", "--activation", "relu,softmax,softmax",
      "--cost", "log-likelihood"] + CSV,
     2, "softmax is only allowed on the output layer, not layer 2 of 3"),
    ("train log-likelihood on sigmoid", MAIN,
     ["train", "--cost", "log-likelihood"] + FEW,
     2, "needs softmax outputs"),
    ("train log-likelihood on relu", PROC,
     ["train", "--activation", "relu", "--cost", "log-likelihood"] + CSV,
     2, "log-likelihood cost needs softmax outputs"),
    ("train labels beyond the outputs", PROC,
     ["train", "--csv-train", "{good_csv}", "--csv-test", "{label7_csv}",
      "--sizes", "3,5,3"],
     2, "the data has labels up to 7"),

    # train: data files (MNIST not found is the one error of several lines,
    # a line per place looked at: tests/test_download.py)
    ("train MNIST truncated", PROC, ["train", "--data", "{mnist_cut}"],
     1, "truncated: header says 60000x28x28"),
    ("train CSV without a test file", MAIN,
     ["train", "--csv-train", "{good_csv}"] + FEW,
     2, "--csv-train needs --csv-test"),
    ("train CSV empty", PROC, ["train", "--csv-train", "{empty_csv}", "--csv-test",
                               "{good_csv}"],
     1, "no data rows"),
    ("train CSV NaN", PROC, ["train", "--csv-train", "{nan_csv}", "--csv-test",
                             "{good_csv}"],
     1, "field 2: 'nan' is not a finite number"),
    ("train CSV truncated", PROC, ["train", "--csv-train", "{truncated_csv}",
                                   "--csv-test", "{good_csv}"],
     1, "expected 4 fields, found 2"),
    ("train CSV a directory", PROC, ["train", "--csv-train", "{dir}", "--csv-test",
                                     "{good_csv}"],
     1, "is a directory, expected a CSV file"),
    ("train CSV unreadable", PROC, ["train", "--csv-train", "{unreadable_csv}",
                                    "--csv-test", "{good_csv}"],
     1, "Permission denied", needs_non_root),

    # train: checkpoints to resume from, files to save to
    ("train resume a missing file", MAIN, ["train", "--resume", "{missing}"] + FEW,
     1, "No such file"),
    ("train resume a corrupt checkpoint", MAIN,
     ["train", "--resume", "{corrupt_ck}"] + FEW,
     1, "checksum mismatch"),
    ("train resume truncated", PROC, ["train", "--resume", "{truncated_ck}"] + CSV,
     1, "truncated: the header promises"),
    ("train resume a model file", MAIN, ["train", "--resume", "{model}"] + FEW,
     1, "not a pybp checkpoint"),
    ("train resume with another eta", MAIN,
     ["train", "--resume", "{ck}", "--eta", "0.1"] + FEW,
     2, "conflicts with the checkpoint"),
    ("train save into a missing directory", MAIN,
     ["train", "--save", "{missing_dir}"] + FEW,
     2, "does not exist"),
    ("train save to a directory", PROC, ["train", "--save", "{dir}"] + CSV,
     2, "--save {dir}: is a directory"),

    # evaluate
    ("evaluate a missing model", BOTH, ["evaluate", "{missing}"],
     1, "No such file"),
    ("evaluate a checkpoint", MAIN, ["evaluate", "{ck}"],
     1, "not a pybp model file"),
    ("evaluate truncated model", PROC, ["evaluate", "{truncated_model}", "--csv",
                                        "{good_csv}"],
     1, "truncated: header says"),
    ("evaluate empty model", PROC, ["evaluate", "{empty_model}", "--csv",
                                    "{good_csv}"],
     1, "empty file"),
    ("evaluate a directory", PROC, ["evaluate", "{dir}", "--csv", "{good_csv}"],
     1, "is a directory, not a pybp model file"),
    ("evaluate unreadable model", PROC, ["evaluate", "{unreadable_model}"],
     1, "Permission denied", needs_non_root),
    ("evaluate a file that cannot be read", PROC,
     ["evaluate", "/proc/self/mem"], 1, "/proc/self/mem: ",
     pytest.mark.skipif(not os.path.exists("/proc/self/mem"),
                        reason="Linux /proc only")),
    ("evaluate CSV of the wrong width", MAIN,
     ["evaluate", "{model}", "--csv", "{wide_labelled_csv}"],
     1, "4 values per example, the model takes 3"),
    ("evaluate labels beyond the outputs", PROC,
     ["evaluate", "{model}", "--csv", "{label7_csv}"],
     1, "label 7 is not below the number of classes, 3"),

    # predict
    ("predict without input", MAIN, ["predict", "{model}"],
     2, "required: INPUT"),
    ("predict CSV of the wrong width", MAIN, ["predict", "{model}", "{wide_csv}"],
     1, "4 features per row, the model takes 3"),
    ("predict truncated IDX", PROC, ["predict", "{model}", "{truncated_idx}"],
     1, "truncated: header says 4x3 = 12 bytes"),
    ("predict IDX of absurd sizes", PROC, ["predict", "{model}", "{huge_idx}"],
     1, "implausibly large"),
    ("predict gzip IDX cut short", PROC, ["predict", "{model}",
                                          "{truncated_idx_gz}"],
     1, "corrupt gzip data"),
    ("predict IDX of the wrong width", PROC, ["predict", "{model}", "{wide_idx}"],
     1, "not a list of examples of the model's 3 inputs"),
    ("predict empty CSV", PROC, ["predict", "{model}", "{empty_csv}"],
     1, "no data rows"),
    ("predict -inf feature", PROC, ["predict", "{model}", "{inf_features_csv}"],
     1, "'-inf' is not a finite number"),
    ("predict a directory", PROC, ["predict", "{model}", "{dir}"],
     1, "Is a directory"),
    ("predict with a truncated model", PROC, ["predict", "{truncated_model}",
                                              "{inf_features_csv}"],
     1, "truncated"),

    # other commands, and none
    ("show a directory", PROC, ["show", "{dir}"], 1, "is a directory"),
    ("export-c a model cut in its header", PROC, ["export-c", "{header_only_model}"],
     1, "truncated: 20 bytes"),
    ("command unknown", MAIN, ["fly"], 2, "invalid choice: 'fly'"),
    ("no command", MAIN, [], 2, "required: COMMAND"),
]


def _cli_params(how):
    """The CLI cases that run `how` ("main" or "process"), for parametrize."""
    return [pytest.param(*row[2:5], id=row[0], marks=list(row[5:]))
            for row in CLI if how in row[1]]


def _cli_case(files, argv, fragment):
    """The case's arguments and fragment with the files' paths filled in, and
    the files it names to write that do not exist (they must not after)."""
    argv = [a.format(**files) for a in argv]
    if argv and argv[0] == "train":
        argv += QUICK
    outputs = [argv[i + 1] for i, a in enumerate(argv[:-1])
               if a in ("--save", "--checkpoint", "--plot")
               and not os.path.exists(argv[i + 1])]
    return argv, fragment.format(**files), outputs


@pytest.mark.parametrize("argv, status, fragment", _cli_params("main"))
def test_cli_in_process(files, argv, status, fragment):
    argv, fragment, outputs = _cli_case(files, argv, fragment)
    got, out, err = run(argv)
    assert got == status, err
    for path in outputs:  # a failed run writes none of its files
        assert not os.path.exists(path), path
    assert out == ""
    assert err.startswith("pybp: error: ") and err.count("\n") == 1, err
    assert fragment in err


@pytest.mark.parametrize("argv, status, fragment", _cli_params("process"))
def test_cli_subprocess(files, argv, status, fragment):
    argv, fragment, outputs = _cli_case(files, argv, fragment)
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
    assert all(row[1] in (MAIN, PROC, BOTH) for row in CLI)
