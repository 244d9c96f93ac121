"""Checkpoints: everything `pybp train` needs to continue a run exactly.

A checkpoint is one ASCII header line followed by a JSON document:

    pybp-checkpoint <version> <crc32 of the JSON bytes, 8 hex digits> <JSON length>
    {"epoch": ..., "history": [...], "params": "<base64>", "settings": {...},
     "shuffle_state": [...], ...}

The header lets a reader reject a truncated or damaged file before trusting
a single number in it; the JSON keeps the rest readable with everyday tools.
Parameters are the raw little-endian float64 bytes in base64, so they come
back bit for bit; the shuffle generator's state is random.getstate() with
tuples written as lists (ints are exact in JSON, and a float gauss_next is
written as its shortest round-trip repr).  docs/cli.md describes the fields.

Files are written atomically (temporary file, fsync, rename), so a run
killed at any moment leaves the previous epoch's checkpoint intact.
"""

import base64
import binascii
import json
import math
import os
import random
import re
import sys
import zlib
from array import array

from ._arrays import to_array
from .files import Reader, save_file
from .spec import NetSpec

__all__ = ["CheckpointError", "Checkpoint", "dumps", "loads", "save", "load",
           "SETTINGS", "MAGIC", "VERSION"]

MAGIC = "pybp-checkpoint"
VERSION = 1

# The run's settings, as stored; `pybp train --resume` takes them from here.
SETTINGS = ("sizes", "activations", "cost", "eta", "lmbda", "mini_batch_size",
            "epochs", "seed", "init", "limit", "test_limit", "data")
# Settings added later, with the value a checkpoint without them stands for.
OPTIONAL = {"dtype": "float64"}

_HEADER_MAX = 100  # a valid header line is far shorter
_DEPTH_MAX = 8     # a valid document nests 4 deep; a forged one may try 10**6
SEED_MAX = 2 ** 64 - 1
DATA_KINDS = ("mnist", "csv")
INITS = ("normal", "scaled")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


class CheckpointError(ValueError):
    """A checkpoint file is damaged, truncated or not a checkpoint at all."""


class Checkpoint:
    """A decoded checkpoint: settings, epoch, shuffle_state, params, history."""

    __slots__ = ("settings", "epoch", "shuffle_state", "params", "history")

    def __init__(self, settings, epoch, shuffle_state, params, history):
        self.settings = settings
        self.epoch = epoch
        self.shuffle_state = shuffle_state
        self.params = params
        self.history = history

    def __repr__(self):
        return "Checkpoint(epoch=%d of %d, sizes=%r)" % (
            self.epoch, self.settings["epochs"], self.settings["sizes"])


def _state_to_json(state):
    version, internal, gauss_next = state
    return [version, list(internal), gauss_next]


def _params_bytes(params):
    values = to_array("d", params)
    if sys.byteorder == "big":  # pragma: no cover - stored little-endian
        values.byteswap()
    return values.tobytes()


def dumps(settings, epoch, shuffle_state, params, history, extra=None):
    """The bytes of a checkpoint file.

    settings: a dict with the keys of SETTINGS; epoch: epochs finished;
    shuffle_state: Network.shuffle_state; params: the flat float64
    parameters; history: one record (dict) per finished epoch; extra:
    informational fields (ignored when read back).
    """
    missing = [k for k in SETTINGS if k not in settings]
    if missing:
        raise ValueError("checkpoint settings lack %s" % ", ".join(missing))
    doc = dict(extra or {})
    doc.update({
        "settings": dict({k: settings[k] for k in SETTINGS},
                         **{k: settings.get(k, v) for k, v in OPTIONAL.items()}),
        "epoch": epoch,
        "shuffle_state": _state_to_json(shuffle_state),
        "params": base64.b64encode(_params_bytes(params)).decode("ascii"),
        "history": list(history),
    })
    # allow_nan: a diverged run's cost may be inf or nan; Python reads those
    # back, and a checkpoint is meant for pybp, not for strict JSON parsers.
    body = (json.dumps(doc, sort_keys=True, separators=(",", ":"))
            + "\n").encode("ascii")
    header = "%s %d %08x %d\n" % (MAGIC, VERSION, zlib.crc32(body) & 0xFFFFFFFF,
                                  len(body))
    return header.encode("ascii") + body


