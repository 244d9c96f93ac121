"""The `pybp` command: train, evaluate, predict, info, show, export-c, bench
(docs/cli.md).

main(argv) returns the exit code instead of exiting, so tests and other
programs can call it in-process.  Exit codes: 0 success, 1 a runtime error
(a missing or corrupt file, data that does not fit the model), 2 a usage
error (bad options), 130 interrupted.  Errors are one line on stderr,
``pybp: error: ...``, never a traceback (set PYBP_DEBUG=1 to get one).
"""

import argparse
import json
import math
import os
import platform
import sys
from typing import Optional, Sequence

from . import __version__, backends, checkpoint, gradbench, png
from .backends import BackendError
from .network import DivergenceError
from .progress import ProgressBar
from .spec import ACTIVATIONS, COSTS

# The book's first network (chapter 1): what `pybp train` runs by default.
DEFAULTS = {"sizes": [784, 30, 10], "activation": "sigmoid",
            "cost": "quadratic", "eta": 3.0, "lmbda": 0.0,
            "mini_batch_size": 10, "epochs": 30, "seed": 0, "init": "normal",
            "limit": None, "test_limit": None, "dtype": "float64"}

MNIST_INPUTS = 784
MNIST_CLASSES = 10


class UsageError(Exception):
    """Bad command-line arguments: exit status 2."""


class RunError(Exception):
    """A problem found while running (files, data): exit status 1."""


# --- argument types ---------------------------------------------------------
# Each raises ArgumentTypeError, which argparse reports as
# "argument --eta: <message>".


