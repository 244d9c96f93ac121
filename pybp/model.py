"""Model files: a network's shape and parameters in one checksummed binary.

The byte layout is documented in docs/model-format.md; csrc/pybp_model.c
implements the same format independently, and the tests check that the two
agree byte for byte.  Only the standard library is used.

    data = dumps(sizes, activations, cost, params)
    save_file(path, data)                       # atomic replace
    sizes, activations, cost, params = load_file(path)
"""

import errno
import math
import os
import struct
import sys
import zlib
from array import array

__all__ = ["ModelFormatError", "dumps", "loads", "save_file", "load_file",
           "ACTIVATION_CODES", "COST_CODES", "MAGIC", "VERSION"]

MAGIC = b"PYBPNET\x00"
VERSION = 1
MAX_LAYERS = 64  # PYBP_MAX_LAYERS in pybp.h

# The numeric codes are pybp.h's PYBP_* constants.
ACTIVATION_CODES = {"sigmoid": 1, "tanh": 2, "relu": 3, "identity": 4,
                    "softmax": 5}
COST_CODES = {"quadratic": 1, "cross-entropy": 2, "log-likelihood": 3}
_ACTIVATION_NAMES = {v: k for k, v in ACTIVATION_CODES.items()}
_COST_NAMES = {v: k for k, v in COST_CODES.items()}

_FIXED = struct.Struct("<8sIII")  # magic, version, nlayers, cost
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class ModelFormatError(ValueError):
    """A model file (or byte string) is not a valid pybp model."""


def _params_offset(nlayers):
    """Bytes before the parameters: fixed part, sizes, activations, P."""
    return _FIXED.size + 4 * nlayers + 4 * (nlayers - 1) + 8


def _param_count(sizes):
    count = 0
    for prev, n in zip(sizes, sizes[1:]):
        count += n * (prev + 1)
    return count


def _combination_problem(activations, cost):
    """Why these activation and cost names cannot go together, or None."""
    for layer, name in enumerate(activations[:-1], 1):
        if name == "softmax":
            return ("softmax on hidden layer %d (it is allowed on the output "
                    "layer only)" % layer)
    out = activations[-1]
    if cost == "quadratic" and out == "softmax":
        return "the quadratic cost cannot be used with softmax outputs"
    if cost == "cross-entropy" and out != "sigmoid":
        return "the cross-entropy cost needs sigmoid outputs, not %s" % out
    if cost == "log-likelihood" and out != "softmax":
        return "the log-likelihood cost needs softmax outputs, not %s" % out
    return None


def _as_doubles(params):
    """A fresh array('d') copy of params (a buffer of float64 or numbers)."""
    try:
        mv = memoryview(params)
    except TypeError:
        return array("d", params)
    if mv.format in ("d", "<d", "=d") and mv.itemsize == 8 and mv.c_contiguous:
        out = array("d")
        out.frombytes(mv.cast("B"))
        if mv.format == "<d" and sys.byteorder == "big":  # pragma: no cover
            out.byteswap()
        return out
    return array("d", params)


def dumps(sizes, activations, cost, params):
    """The bytes of a model file for this network and its parameters."""
    sizes = tuple(sizes)
    activations = tuple(activations)
    if not 2 <= len(sizes) <= MAX_LAYERS:
        raise ValueError("a network has 2 to %d layers, got %d"
                         % (MAX_LAYERS, len(sizes)))
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n < 2**32:
            raise ValueError("layer sizes must be integers from 1 to 2**32-1, "
                             "got %r" % (n,))
    if len(activations) != len(sizes) - 1:
        raise ValueError("%d layers need %d activations, got %d"
                         % (len(sizes), len(sizes) - 1, len(activations)))
    for name in activations:
        if name not in ACTIVATION_CODES:
            raise ValueError("unknown activation %r" % (name,))
    if cost not in COST_CODES:
        raise ValueError("unknown cost %r" % (cost,))
    problem = _combination_problem(activations, cost)
    if problem:
        raise ValueError(problem)
    values = _as_doubles(params)
    if len(values) != _param_count(sizes):
        raise ValueError("sizes %s need %d parameters, got %d"
                         % (list(sizes), _param_count(sizes), len(values)))
    if not all(map(math.isfinite, values)):
        bad = next(i for i, v in enumerate(values) if not math.isfinite(v))
        raise ValueError("parameter %d is %r; only finite numbers can be saved"
                         % (bad, values[bad]))
    if sys.byteorder == "big":  # pragma: no cover - the format is little-endian
        values.byteswap()
    n = len(sizes)
    body = b"".join([
        _FIXED.pack(MAGIC, VERSION, n, COST_CODES[cost]),
        struct.pack("<%dI" % n, *sizes),
        struct.pack("<%dI" % (n - 1), *(ACTIVATION_CODES[a] for a in activations)),
        _U64.pack(len(values)),
        values.tobytes(),
    ])
    return body + _U32.pack(zlib.crc32(body) & 0xFFFFFFFF)