# --- reading --------------------------------------------------------------


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_settings(s, fail):
    if not isinstance(s, dict):
        raise fail("settings is not an object")
    missing = [k for k in SETTINGS if k not in s]
    if missing:
        raise fail("settings lack %s" % ", ".join(missing))
    if not (isinstance(s["sizes"], list) and all(map(_is_int, s["sizes"]))):
        raise fail("settings.sizes is not a list of integers")
    if not (isinstance(s["activations"], list)
            and all(isinstance(a, str) for a in s["activations"])):
        raise fail("settings.activations is not a list of names")
    for key in ("cost", "init", "data"):
        if not isinstance(s[key], str):
            raise fail("settings.%s is not a string" % key)
    if s["data"] not in DATA_KINDS:
        raise fail("settings.data is %r, not one of %s"
                   % (s["data"][:40], ", ".join(DATA_KINDS)))
    if s["init"] not in INITS:
        raise fail("settings.init is %r, not one of %s"
                   % (s["init"][:40], ", ".join(INITS)))
    for key in ("eta", "lmbda"):
        if not _is_number(s[key]) or not math.isfinite(s[key]):
            raise fail("settings.%s is not a finite number" % key)
    if s["eta"] <= 0:
        raise fail("settings.eta must be > 0, got %r" % s["eta"])
    if s["lmbda"] < 0:
        raise fail("settings.lmbda must be >= 0, got %r" % s["lmbda"])
    for key in ("mini_batch_size", "epochs", "seed"):
        if not _is_int(s[key]):
            raise fail("settings.%s is not an integer" % key)
    for key in ("mini_batch_size", "epochs"):
        if s[key] < 1:
            raise fail("settings.%s must be at least 1, got %d" % (key, s[key]))
    if not 0 <= s["seed"] <= SEED_MAX:
        raise fail("settings.seed is not in 0 .. 2**64-1")
    for key in ("limit", "test_limit"):
        if s[key] is not None and not (_is_int(s[key]) and s[key] >= 1):
            raise fail("settings.%s is not a positive integer or null" % key)
    for key, default in OPTIONAL.items():
        s.setdefault(key, default)
    if s["dtype"] not in ("float64", "float32"):
        raise fail("settings.dtype is not float64 or float32")
    try:
        spec = NetSpec(s["sizes"], s["activations"], s["cost"])
    except (TypeError, ValueError) as exc:
        raise fail("settings describe no valid network: %s" % exc) from None
    return spec


def _decode_state(raw, fail):
    if not (isinstance(raw, list) and len(raw) == 3 and _is_int(raw[0])
            and isinstance(raw[1], list) and all(map(_is_int, raw[1]))
            and (raw[2] is None or _is_number(raw[2]))):
        raise fail("shuffle_state is not [version, [integers], gauss_next]")
    state = (raw[0], tuple(raw[1]), raw[2])
    if not any(raw[1][:-1]):
        # Mersenne Twister's all-zero state repeats 0 forever: no shuffle.
        raise fail("shuffle_state is the all-zero generator state")
    try:
        random.Random().setstate(state)
    except (TypeError, ValueError, OverflowError) as exc:
        raise fail("shuffle_state is not a valid generator state (%s)" % exc) \
            from None
    return state