def _float_type(*, positive=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected a number, got %r" % text)
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError("must be a finite number, got %r"
                                             % text)
        if positive and value <= 0.0:
            raise argparse.ArgumentTypeError("must be > 0, got %r" % text)
        if not positive and value < 0.0:
            raise argparse.ArgumentTypeError("must be >= 0, got %r" % text)
        return value
    return parse


def _int_type(minimum):
    def parse(text):
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError("expected an integer, got %r" % text)
        if value < minimum:
            raise argparse.ArgumentTypeError("must be at least %d, got %r"
                                             % (minimum, text))
        return value
    return parse


def _sizes_type(text):
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(
            "need at least two comma-separated layer sizes, e.g. 784,30,10; "
            "got %r" % text)
    sizes = []
    for i, part in enumerate(parts):
        if not part:
            raise argparse.ArgumentTypeError("empty layer size at position %d "
                                             "in %r" % (i + 1, text))
        try:
            n = int(part, 10)
        except ValueError:
            raise argparse.ArgumentTypeError("layer size %r in %r is not an "
                                             "integer" % (part, text))
        if n < 1:
            raise argparse.ArgumentTypeError("layer size %d in %r must be at "
                                             "least 1" % (n, text))
        sizes.append(n)
    return sizes


def _names_type(text):
    names = [p.strip() for p in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError("empty name in %r" % text)
    return names


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError("%s (see '%s --help')" % (message, self.prog))


def build_parser():
    parser = _Parser(
        prog="pybp",
        description="Train, evaluate and run feedforward networks trained by "
                    "backpropagation (pybp %s)." % __version__)
    parser.add_argument("--version", action="version",
                        version="pybp %s" % __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                parser_class=_Parser)
    sub.required = True
    backend_help = "c or python (default: %s)" % backends.DEFAULT

    # Settings default to None so that --resume can tell which were given.
    t = sub.add_parser(
        "train", help="train a network (default: the book's 784-30-10 on MNIST)",
        description="Train a network with mini-batch SGD and report test "
                    "accuracy after every epoch.  Defaults reproduce the first "
                    "network of Nielsen's book: sizes 784,30,10, sigmoid, "
                    "quadratic cost, eta 3.0, mini-batch 10, 30 epochs, seed 0.")
    g = t.add_argument_group("data")
    g.add_argument("--data", metavar="DIR",
                   help="MNIST directory (default: $PYBP_DATA, else "
                        "./data/mnist, else the source checkout's data/mnist)")
    g.add_argument("--csv-train", metavar="FILE",
                   help="train on a CSV file of rows feature,...,label "
                        "instead of MNIST (needs --csv-test)")
    g.add_argument("--csv-test", metavar="FILE",
                   help="the CSV file to evaluate on after every epoch")
    g.add_argument("--limit", type=_int_type(1), metavar="N",
                   help="train on the first N training examples only")
    g.add_argument("--test-limit", type=_int_type(1), metavar="N",
                   help="evaluate on the first N test examples only")
    n = t.add_argument_group("network")
    n.add_argument("--sizes", type=_sizes_type, metavar="N,N,...",
                   help="layer sizes, input first (default: 784,30,10)")
    n.add_argument("--activation", type=_names_type, metavar="NAME[,NAME...]",
                   help="one activation for every layer, or one per layer "
                        "after the input: %s (softmax on the output layer "
                        "only; default: sigmoid)" % ", ".join(ACTIVATIONS))
    n.add_argument("--cost", metavar="NAME",
                   help="%s (default: quadratic)" % ", ".join(COSTS))
    n.add_argument("--init", choices=("normal", "scaled"),
                   help="normal: W, b ~ N(0,1); scaled: W ~ N(0,1/n_in) "
                        "(default: normal)")
    n.add_argument("--seed", type=_int_type(0), metavar="N",
                   help="seed of the initial parameters and the shuffles "
                        "(default: 0)")
    s = t.add_argument_group("training")
    s.add_argument("--eta", type=_float_type(positive=True), metavar="X",
                   help="learning rate (default: 3.0)")
    s.add_argument("--lmbda", type=_float_type(), metavar="X",
                   help="L2 regularisation parameter (default: 0)")
    s.add_argument("--mini-batch-size", type=_int_type(1), metavar="N",
                   help="examples per SGD step (default: 10)")
    s.add_argument("--epochs", type=_int_type(1), metavar="N",
                   help="number of epochs (default: 30); with --resume, the "
                        "new total")
    s.add_argument("--backend", choices=("c", "python"), help=backend_help)
    s.add_argument("--dtype", choices=("float64", "float32"),
                   help="element type: float64 (default, the exact reference "
                        "numbers) or float32 (C backend only, faster)")
    s.add_argument("--threads", type=_int_type(1), metavar="N",
                   help="worker threads on the C backend (same results for "
                        "any N; default: PYBP_THREADS or 1)")
    o = t.add_argument_group("files and output")
    o.add_argument("--save", metavar="FILE",
                   help="write the trained model here at the end")
    o.add_argument("--checkpoint", metavar="FILE",
                   help="write a checkpoint here after every epoch")
    o.add_argument("--resume", metavar="FILE",
                   help="continue the run saved in this checkpoint")
    o.add_argument("--quiet", action="store_true",
                   help="print only the final result line")
    o.add_argument("--json", action="store_true",
                   help="print one JSON object per epoch on stdout")
    o.add_argument("--diagnose", type=_int_type(1), nargs="?", metavar="N",
                   const=True, default=False,
                   help="after every epoch, print per-layer learning "
                        "diagnostics (mean |delta|, |dC/dW|/|W|, saturated "
                        "units, dead ReLUs, near-zero inputs) measured on N "
                        "training examples (default: 500), with warnings")
    o.add_argument("--plot", metavar="FILE.svg",
                   help="draw the learning curves (training cost, test "
                        "accuracy) to this SVG file, rewritten after every "
                        "epoch")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="test accuracy of a saved model",
                       description="Count the test examples a saved model "
                                   "classifies correctly.")
    e.add_argument("model", metavar="MODEL", help="a model file (pybp train --save)")
    e.add_argument("--data", metavar="DIR", help="MNIST directory")
    e.add_argument("--csv", metavar="FILE",
                   help="evaluate on a CSV file of rows feature,...,label "
                        "instead of MNIST's test set")
    e.add_argument("--test-limit", type=_int_type(1), metavar="N",
                   help="use the first N test examples only")
    e.add_argument("--backend", choices=("c", "python"), help=backend_help)
    e.add_argument("--json", action="store_true", help="print a JSON object")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify the examples of a file",
                       description="Print the predicted class of every example "
                                   "in INPUT, one per line.  INPUT is a CSV "
                                   "file of features (one row per example) or "
                                   "an IDX file of uint8 images (plain or "
                                   "gzipped), scaled by 1/255.")
    p.add_argument("model", metavar="MODEL", help="a model file")
    p.add_argument("input", metavar="INPUT", help="CSV or IDX file")
    p.add_argument("--outputs", action="store_true",
                   help="print the output activations as CSV rows instead")
    p.add_argument("--backend", choices=("c", "python"), help=backend_help)
    p.set_defaults(func=cmd_predict)

    i = sub.add_parser("info", help="version, backends, build and platform",
                       description="Describe this installation of pybp.")
    i.add_argument("--json", action="store_true", help="print a JSON object")
    i.set_defaults(func=cmd_info)

    s = sub.add_parser("show", help="summarise a model, or draw its first-layer "
                                    "weights as a PNG",
                       description="Print a model's sizes, activations, cost, "
                                   "parameter count and per-layer weight norms; "
                                   "with --png, draw each first-layer neuron's "
                                   "weights as a square image instead (the "
                                   "inputs must be a square number, e.g. 784 "
                                   "= 28x28).")
    s.add_argument("model", metavar="MODEL", help="a model file")
    s.add_argument("--png", metavar="FILE.png",
                   help="write the first-layer weights as a grid of images")
    s.add_argument("--scale", type=_int_type(1), default=1, metavar="N",
                   help="draw each weight as NxN pixels (default: 1)")
    s.add_argument("--normalise", choices=png.NORMALISATIONS,
                   default="symmetric",
                   help="per neuron: symmetric (0 is mid-gray, the largest "
                        "|w| black or white; default) or range (smallest "
                        "black, largest white)")
    s.add_argument("--json", action="store_true",
                   help="print the summary as a JSON object")
    s.set_defaults(func=cmd_show)

    x = sub.add_parser("export-c", help="write a model as a self-contained C "
                                        "header",
                       description="Write MODEL as one C99 file: its parameters "
                                   "as exact hex-float constants and "
                                   "NAME_feedforward(), which computes the "
                                   "same bits as pybp (compile with "
                                   "-ffp-contract=off; needs only libm).")
    x.add_argument("model", metavar="MODEL", help="a model file")
    x.add_argument("-o", "--output", metavar="FILE",
                   help="the file to write (default: standard output)")
    x.add_argument("--name", default="model", metavar="PREFIX",
                   help="prefix of the generated identifiers (default: model)")
    x.set_defaults(func=cmd_export_c)

    b = sub.add_parser("bench", help="benchmarks",
                       description="Benchmarks of this installation.")
    bsub = b.add_subparsers(dest="bench", metavar="BENCHMARK",
                            parser_class=_Parser)
    bsub.required = True
    g = bsub.add_parser(
        "gradient", help="backpropagation against finite differences",
        description="For networks of growing size, time one backpropagation "
                    "gradient on a small batch and the finite-difference "
                    "gradient (2 cost evaluations per parameter), print both, "
                    "their ratio and the largest relative difference between "
                    "them.  Finite differences that would take longer than "
                    "--budget are extrapolated from the parameters done.")
    g.add_argument("--backend", choices=("c", "python"), help=backend_help)
    g.add_argument("--sizes-list", type=_sizes_type, nargs="+",
                   metavar="N,N,...",
                   help="the networks (default: %s)"
                        % " ".join(",".join(map(str, s))
                                   for s in gradbench.DEFAULT_SIZES))
    g.add_argument("--batch", type=_int_type(1), default=10, metavar="N",
                   help="examples in the batch (default: 10)")
    g.add_argument("--budget", type=_float_type(), default=3.0,
                   metavar="SECONDS",
                   help="finite-difference time per network before "
                        "extrapolating (default: 3)")
    g.add_argument("--seed", type=_int_type(0), default=0, metavar="N",
                   help="seed of the networks and the data (default: 0)")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object per network")
    g.set_defaults(func=cmd_bench_gradient)
    return parser


