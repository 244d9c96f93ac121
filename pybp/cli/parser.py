"""The command line's grammar: build_parser() and the argument types.

Each command's function is set as the `func` default of its subparser;
main() calls it as func(args, out, err).
"""

import argparse
import math

from .. import ACTIVATIONS, COSTS, __version__, backends, crosscheck, download, gradbench, png
from ..checkpoint import SEED_MAX
from ..data import mnist_user_dir
from ..spec import MAX_THREADS
from .commands import (
    cmd_bench_gradient,
    cmd_evaluate,
    cmd_export_c,
    cmd_golden,
    cmd_predict,
    cmd_show,
)
from .common import UsageError
from .compare import cmd_compare
from .download import cmd_data_mnist
from .facts import cmd_info
from .train import cmd_train

# --- argument types ---------------------------------------------------------
# Each raises ArgumentTypeError, which argparse reports as
# "argument --eta: <message>".


def _float_type(*, positive=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError("must be a finite number, got "
                                             f"{text!r}")
        if positive and value <= 0.0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        if not positive and value < 0.0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
        return value
    return parse


def _int_type(minimum, maximum=None):
    def parse(text):
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, "
                                             f"got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, "
                                             f"got {text!r}")
        return value
    return parse


def _sizes_type(text):
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(
            "need at least two comma-separated layer sizes, e.g. 784,30,10; "
            f"got {text!r}")
    sizes = []
    for i, part in enumerate(parts):
        if not part:
            raise argparse.ArgumentTypeError("empty layer size at position "
                                             f"{i + 1} in {text!r}")
        try:
            n = int(part, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"layer size {part!r} in {text!r} "
                                             "is not an integer") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"layer size {n} in {text!r} must "
                                             "be at least 1")
        sizes.append(n)
    return sizes