def _decode_params(text, nparams, fail):
    if not isinstance(text, str):
        raise fail("params is not a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise fail("params is not valid base64") from None
    if len(raw) != 8 * nparams:
        raise fail("params hold %d bytes, the network needs %d float64 "
                   "values (%d bytes)" % (len(raw), nparams, 8 * nparams))
    params = array("d")
    params.frombytes(raw)
    if sys.byteorder == "big":  # pragma: no cover
        params.byteswap()
    bad = next((i for i, v in enumerate(params) if not math.isfinite(v)), None)
    if bad is not None:
        raise fail("parameter %d is %r (not finite)" % (bad, params[bad]))
    return params


def _check_history(history, epoch, fail):
    if not isinstance(history, list) or len(history) != epoch:
        raise fail("history should hold %d epoch records" % epoch)
    for i, rec in enumerate(history, 1):
        if not isinstance(rec, dict) or rec.get("epoch") != i:
            raise fail("history record %d is malformed" % i)
        for key in ("correct", "total"):
            if not _is_int(rec.get(key)) or rec[key] < 0:
                raise fail("history record %d lacks an integer %s" % (i, key))
        if rec["correct"] > rec["total"]:
            raise fail("history record %d has correct %d > total %d"
                       % (i, rec["correct"], rec["total"]))
        for key in ("cost", "seconds"):
            if not _is_number(rec.get(key)):
                raise fail("history record %d lacks a number %s" % (i, key))


def _header(data, fail):
    """(end of the header line, crc, length of the JSON) from a checkpoint's
    first bytes; fail(problem) makes the exception for a bad header."""
    end = data.find(b"\n", 0, _HEADER_MAX)
    head = data[:end if end >= 0 else _HEADER_MAX]
    fields = head.split(b" ")
    if not data.startswith(MAGIC.encode("ascii") + b" ") or end < 0 \
            or len(fields) != 4:
        if not data:
            raise fail("empty file, not a pybp checkpoint")
        raise fail("not a pybp checkpoint (it should start with %r)" % MAGIC)
    try:
        version = int(fields[1])
        crc = int(fields[2], 16)
        length = int(fields[3])
    except ValueError:
        raise fail("malformed checkpoint header %r" % head.decode("ascii", "replace")) \
            from None
    if version != VERSION:
        raise fail("checkpoint format version %d, this pybp reads version %d"
                   % (version, VERSION))
    return end, crc, length


def _nesting(body):
    """How deep the arrays and objects of a JSON text nest (strings skipped),
    found before json.loads would recurse that deep."""
    depth = deepest = 0
    for c in re.findall(rb"[\[\]{}]", _STRINGS.sub(b"", body)):
        if c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(data, source="checkpoint"):
    """Decode and check checkpoint bytes; returns a Checkpoint.

    Raises CheckpointError, naming `source`, for anything wrong: not a
    checkpoint, another version, truncated, checksum mismatch, or fields
    that do not fit together.
    """
    def fail(problem):
        return CheckpointError("%s: %s" % (source, problem))

    data = bytes(data)
    end, crc, length = _header(data, fail)
    body = data[end + 1:]
    if len(body) < length:
        raise fail("truncated: the header promises %d bytes of data, the file "
                   "has %d" % (length, len(body)))
    if len(body) > length:
        raise fail("%d unexpected bytes after the end of the checkpoint"
                   % (len(body) - length))
    actual = zlib.crc32(body) & 0xFFFFFFFF
    if actual != crc:
        raise fail("checksum mismatch (stored %08x, computed %08x): the file "
                   "is corrupt" % (crc, actual))
    depth = _nesting(body)
    if depth > _DEPTH_MAX:
        raise fail("the JSON document nests %d deep (a checkpoint nests at "
                   "most %d)" % (depth, _DEPTH_MAX))
    try:
        doc = json.loads(body.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail("unreadable JSON (%s)" % exc) from None
    if not isinstance(doc, dict):
        raise fail("the JSON document is not an object")
    for key in ("settings", "epoch", "shuffle_state", "params", "history"):
        if key not in doc:
            raise fail("no %r field" % key)
    spec = _check_settings(doc["settings"], fail)
    epoch = doc["epoch"]
    if not _is_int(epoch) or epoch < 1:
        raise fail("epoch is not a positive integer")
    if epoch > doc["settings"]["epochs"]:
        raise fail("epoch %d is past the run's %d epochs"
                   % (epoch, doc["settings"]["epochs"]))
    state = _decode_state(doc["shuffle_state"], fail)
    params = _decode_params(doc["params"], spec.nparams, fail)
    _check_history(doc["history"], epoch, fail)
    return Checkpoint(doc["settings"], epoch, state, params, doc["history"])


def save(path, settings, epoch, shuffle_state, params, history, extra=None):
    """Write a checkpoint atomically (the old file survives any interruption)."""
    save_file(path, dumps(settings, epoch, shuffle_state, params, history, extra))


def load(path):
    """Read and check a checkpoint file; returns a Checkpoint.

    Reads the header line first and then only the bytes it declares (plus
    one, to see that nothing follows): a file that is not a checkpoint costs
    no more than its first line to refuse.
    """
    path = os.fspath(path)

    def fail(problem):
        return CheckpointError("%s: %s" % (path, problem))
    with Reader(path, "a checkpoint file") as f:
        data = f.read(_HEADER_MAX)
        end, _, length = _header(data, fail)
        need = end + 1 + length
        if f.size is not None and f.size > need:
            raise fail("%d unexpected bytes after the end of the checkpoint"
                       % (f.size - need))
        if need + 1 > len(data):
            data += f.read_upto(need + 1 - len(data))
    return loads(data, source=path)