# --- helpers ------------------------------------------------------------------


def _say(stream, text):
    stream.write(text + "\n")
    stream.flush()  # a reader of a pipe sees each epoch as it ends


def _finite_or_none(value):
    return value if math.isfinite(value) else None


def _json_line(obj):
    # Strict JSON: a diverged cost (inf, nan) is written as null.
    clean = {k: (_finite_or_none(v) if isinstance(v, float) else v)
             for k, v in obj.items()}
    return json.dumps(clean, allow_nan=False)


def _percent(correct, total):
    return 100.0 * correct / total if total else 0.0


def _check_output_path(path, option):
    """Fail before training, not after it, when a file cannot be written."""
    if os.path.isdir(path):
        raise UsageError("%s %s: is a directory" % (option, path))
    directory = os.path.dirname(path) or os.curdir
    if not os.path.isdir(directory):
        raise UsageError("%s %s: directory %s does not exist"
                         % (option, path, directory))
    if not os.access(directory, os.W_OK):
        raise UsageError("%s %s: directory %s is not writable"
                         % (option, path, directory))


def _load_model(path, backend):
    from .network import load
    return load(path, backend=backend)


# --- train --------------------------------------------------------------------

# Command-line option -> settings key (checkpoint.SETTINGS).
_OPTION_KEYS = {"sizes": "sizes", "activation": "activations", "cost": "cost",
                "eta": "eta", "lmbda": "lmbda",
                "mini_batch_size": "mini_batch_size", "epochs": "epochs",
                "seed": "seed", "init": "init", "limit": "limit",
                "test_limit": "test_limit", "dtype": "dtype"}