def loads(data, source="model data"):
    """Decode a model file image: (sizes, activations, cost, params).

    `source` names the data in error messages (load_file passes the path).
    Checks run in the same order as pybp_model_read's, so that a file that
    is only cut short is always reported as truncated.
    """
    data = memoryview(data).cast("B")
    length = len(data)

    def fail(problem):
        return ModelFormatError("%s: %s" % (source, problem))

    def truncated(need):
        return fail("truncated: %d bytes, a model file needs at least %d here"
                    % (length, need))

    if length < len(MAGIC):
        if bytes(data) != MAGIC[:length]:
            raise fail("not a pybp model file (it does not start with %r)"
                       % MAGIC)
        raise fail("empty file") if length == 0 else truncated(_FIXED.size)
    if bytes(data[:len(MAGIC)]) != MAGIC:
        raise fail("not a pybp model file (it does not start with %r)" % MAGIC)
    if length < 12:
        raise truncated(_FIXED.size)
    version = _U32.unpack_from(data, 8)[0]
    if version != VERSION:
        raise fail("unsupported model format version %d (this pybp reads "
                   "version %d)" % (version, VERSION))
    if length < _FIXED.size:
        raise truncated(_FIXED.size)
    _, _, nlayers, cost_code = _FIXED.unpack_from(data, 0)
    if not 2 <= nlayers <= MAX_LAYERS:
        raise fail("bad layer count %d (must be 2 to %d)" % (nlayers, MAX_LAYERS))
    if cost_code not in _COST_NAMES:
        raise fail("unknown cost code %d" % cost_code)

    offset = _params_offset(nlayers)
    if length < offset:
        raise truncated(offset)
    sizes = struct.unpack_from("<%dI" % nlayers, data, _FIXED.size)
    codes = struct.unpack_from("<%dI" % (nlayers - 1), data,
                               _FIXED.size + 4 * nlayers)
    stored_count = _U64.unpack_from(data, offset - 8)[0]
    for layer, n in enumerate(sizes):
        if n == 0:
            raise fail("layer %d has size 0" % layer)
    for layer, code in enumerate(codes, 1):
        if code not in _ACTIVATION_NAMES:
            raise fail("unknown activation code %d for layer %d" % (code, layer))
    activations = tuple(_ACTIVATION_NAMES[c] for c in codes)
    cost = _COST_NAMES[cost_code]
    problem = _combination_problem(activations, cost)
    if problem:
        raise fail(problem)
    count = _param_count(sizes)
    if stored_count != count:
        raise fail("parameter count %d does not match the layer sizes %s "
                   "(they need %d)" % (stored_count, list(sizes), count))

    end = offset + 8 * count
    if length < end + 4:
        raise fail("truncated: header says %d bytes, file has %d"
                   % (end + 4, length))
    if length > end + 4:
        raise fail("%d unexpected bytes after the end of the model"
                   % (length - end - 4))
    stored_crc = _U32.unpack_from(data, end)[0]
    crc = zlib.crc32(data[:end]) & 0xFFFFFFFF
    if stored_crc != crc:
        raise fail("checksum mismatch (stored %08x, computed %08x): the file "
                   "is corrupt" % (stored_crc, crc))
    params = array("d")
    params.frombytes(data[offset:end])
    if sys.byteorder == "big":  # pragma: no cover
        params.byteswap()
    if not all(map(math.isfinite, params)):
        bad = next(i for i, v in enumerate(params) if not math.isfinite(v))
        raise fail("parameter %d is %r (not finite)" % (bad, params[bad]))
    return sizes, activations, cost, params


def _directory_error(path, what):
    return IsADirectoryError(errno.EISDIR, "is a directory, not %s" % what,
                             path)


def named_os_error(exc, path):
    """exc, naming `path` if it names no file (a failed read() names none)."""
    if exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror, path)
    return exc


def read_bytes(path):
    """All the bytes of a file; an error while reading names the file."""
    with open(path, "rb") as f:
        try:
            return f.read()
        except OSError as exc:
            raise named_os_error(exc, path) from None


def load_file(path):
    """Read and decode a model file: (sizes, activations, cost, params)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise _directory_error(path, "a pybp model file")
    return loads(read_bytes(path), source=str(path))


def _fsync_directory(directory):
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_file(path, data):
    """Write `data` to `path` atomically: readers see the old file or the new.

    The bytes go to a temporary file in the same directory (a rename is only
    atomic within one file system), are flushed to disk, and then replace
    `path` in one step.  If anything fails, `path` is untouched and the
    temporary file is removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise _directory_error(path, "a file to save a model to")
    directory, name = os.path.split(path)
    directory = directory or os.curdir
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "no such directory to save a "
                                "model in", directory)
    for _ in range(100):
        tmp = os.path.join(directory, ".%s.%s.tmp" % (name, os.urandom(4).hex()))
        try:
            # 0o666 before the umask: the permissions a plain open() gives.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(errno.EEXIST, "no free temporary name", path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)
