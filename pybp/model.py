"""Model files: a network's shape and parameters in one checksummed binary.

The byte layout is documented in docs/model-format.md; csrc/pybp_model.c
implements the same format independently, and the tests check that the two
agree byte for byte.  Only the standard library is used.

    data = dumps(sizes, activations, cost, params)
    save_file(path, data)            # atomic replace (pybp.files)
    sizes, activations, cost, params = load_file(path)
"""

import math
import os
import struct
import sys
import zlib
from array import array

from ._arrays import to_array
from .files import Reader, save_file
from .spec import ACTIVATION_CODES, COST_CODES, MAX_LAYERS, combination_problem, nparams

__all__ = ["ModelFormatError", "dumps", "loads", "save_file", "load_file",
           "ACTIVATION_CODES", "COST_CODES", "MAGIC", "VERSION"]

MAGIC = b"PYBPNET\x00"
VERSION = 1
# The numeric codes (pybp.spec) are pybp.h's PYBP_* constants.
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


def _as_doubles(params):
    """A fresh array('d') copy of params (a buffer of float64 or numbers)."""
    return to_array("d", params)


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
    problem = combination_problem(activations, cost)
    if problem:
        raise ValueError(problem)
    values = _as_doubles(params)
    if len(values) != nparams(sizes):
        raise ValueError("sizes %s need %d parameters, got %d"
                         % (list(sizes), nparams(sizes), len(values)))
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
    problem = combination_problem(activations, cost)
    if problem:
        raise fail(problem)
    count = nparams(sizes)
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


def _declared_length(head):
    """The file length a model header implies, or None when the header is
    too short or not a model's (loads then says what is wrong)."""
    if len(head) < _FIXED.size or bytes(head[:len(MAGIC)]) != MAGIC:
        return None
    nlayers = _FIXED.unpack_from(head, 0)[2]
    if not 2 <= nlayers <= MAX_LAYERS or len(head) < _params_offset(nlayers):
        return None
    sizes = struct.unpack_from("<%dI" % nlayers, head, _FIXED.size)
    return _params_offset(nlayers) + 8 * nparams(sizes) + 4


# The longest header: the fixed part, MAX_LAYERS sizes and activations, P.
_HEAD_MAX = _params_offset(MAX_LAYERS)


def load_file(path):
    """Read and decode a model file: (sizes, activations, cost, params).

    Reads only what the header says the file holds (plus one byte, to see
    that nothing follows), so a file that is not a model, or one far longer
    than its header declares, costs no more than its header to refuse.
    """
    source = str(os.fspath(path))
    with Reader(path, "a pybp model file") as f:
        data = f.read(_HEAD_MAX)
        need = _declared_length(data)
        if need is not None:
            if f.size is not None and f.size > need:
                raise ModelFormatError("%s: %d unexpected bytes after the end "
                                       "of the model" % (source, f.size - need))
            if need + 1 > len(data):
                data += f.read_upto(need + 1 - len(data))
    return loads(data, source=source)