def _option_name(attr):
    return "--" + attr.replace("_", "-")


def _network_spec(sizes, activation, cost):
    from .spec import NetSpec
    try:
        return NetSpec(sizes, activation if len(activation) > 1 else activation[0],
                       cost)
    except (TypeError, ValueError) as exc:
        raise UsageError("%s (sizes %s, activation %s, cost %s)"
                         % (exc, _show(list(sizes)), _show(list(activation)),
                            cost)) from None


def _settings(args, resumed):
    """The run's settings: defaults < checkpoint < explicit options."""
    given = {attr: getattr(args, attr) for attr in _OPTION_KEYS
             if getattr(args, attr) is not None}
    kind = "csv" if args.csv_train is not None else "mnist"
    if resumed is None:
        base = {_OPTION_KEYS[a]: v for a, v in DEFAULTS.items()}
        base["activations"] = [DEFAULTS["activation"]]
        base["data"] = kind
    else:
        base = dict(resumed.settings)
    merged = dict(base)
    for attr, value in given.items():
        merged[_OPTION_KEYS[attr]] = value
    if resumed is not None and merged["sizes"] != base["sizes"]:
        _conflict("sizes", merged["sizes"], base["sizes"])
    spec = _network_spec(merged["sizes"], merged["activations"], merged["cost"])
    merged["sizes"] = list(spec.sizes)
    merged["activations"] = list(spec.activations)
    merged["cost"] = spec.cost
    if resumed is None:
        return merged, spec
    # A resumed run keeps its settings: anything else would silently make
    # it a different run than the one the checkpoint belongs to.
    for attr in given:
        key = _OPTION_KEYS[attr]
        if key == "epochs":
            continue
        if merged[key] != base[key]:
            _conflict(attr, merged[key], base[key])
    if kind != base["data"]:
        raise UsageError("the checkpoint was trained on CSV data; pass "
                         "--csv-train and --csv-test" if base["data"] == "csv"
                         else "the checkpoint was trained on MNIST; drop "
                         "--csv-train and --csv-test")
    if merged["epochs"] < resumed.epoch:
        raise UsageError("--epochs %d: the checkpoint has already trained %d "
                         "epochs" % (merged["epochs"], resumed.epoch))
    return merged, spec


def _conflict(attr, given, stored):
    raise UsageError("%s %s conflicts with the checkpoint's %s; a resumed run "
                     "keeps its settings (only --epochs may change)"
                     % (_option_name(attr), _show(given), _show(stored)))


