"""What the pybp commands share: the two kinds of error main() reports,
writing lines and JSON, and the checks several commands make."""

import json
import math
import os

from ..spec import NetSpec

MNIST_INPUTS = 784
MNIST_CLASSES = 10


class UsageError(Exception):
    """Bad command-line arguments: exit status 2."""


class RunError(Exception):
    """A problem found while running (files, data): exit status 1."""


def say(stream, text):
    stream.write(text + "\n")
    stream.flush()  # a reader of a pipe sees each epoch as it ends


def _finite_or_none(value):
    return value if math.isfinite(value) else None


def json_line(obj):
    # Strict JSON: a diverged cost (inf, nan) is written as null.
    clean = {k: (_finite_or_none(v) if isinstance(v, float) else v)
             for k, v in obj.items()}
    return json.dumps(clean, allow_nan=False)


def percent(correct, total):
    return 100.0 * correct / total if total else 0.0


def show(value):
    """A setting as the command line writes it: 784,30,10 for a list."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def check_output_path(path, option):
    """Fail before training, not after it, when a file cannot be written."""
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory")
    directory = os.path.dirname(path) or os.curdir
    if not os.path.isdir(directory):
        raise UsageError(f"{option} {path}: directory {directory} does not "
                         "exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"{option} {path}: directory {directory} is not "
                         "writable")


def network_spec(sizes, activation, cost):
    """The NetSpec of the options; UsageError when they do not make one."""
    try:
        return NetSpec(sizes, activation if len(activation) > 1 else activation[0],
                       cost)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{exc} (sizes {show(list(sizes))}, activation "
                         f"{show(list(activation))}, cost {cost})") from None
