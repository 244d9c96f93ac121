"""What the pybp commands share: the two kinds of error main() reports,
writing lines and JSON, and the checks several commands make."""

import json
import math
import os

from .. import files
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


def _strict(value):
    """value with every float that is not finite (a diverged cost, a norm
    beyond the float64 range) replaced by None, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def json_line(obj):
    """obj as one line of strict JSON (no NaN or Infinity, which strict
    parsers refuse): every --json output of pybp goes through here."""
    return json.dumps(_strict(obj), allow_nan=False)


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
    try:
        files.check_writable(path)
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}") from None


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs, inputs=()):
    """Check each (option, path) output as check_output_path does, and that
    no two outputs are one file and no output is one of the (option, path)
    inputs: a run must not overwrite its own data or its other results."""
    outputs = [(o, p) for o, p in outputs if p is not None]
    inputs = [(o, p) for o, p in inputs if p is not None]
    for i, (option, path) in enumerate(outputs):
        check_output_path(path, option)
        for other, earlier in outputs[:i]:
            if _same_file(path, earlier):
                raise UsageError(f"{other} and {option} both name {path}; "
                                 "give each its own file")
        for source, given in inputs:
            if _same_file(path, given):
                raise UsageError(f"{option} {path} is the {source} file; "
                                 "writing it would destroy the input")


def network_spec(sizes, activation, cost):
    """The NetSpec of the options; UsageError when they do not make one."""
    try:
        return NetSpec(sizes, activation if len(activation) > 1 else activation[0],
                       cost)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{exc} (sizes {show(list(sizes))}, activation "
                         f"{show(list(activation))}, cost {cost})") from None