def _show(value):
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def _csv_data(args):
    """(training, test) from --csv-train/--csv-test, or None for MNIST."""
    from . import data
    if args.csv_train is None:
        if args.csv_test is not None:
            raise UsageError("--csv-test needs --csv-train")
        return None
    if args.csv_test is None:
        raise UsageError("--csv-train needs --csv-test")
    if args.data is not None:
        raise UsageError("--data names an MNIST directory; it has no use "
                         "with --csv-train")
    train = data.load_csv(args.csv_train)
    test = data.load_csv(args.csv_test)
    if test.n_inputs != train.n_inputs:
        raise RunError("%s has %d features per row, %s has %d"
                       % (args.csv_test, test.n_inputs, args.csv_train,
                          train.n_inputs))
    return train, test


def _classes(train, test):
    return max(max(train.labels), max(test.labels)) + 1


def _training_data(args, settings, csv):
    """(training, test, description of where) with the limits applied."""
    from . import data
    sizes = settings["sizes"]
    if csv is not None:
        train, test = csv
        where = "%s, %s" % (args.csv_train, args.csv_test)
        if train.n_inputs != sizes[0]:
            raise UsageError("--sizes: %s has %d features per row, so the first "
                             "size must be %d, not %d"
                             % (args.csv_train, train.n_inputs, train.n_inputs,
                                sizes[0]))
        classes = _classes(train, test)
        if classes > sizes[-1]:
            raise UsageError("--sizes: the data has labels up to %d, so the "
                             "last size must be at least %d, not %d"
                             % (classes - 1, classes, sizes[-1]))
    else:
        # Checked before the files are read: a wrong --sizes fails at once.
        if sizes[0] != MNIST_INPUTS or sizes[-1] != MNIST_CLASSES:
            raise UsageError("--sizes %s: MNIST needs %d inputs and %d outputs "
                             "(e.g. 784,30,10)"
                             % (_show(sizes), MNIST_INPUTS, MNIST_CLASSES))
        where = data.find_mnist(args.data)
        train, _validation, test = data.load_mnist(where)
    if settings["limit"] is not None:
        train = train.subset(settings["limit"])
    if settings["test_limit"] is not None:
        test = test.subset(settings["test_limit"])
    return train, test, where


def _epoch_line(rec, epochs):
    return ("epoch %d/%d: %d/%d correct (%.2f%%), cost %.6g, %.2f s"
            % (rec["epoch"], epochs, rec["correct"], rec["total"],
               _percent(rec["correct"], rec["total"]), rec["cost"],
               rec["seconds"]))


def _header(net, settings, train, test, where):
    acts = settings["activations"]
    act = acts[0] if len(set(acts)) == 1 else ",".join(acts)
    text = ("pybp train: backend %s%s, sizes %s, %s, %s cost, eta %g, lmbda %g, "
            "batch %d, epochs %d, seed %d, init %s; %d training / %d test "
            "examples from %s"
            % (net.backend, " float32" if net.dtype == "float32" else "",
               "-".join(map(str, settings["sizes"])), act,
               settings["cost"], settings["eta"], settings["lmbda"],
               settings["mini_batch_size"], settings["epochs"],
               settings["seed"], settings["init"], train.count, test.count,
               where))
    return text


def _plot_title(settings):
    acts = settings["activations"]
    return ("pybp train: %s, %s, %s cost, eta %g, %sbatch %d"
            % ("-".join(map(str, settings["sizes"])),
               acts[0] if len(set(acts)) == 1 else ",".join(acts),
               settings["cost"], settings["eta"],
               "lmbda %g, " % settings["lmbda"] if settings["lmbda"] else "",
               settings["mini_batch_size"]))