def _names_type(text):
    names = [p.strip() for p in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty name in {text!r}")
    return names


# --- the parser -------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser():
    """The `pybp` parser, with one subparser per command."""
    parser = _Parser(
        prog="pybp",
        description="Train, evaluate and run feedforward networks trained by "
                    f"backpropagation (pybp {__version__}).")
    parser.add_argument("--version", action="version",
                        version=f"pybp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                parser_class=_Parser)
    sub.required = True
    backend_help = f"c or python (default: {backends.DEFAULT})"

    # Settings default to None so that --resume can tell which were given.
    t = sub.add_parser(
        "train", help="train a network (default: the book's 784-30-10 on MNIST)",
        description="Train a network with mini-batch SGD and report test "
                    "accuracy after every epoch.  Defaults reproduce the first "
                    "network of Nielsen's book: sizes 784,30,10, sigmoid, "
                    "quadratic cost, eta 3.0, mini-batch 10, 30 epochs, seed 0.")
    g = t.add_argument_group("data")
    g.add_argument("--data", metavar="DIR",
                   help="MNIST directory (default: $PYBP_DATA, else the first "
                        "of ./data/mnist, the source checkout's data/mnist and "
                        "the per-user directory of 'pybp data mnist' that has "
                        "it)")
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
                        f"after the input: {', '.join(ACTIVATIONS)} (softmax "
                        "on the output layer only; default: sigmoid)")
    n.add_argument("--cost", metavar="NAME",
                   help=f"{', '.join(COSTS)} (default: quadratic)")
    n.add_argument("--init", choices=("normal", "scaled"),
                   help="normal: W, b ~ N(0,1); scaled: W ~ N(0,1/n_in) "
                        "(default: normal)")
    n.add_argument("--seed", type=_int_type(0, SEED_MAX), metavar="N",
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
    s.add_argument("--threads", type=_int_type(1, MAX_THREADS), metavar="N",
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
    e.add_argument("--data", metavar="DIR",
                   help="MNIST directory (default: as for pybp train)")
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

    show = sub.add_parser("show", help="summarise a model, or draw its first-layer "
                                    "weights as a PNG",
                       description="Print a model's sizes, activations, cost, "
                                   "parameter count and per-layer weight norms; "
                                   "with --png, draw each first-layer neuron's "
                                   "weights as a square image instead (the "
                                   "inputs must be a square number, e.g. 784 "
                                   "= 28x28).")
    show.add_argument("model", metavar="MODEL", help="a model file")
    show.add_argument("--png", metavar="FILE.png",
                   help="write the first-layer weights as a grid of images")
    show.add_argument("--scale", type=_int_type(1), metavar="N",
                   help="draw each weight as NxN pixels (default: the smallest "
                        "scale, up to 8, that makes the image at least "
                        f"{png.READABLE_WIDTH} pixels wide)")
    show.add_argument("--normalise", choices=png.NORMALISATIONS,
                   default="symmetric",
                   help="per neuron: symmetric (0 is mid-gray, the largest "
                        "|w| black or white; default) or range (smallest "
                        "black, largest white)")
    show.add_argument("--json", action="store_true",
                   help="print the summary as a JSON object")
    show.set_defaults(func=cmd_show)

    gold = sub.add_parser("golden", help="write the golden cases, for checking "
                                         "another implementation",
                          description="Write the golden cases into DIR: small "
                                      "networks of every activation and cost, "
                                      "each with its parameters, inputs, "
                                      "targets and the reference's outputs, "
                                      "cost, gradient, evaluation, every "
                                      "traced quantity (z, a, delta, grad_w, "
                                      "grad_b of every layer) and the "
                                      "parameters after an update and an "
                                      "epoch: NAME.txt (hex floats in text), "
                                      "NAME.json (the same with the traced "
                                      "quantities, hex floats as strings) and, "
                                      "when numpy is installed, NAME/*.npy "
                                      "(docs/golden.md describes them).")
    gold.add_argument("-o", "--output", required=True, metavar="DIR",
                      help="the directory to write into (created if missing)")
    gold.add_argument("--no-npy", action="store_true",
                      help="write no .npy files, even with numpy installed")
    gold.set_defaults(func=cmd_golden)

    comp = sub.add_parser("compare", help="check another implementation's numbers "
                                          "against pybp's",
                          description="Compare another implementation's z, a, delta, "
                                      "grad_w and grad_b (OTHER, a JSON object of "
                                      "per-layer arrays, numbers or hex-float strings) "
                                      "with pybp's trace of CASE (a golden case as "
                                      "'pybp golden' writes it, NAME.json), in the "
                                      "order backpropagation computes them: prints "
                                      "the largest difference of each quantity and "
                                      "layer and names the first one out of "
                                      "tolerance.  Exit status 0: agrees, 1: "
                                      "differs, 2: the files could not be used.")
    comp.add_argument("case", metavar="CASE", help="the golden case (JSON)")
    comp.add_argument("other", metavar="OTHER", help="the other side's quantities (JSON)")
    comp.add_argument("--exact", action="store_true",
                      help="demand the same bits (for an implementation that claims "
                           "pybp's order of operations)")
    comp.add_argument("--max-ulps", type=_float_type(), metavar="N",
                      help="a value agrees within N ulps (default %g) ..."
                           % crosscheck.ALLOWED_ULPS)
    comp.add_argument("--abs", type=_float_type(), metavar="X",
                      help="... or X absolute (default %g)" % crosscheck.ALLOWED_ABS)
    comp.set_defaults(func=cmd_compare)

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

    d = sub.add_parser("data", help="download data sets (MNIST)",
                       description="Download the data sets pybp trains on.")
    dsub = d.add_subparsers(dest="dataset", metavar="DATASET", parser_class=_Parser)
    dsub.required = True
    default_mirrors = " ".join(download.DEFAULT_MIRRORS)
    m = dsub.add_parser(
        "mnist", help="download MNIST's four files, verified",
        description="Download MNIST's four files (training and test images "
                    "and labels, 11 MB) into DIR.  Each file is checked "
                    "against a pinned SHA-256 before it is put in place, "
                    "atomically; a file already there and right is kept; a "
                    "download that stopped part way is continued where the "
                    "server allows it.  Mirrors are tried in order until one "
                    "delivers a file whole and right.")
    m.add_argument("dir", nargs="?", metavar="DIR",
                   help="where to put the files (default: $PYBP_DATA, else "
                        f"the per-user directory, here {mnist_user_dir()}, "
                        "where pybp train looks)")
    m.add_argument("--url", action="append", metavar="BASE",
                   help="base URL of a mirror (the file names are appended); "
                        "give it more than once to try several in order "
                        f"(default: ${download.URL_ENV}, several separated by "
                        f"spaces, else {default_mirrors})")
    m.add_argument("--timeout", type=_float_type(positive=True),
                   default=download.TIMEOUT, metavar="SECONDS",
                   help="give up on a mirror that does not answer a request "
                        "or send data for this long (default: "
                        f"{download.TIMEOUT:g})")
    m.set_defaults(func=cmd_data_mnist)

    b = sub.add_parser("bench", help="benchmarks",
                       description="Benchmarks of this installation.")
    bsub = b.add_subparsers(dest="bench", metavar="BENCHMARK",
                            parser_class=_Parser)
    bsub.required = True
    grad = bsub.add_parser(
        "gradient", help="backpropagation against finite differences",
        description="For networks of growing size, time one backpropagation "
                    "gradient on a small batch and the finite-difference "
                    "gradient (2 cost evaluations per parameter), print both, "
                    "their ratio and the largest relative difference between "
                    "them.  Finite differences that would take longer than "
                    "--budget are extrapolated from the parameters done.")
    grad.add_argument("--backend", choices=("c", "python"), help=backend_help)
    default_sizes = " ".join(",".join(map(str, s))
                             for s in gradbench.DEFAULT_SIZES)
    grad.add_argument("--sizes-list", type=_sizes_type, nargs="+",
                   metavar="N,N,...",
                   help=f"the networks (default: {default_sizes})")
    grad.add_argument("--batch", type=_int_type(1), default=10, metavar="N",
                   help="examples in the batch (default: 10)")
    grad.add_argument("--budget", type=_float_type(), default=3.0,
                   metavar="SECONDS",
                   help="finite-difference time per network before "
                        "extrapolating (default: 3)")
    grad.add_argument("--seed", type=_int_type(0), default=0, metavar="N",
                   help="seed of the networks and the data (default: 0)")
    grad.add_argument("--json", action="store_true",
                   help="print one JSON object per network")
    grad.set_defaults(func=cmd_bench_gradient)
    return parser