def cmd_train(args, out, err):
    from .network import Network
    backends.check(args.backend)  # an unavailable backend fails at once
    resumed = checkpoint.load(args.resume) if args.resume is not None else None
    csv = _csv_data(args)
    if csv is not None and args.sizes is None and resumed is None:
        # Tabular data: by default one hidden layer of 30, sized to the data.
        args.sizes = [csv[0].n_inputs, 30, _classes(*csv)]
    settings, spec = _settings(args, resumed)
    for path, option in ((args.save, "--save"), (args.checkpoint, "--checkpoint"),
                         (args.plot, "--plot")):
        if path is not None:
            _check_output_path(path, option)
    train, test, where = _training_data(args, settings, csv)

    if resumed is None:
        net = Network(spec.sizes, list(spec.activations), spec.cost,
                      seed=settings["seed"], init=settings["init"],
                      backend=args.backend, dtype=settings["dtype"])
        history = []
    else:
        net = Network.from_params(spec.sizes, list(spec.activations), spec.cost,
                                  resumed.params, backend=args.backend,
                                  seed=settings["seed"], dtype=settings["dtype"])
        net.init = settings["init"]
        net.shuffle_state = resumed.shuffle_state
        net.epochs_trained = resumed.epoch
        history = list(resumed.history)
    net.threads = args.threads

    epochs = settings["epochs"]
    verbose = not (args.quiet or args.json)
    if verbose:
        _say(out, _header(net, settings, train, test, where))
        if resumed is not None:
            _say(out, "resuming %s after epoch %d of %d"
                 % (args.resume, resumed.epoch, epochs))

    bar = ProgressBar(err, enabled=None if not args.quiet else False)
    state = {"saved": None}  # the epoch the checkpoint file holds

    def plot():
        if args.plot is not None:
            from .svg import write_learning_curves
            write_learning_curves(args.plot, history, epochs=epochs,
                                  title=_plot_title(settings))
    plot()  # exists (empty, or the resumed epochs) from the start

    def show(rec, diagnosis=None):
        from . import diagnostics
        if args.json:
            line = {
                "epoch": rec["epoch"], "epochs": epochs,
                "correct": rec["correct"], "total": rec["total"],
                "accuracy": rec["correct"] / rec["total"],
                "cost": rec["cost"], "seconds": rec["seconds"],
                "backend": net.backend, "dtype": net.dtype}
            if diagnosis is not None:
                line["diagnostics"] = diagnostics.as_json(diagnosis)
            _say(out, _json_line(line))
        else:
            _say(out, _epoch_line(rec, epochs))
            if diagnosis is not None:
                _say(out, diagnostics.format_report(diagnosis))

    def after_epoch(record):
        bar.clear()
        rec = {k: record[k] for k in ("epoch", "correct", "total", "cost",
                                      "seconds")}
        history.append(rec)
        if args.checkpoint is not None:
            checkpoint.save(args.checkpoint, settings, net.epochs_trained,
                            net.shuffle_state, net.params, history,
                            extra={"pybp": __version__, "backend": net.backend})
            state["saved"] = net.epochs_trained
        plot()
        state["diagnosis"] = record.get("diagnostics")
        if not args.quiet:
            show(rec, state["diagnosis"])
        bar.label = "epoch %d/%d" % (net.epochs_trained + 1, epochs)

    remaining = epochs - net.epochs_trained
    if remaining > 0:
        bar.label = "epoch %d/%d" % (net.epochs_trained + 1, epochs)
        try:
            net.sgd(train, remaining, settings["mini_batch_size"],
                    settings["eta"], settings["lmbda"], test_data=test,
                    callback=after_epoch,
                    progress=bar if bar.enabled else None,
                    diagnose=args.diagnose)
        except KeyboardInterrupt:
            bar.clear()
            where_saved = ""
            if state["saved"] is not None:
                where_saved = " (%s holds epoch %d)" % (args.checkpoint,
                                                        state["saved"])
            elif resumed is not None:
                where_saved = " (%s still holds epoch %d)" % (args.resume,
                                                              resumed.epoch)
            _say(err, "pybp: interrupted in epoch %d%s"
                 % (net.epochs_trained, where_saved))
            return 130
    elif verbose:
        _say(out, "nothing to train: the checkpoint has all %d epochs" % epochs)

    if args.quiet and history:
        show(history[-1], state.get("diagnosis"))
    if args.save is not None:
        net.save(args.save)
        if verbose:
            _say(out, "saved model to %s" % args.save)
    return 0


# --- evaluate -------------------------------------------------------------------


def _check_inputs(net, data, source):
    if data.n_inputs != net.sizes[0]:
        raise RunError("%s has %d values per example, the model takes %d"
                       % (source, data.n_inputs, net.sizes[0]))


def cmd_evaluate(args, out, err):
    from . import data
    net = _load_model(args.model, args.backend)
    if args.csv is not None:
        if args.data is not None:
            raise UsageError("give --data (MNIST) or --csv, not both")
        test = data.load_csv(args.csv, n_classes=net.sizes[-1])
        source = args.csv
    else:
        if net.sizes[0] != MNIST_INPUTS:
            raise RunError("%s takes %d inputs, MNIST images have %d; use --csv"
                           % (args.model, net.sizes[0], MNIST_INPUTS))
        if net.sizes[-1] < MNIST_CLASSES:
            raise RunError("%s has %d outputs, MNIST has %d classes"
                           % (args.model, net.sizes[-1], MNIST_CLASSES))
        source = data.find_mnist(args.data)
        test = data.load_mnist(source)[2]
    _check_inputs(net, test, source)
    if args.test_limit is not None:
        test = test.subset(args.test_limit)
    correct = net.evaluate(test)
    total = test.count
    if args.json:
        _say(out, _json_line({"model": args.model, "correct": correct,
                              "total": total,
                              "accuracy": correct / total,
                              "backend": net.backend}))
    else:
        _say(out, "%d/%d correct (%.2f%%)" % (correct, total,
                                              _percent(correct, total)))
    return 0


# --- predict ----------------------------------------------------------------------


def cmd_predict(args, out, err):
    from . import data
    net = _load_model(args.model, args.backend)
    if data.is_idx(args.input):
        inputs = data.read_idx_inputs(args.input, net.sizes[0])
    else:
        inputs = data.read_csv_inputs(args.input)
        if inputs.n_inputs != net.sizes[0]:
            raise RunError("%s has %d features per row, the model takes %d"
                           % (args.input, inputs.n_inputs, net.sizes[0]))
    if args.outputs:
        # repr: the shortest text that reads back as the same float64.
        lines = (",".join(map(repr, row)) for row in net.outputs(inputs))
    else:
        lines = map(str, net.predict(inputs))
    for line in lines:
        out.write(line + "\n")
    out.flush()
    return 0


# --- show, export-c, bench gradient ---------------------------------------------------
# Thin wrappers: the work is in summary.py, png.py, export_c.py, gradbench.py.


def cmd_show(args, out, err):
    from .summary import format_summary, summary
    net = _load_model(args.model, "python")  # no kernel runs
    if args.png is not None:
        _check_output_path(args.png, "--png")
        try:
            width, height = png.write_weights_png(net, args.png, scale=args.scale,
                                                  normalise=args.normalise)
        except ValueError as exc:
            raise RunError("%s: %s" % (args.model, exc)) from None
        _say(out, "wrote %s: %d first-layer neurons, %dx%d pixels"
             % (args.png, net.sizes[1], width, height))
        return 0
    facts = summary(net, source=args.model)
    if args.json:
        _say(out, json.dumps(facts))
    else:
        _say(out, format_summary(facts))
    return 0


def cmd_export_c(args, out, err):
    from . import export_c
    try:
        export_c.check_name(args.name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.output is not None and args.output != "-":
        _check_output_path(args.output, "--output")
    net = _load_model(args.model, "python")
    source = os.path.basename(args.model)
    if args.output is None or args.output == "-":
        out.write(export_c.export_c(net, args.name, source=source))
        out.flush()
    else:
        export_c.write_c(net, args.output, args.name, source=source)
    return 0


def cmd_bench_gradient(args, out, err):
    backends.check(args.backend)  # an unavailable backend fails at once
    sizes_list = args.sizes_list or [list(s) for s in gradbench.DEFAULT_SIZES]
    for sizes in sizes_list:
        _network_spec(sizes, ["sigmoid"], "quadratic")  # bad sizes: usage error
    rows = []
    if not args.json:
        _say(out, "backprop vs finite differences: backend %s, batch of %d, "
             "central differences with eps %g (2 cost evaluations per "
             "parameter), budget %g s per network"
             % (args.backend or backends.DEFAULT, args.batch, gradbench.EPS,
                args.budget))
        _say(out, gradbench.format_header())
    for sizes in sizes_list:
        rec = gradbench.bench_gradient(sizes, backend=args.backend,
                                       batch=args.batch, budget=args.budget,
                                       seed=args.seed)
        rows.append(rec)
        _say(out, _json_line(rec) if args.json else gradbench.format_row(rec))
    notes = gradbench.format_notes(rows)
    if notes and not args.json:
        _say(out, notes)
    return 0


# --- info ---------------------------------------------------------------------------


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    for key in ("model name", "Model", "cpu model", "Hardware", "Processor", "cpu"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return None


def info():
    """The facts `pybp info` prints, as a dict."""
    facts = {
        "pybp": __version__,
        "default_backend": backends.DEFAULT,
        "available_backends": backends.available(),
        "dtypes": (["float64", "float32"] if "c" in backends.available()
                   else ["float64"]),
        "requested_backend": backends.REQUESTED,
    }
    facts.update(backends.c_facts())
    facts.update({
        "python": "%s %s" % (platform.python_implementation(),
                             platform.python_version()),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu": _cpu_model(),
    })
    return facts


def cmd_info(args, out, err):
    facts = info()
    if args.json:
        _say(out, json.dumps(facts))
        return 0
    rows = [
        ("pybp version", facts["pybp"]),
        ("default backend", facts["default_backend"]
         + ("" if facts["requested_backend"] == "auto"
            else " (PYBP_BACKEND=%s)" % facts["requested_backend"])),
        ("available backends", ", ".join(facts["available_backends"])),
        ("element types", ", ".join(facts["dtypes"])
         + ("" if "float32" in facts["dtypes"] else " (float32 needs the C backend)")),
    ]
    if facts["c_unavailable"]:
        rows.append(("C backend", "unavailable: " + facts["c_unavailable"]))
    else:
        rows.append(("C library", facts["c_version"] or "unknown"))
        rows.append(("C compiler", facts["c_compiler"] or "unknown"))
        if facts["c_isa"]:
            rows.append(("instruction set", "%s (this CPU and build: %s)" % (
                facts["c_isa"], ", ".join(facts["c_isa_supported"] or []))))
    rows.append(("C compile flags", " ".join(facts["c_flags"])
                 if facts["c_flags"] is not None else "unknown"))
    if facts["c_note"]:
        rows.append(("note", facts["c_note"]))
    rows += [("python", facts["python"]), ("platform", facts["platform"]),
             ("machine", facts["machine"]),
             ("processor", facts["processor"] or "unknown"),
             ("cpu", facts["cpu"] or "unknown")]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        _say(out, "%-*s  %s" % (width + 1, key + ":", value))
    return 0


# --- main -----------------------------------------------------------------------------


def _one_line(text):
    """Error messages go on one line; multi-line ones are joined."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _describe(exc):
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return "%s: %s" % (exc.filename, exc.strerror)
    if isinstance(exc, MemoryError):
        return "out of memory%s" % (": %s" % exc if str(exc) else "")
    return str(exc) or type(exc).__name__


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the pybp command line; returns the exit status."""
    out, err = sys.stdout, sys.stderr
    debug = bool(os.environ.get("PYBP_DEBUG"))
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # reported here to point at the subcommand's --help
            raise UsageError("unrecognized arguments: %s (see 'pybp %s --help')"
                             % (" ".join(extra), args.command))
        return args.func(args, out, err)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        if debug:
            raise
        _say(err, "pybp: error: %s" % _one_line(exc))
        return 2
    except KeyboardInterrupt:
        _say(err, "pybp: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `pybp predict ... | head`): not an error
        # worth a message; stop writing to the closed pipe.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except (RunError, ValueError, TypeError, OSError, BackendError,
            MemoryError, DivergenceError) as exc:
        if debug:
            raise
        _say(err, "pybp: error: %s" % _one_line(_describe(exc)))
        return 1
