"""Fuzz targets for pybp's Python file readers, run under atheris.

    python fuzz/fuzz_py.py TARGET [libFuzzer options] [corpus dirs or files]

TARGET is one of:
  py_model    pybp.model.loads on arbitrary bytes; an accepted image must
              dump back to the same bytes, and (when fuzz/build.sh has built
              fuzz/build/libpybp_model.so) the C reader must accept exactly
              the same images, with the same contents, and reject the others
              for the same kind of reason (truncated, version, checksum,
              format: the table of docs/model-format.md).
  py_idx      pybp.data.read_idx on a file holding the bytes (gzipped first
              when the mode byte says so); accepted data must match its dims.
  py_csv      pybp.data.load_csv / read_csv_inputs on a file holding the
              bytes; an accepted data set must be consistent and finite.
  py_dataset  pybp.dataset.Dataset built from decoded rows, buffers, labels.

The first input byte is a mode byte for each target.  A target may raise
only the exceptions its API documents: ModelFormatError (loads), DataError
(the file readers, which must name the file and line rather than let a
UnicodeDecodeError or a Dataset ValueError through), TypeError and
ValueError (Dataset), OSError with an errno (the file system).  Anything
else, or a broken invariant (AssertionError), is a finding and makes the run
fail with a crash file.

Without atheris (or with --fallback) the same targets run under a small
random-mutation loop over the corpus, with the same options
(-max_total_time=N, -artifact_prefix=DIR/, corpus directories).
"""

import ctypes
import gzip
import hashlib
import math
import os
import random
import struct
import sys
import tempfile
import time
import traceback
import zlib
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
os.environ.setdefault("PYBP_BACKEND", "python")

FALLBACK = "--fallback" in sys.argv
if FALLBACK:
    sys.argv.remove("--fallback")
    atheris = None
else:
    try:
        import atheris
    except ImportError:
        atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["pybp"]):
        from pybp import checkpoint as pcheckpoint
        from pybp import data as pdata
        from pybp import dataset as pdataset
        from pybp import model as pmodel
else:
    from pybp import checkpoint as pcheckpoint
    from pybp import data as pdata
    from pybp import dataset as pdataset
    from pybp import model as pmodel

TMPDIR = tempfile.mkdtemp(prefix="pybp-fuzz-")
TMPFILE = os.path.join(TMPDIR, "input")


def write_tmp(content):
    with open(TMPFILE, "wb") as f:
        f.write(content)
    return TMPFILE


def expected_os_error(exc):
    """An OSError from the file system (it has an errno), not from parsing."""
    return isinstance(exc, OSError) and exc.errno is not None


class Bytes:
    """Consumes an input byte by byte; past the end everything reads 0."""

    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def u8(self):
        if self.pos >= len(self.buf):
            return 0
        self.pos += 1
        return self.buf[self.pos - 1]

    def number(self):
        b = self.u8()
        if b < 200:
            return (b - 100) / 8.0
        return [math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324, 2**53,
                True][b % 8]


# --- model files -------------------------------------------------------------

class CModel:
    """The C reader (csrc/pybp_model.c) through ctypes, if it was built."""

    def __init__(self):
        path = os.path.join(HERE, "build", "libpybp_model.so")
        self.lib = None
        if os.path.exists(path):
            self.lib = ctypes.CDLL(path)
            sz = ctypes.c_size_t
            self.lib.pybp_model_info.argtypes = [
                ctypes.c_char_p, sz, ctypes.POINTER(sz), ctypes.POINTER(sz)]
            self.lib.pybp_model_read.argtypes = [
                ctypes.c_char_p, sz, ctypes.POINTER(sz), sz,
                ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
                ctypes.POINTER(ctypes.c_double), sz]

    def read(self, img):
        """(status, None) or (0, (sizes, activation codes, cost code, params))."""
        nl, np_ = ctypes.c_size_t(), ctypes.c_size_t()
        st = self.lib.pybp_model_info(img, len(img), ctypes.byref(nl),
                                      ctypes.byref(np_))
        if st != 0:
            return st, None
        sizes = (ctypes.c_size_t * nl.value)()
        acts = (ctypes.c_int * (nl.value - 1))()
        cost = ctypes.c_int()
        params = (ctypes.c_double * max(np_.value, 1))()
        st = self.lib.pybp_model_read(img, len(img), sizes, nl.value, acts,
                                      ctypes.byref(cost), params, np_.value)
        assert st == 0, "model_info accepted what model_read refused: %d" % st
        return 0, (tuple(sizes), tuple(acts), cost.value,
                   bytes(params)[:8 * np_.value])


CMODEL = CModel()
C_STATUS = {14: "format", 15: "checksum", 16: "truncated", 17: "version"}


def python_kind(message):
    """The C status a Python ModelFormatError message corresponds to."""
    if "truncated" in message or "empty file" in message:
        return "truncated"
    if "unsupported model format version" in message:
        return "version"
    if "checksum mismatch" in message:
        return "checksum"
    return "format"


def t_model(buf):
    if not buf:
        return
    img = bytearray(buf[1:])
    if buf[0] & 1 and len(img) >= 4:  # make the checksum right, as fuzz_model
        img[-4:] = struct.pack("<I", zlib.crc32(bytes(img[:-4])) & 0xFFFFFFFF)
    img = bytes(img)
    try:
        sizes, acts, cost, params = pmodel.loads(img)
    except pmodel.ModelFormatError as exc:
        error = str(exc)
    else:
        error = None
        assert pmodel.dumps(sizes, acts, cost, params) == img, "round trip"
    if CMODEL.lib is None:
        return
    st, got = CMODEL.read(img)
    if error is not None:
        assert st != 0, "C accepts what Python rejects: %s" % error
        assert C_STATUS.get(st) == python_kind(error), (
            "C status %d, Python says %s" % (st, error))
    else:
        assert st == 0, "Python accepts what C rejects (status %d)" % st
        assert got == (sizes,
                       tuple(pmodel.ACTIVATION_CODES[a] for a in acts),
                       pmodel.COST_CODES[cost], params.tobytes()), "C/Python"


# --- IDX ---------------------------------------------------------------------

IDX_ITEM = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def t_idx(buf):
    if not buf:
        return
    content = bytes(buf[1:])
    if buf[0] & 1:
        content = gzip.compress(content, compresslevel=1, mtime=0)
    # Half the time a caller that takes at most 64 values of one type: the
    # header alone must decide, and what is read stays within that.
    limit = 64 if buf[0] & 2 else None
    expect = None
    if limit is not None:
        def expect(dims, code):
            n = 1
            for d in dims:
                n *= d
            return None if n <= limit and code == 0x08 else "too large"
    try:
        result = pdata.read_idx(write_tmp(content), expect=expect)
    except pdata.DataError:
        return
    except OSError as exc:
        if expected_os_error(exc):
            return
        raise
    dims, values = result
    n = 1
    for d in dims:
        assert d > 0
        n *= d
    assert len(values) == n, (dims, len(values))
    plain = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    assert IDX_ITEM[plain[2]] * n + 4 + 4 * len(dims) == len(plain)
    assert isinstance(values, bytearray) == (plain[2] == 0x08)
    assert limit is None or (n <= limit and plain[2] == 0x08)


# --- CSV ---------------------------------------------------------------------

def t_csv(buf):
    if not buf:
        return
    mode = buf[0]
    has_header = (None, False, True, None)[mode & 3]
    n_classes = 1 + (mode >> 5) if mode & 4 else None
    which = mode >> 3 & 3
    path = write_tmp(bytes(buf[1:]))
    try:
        if which == 1:
            ds = pdata.read_csv_inputs(path, has_header=has_header)
        elif which == 2:
            ds = pdata.read_csv_inputs(path, has_header=has_header,
                                       has_labels=True)
        else:
            ds = pdata.load_csv(path, n_classes=n_classes,
                                has_header=has_header)
    except pdata.DataError:  # not any ValueError: UnicodeDecodeError is one
        return
    except OSError as exc:
        if expected_os_error(exc):
            return
        raise
    assert ds.count >= 1 and ds.n_inputs >= 1
    assert len(ds.x) == ds.count * ds.n_inputs
    assert all(math.isfinite(v) for v in ds.x)
    if which != 1:
        assert ds.labels is not None and len(ds.labels) == ds.count
        assert all(v >= 0 for v in ds.labels)
        if which != 2 and n_classes is not None:
            assert all(v < n_classes for v in ds.labels)


# --- Dataset -----------------------------------------------------------------

def t_dataset(buf):
    b = Bytes(buf)
    mode = b.u8()
    rows, width = 1 + b.u8() % 5, b.u8() % 4
    kwargs = {}
    if mode & 3 == 0:      # rows of numbers (some maybe ragged)
        inputs = [[b.number() for _ in range(width + (b.u8() > 250))]
                  for _ in range(rows)]
    elif mode & 3 == 1:    # uint8 buffer with a divisor
        inputs = bytes(b.u8() for _ in range(rows * max(width, 1)))
        kwargs["n_inputs"] = width if b.u8() < 250 else b.number()
        kwargs["divisor"] = [255.0, 1, 0.5, 0, -1, math.nan, True, "x"][b.u8() % 8]
    elif mode & 3 == 2:    # flat float64 buffer
        inputs = array("d", [b.number() for _ in range(rows * max(width, 1))])
        kwargs["n_inputs"] = [width, width + 1, 0, None][b.u8() % 4]
    else:                  # flat list with n_inputs, or something odd
        inputs = [[b.number() for _ in range(width)] for _ in range(rows)]
        inputs = [inputs, [], "ab", b"\x01", inputs[0]][b.u8() % 5]
    targets = labels = None
    kind = mode >> 2 & 3
    if kind == 1:
        targets = [[b.number() for _ in range(1 + b.u8() % 3)]
                   for _ in range(rows + (b.u8() > 240))]
    elif kind == 2:
        labels = [b.u8() - 5 for _ in range(rows + (b.u8() > 240))]
    elif kind == 3:
        targets = array("d", [b.number() for _ in range(rows * (1 + b.u8() % 3))])
    try:
        ds = pdataset.Dataset(inputs, targets, labels=labels, **kwargs)
    except UnicodeError:
        raise
    except (TypeError, ValueError):
        return
    assert ds.count >= 1 and ds.n_inputs >= 1
    for i in range(ds.count):
        x = ds.input(i)
        assert len(x) == ds.n_inputs and all(math.isfinite(v) for v in x)
    if ds.y is not None:
        assert len(ds.y) == ds.count * ds.n_outputs
        for i in range(ds.count):
            assert len(ds.target(i, ds.n_outputs)) == ds.n_outputs
            assert 0 <= ds.target_class(i) < ds.n_outputs
    if ds.labels is not None:
        assert all(v >= 0 for v in ds.labels)
    sub = ds.subset(1 + b.u8() % (ds.count + 1))
    assert 1 <= sub.count <= ds.count and sub.input(0) == ds.input(0)
    repr(ds)


# --- checkpoints -----------------------------------------------------------------

def t_checkpoint(buf):
    """A checkpoint image, its header made right half the time (the CRC
    detects damage, not intent): CheckpointError or a consistent result,
    the same from bytes and from a file."""
    if not buf:
        return
    body = bytes(buf[1:])
    if buf[0] & 1:
        body = b"pybp-checkpoint 1 %08x %d\n" % (zlib.crc32(body) & 0xFFFFFFFF,
                                                 len(body)) + body
    try:
        ck = pcheckpoint.loads(body, source="ck")
    except pcheckpoint.CheckpointError as exc:
        try:
            pcheckpoint.load(write_tmp(body))
        except pcheckpoint.CheckpointError as again:
            assert str(again).split(": ", 1)[1] == str(exc).split(": ", 1)[1]
            return
        raise AssertionError("load accepts what loads refuses: %s" % exc) from None
    again = pcheckpoint.load(write_tmp(body))
    assert again.params.tobytes() == ck.params.tobytes()
    assert 1 <= ck.epoch <= ck.settings["epochs"] and len(ck.history) == ck.epoch
    assert all(math.isfinite(v) for v in ck.params)
    assert ck.settings["eta"] > 0 and ck.settings["lmbda"] >= 0
    random.Random().setstate(ck.shuffle_state)


TARGETS = {"py_model": t_model, "py_idx": t_idx, "py_csv": t_csv,
           "py_dataset": t_dataset, "py_checkpoint": t_checkpoint}


# --- fallback: random mutation without coverage ------------------------------

def mutate(data, rng, pool):
    data = bytearray(data)
    for _ in range(1 + rng.randrange(4)):
        op = rng.randrange(8)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[pos % len(data)] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[pos % len(data)] = rng.choice([0, 1, 0x7F, 0x80, 0xFF,
                                                rng.randrange(256)])
        elif op == 2:
            data[pos:pos] = bytes(rng.randrange(256)
                                  for _ in range(rng.randrange(1, 9)))
        elif op == 3:
            del data[pos:pos + rng.randrange(1, 9)]
        elif op == 4 and data:
            end = min(len(data), pos + rng.randrange(1, 17))
            data[pos:pos] = data[pos:end]
        elif op == 5:
            other = rng.choice(pool)
            cut = rng.randrange(len(other) + 1)
            data = data[:pos] + bytearray(other[cut:])
        elif op == 6:
            del data[pos:]
        elif op == 7 and len(data) >= 4:
            p = pos % (len(data) - 3)
            data[p:p + 4] = struct.pack("<I", rng.choice(
                [0, 1, 2, 63, 64, 65, 0xFFFFFFFF, 0x80000000]))
    return bytes(data)


def run_fallback(target, args):
    seconds, prefix, inputs, runs = 20.0, "./", [], None
    for arg in args:
        if arg.startswith("-max_total_time="):
            seconds = float(arg.split("=", 1)[1])
        elif arg.startswith("-artifact_prefix="):
            prefix = arg.split("=", 1)[1]
        elif arg.startswith("-runs="):
            runs = int(arg.split("=", 1)[1])
        elif not arg.startswith("-"):
            inputs.append(arg)
    pool = []
    for item in inputs:
        names = ([os.path.join(item, n) for n in sorted(os.listdir(item))]
                 if os.path.isdir(item) else [item])
        for name in names:
            with open(name, "rb") as f:
                pool.append(f.read())
    pool = pool or [b""]

    def execute(data):
        try:
            target(data)
        except Exception:
            traceback.print_exc()
            name = prefix + "crash-" + hashlib.sha1(data).hexdigest()
            with open(name, "wb") as f:
                f.write(data)
            print("fallback: crash, input written to %s" % name)
            sys.exit(1)

    for data in pool:  # the corpus itself first, as libFuzzer does
        execute(data)
    execs = len(pool)
    if inputs and all(os.path.isfile(i) for i in inputs):
        print("fallback: ran %d inputs" % execs)
        return
    rng = random.Random(int(os.environ.get("FUZZ_SEED", "0")) or None)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (runs is None or execs < runs):
        data = mutate(rng.choice(pool), rng, pool)
        execute(data)
        execs += 1
        if len(pool) < 5000 and rng.random() < 0.01:
            pool.append(data)
    print("stat::number_of_executed_units: %d" % execs)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit("usage: fuzz_py.py {%s} [--fallback] [libFuzzer options] "
                 "[corpus ...]" % ",".join(TARGETS))
    target = TARGETS[sys.argv[1]]
    args = sys.argv[2:]
    if atheris is None:
        print("fuzz_py.py: random-mutation fallback (no atheris)")
        run_fallback(target, args)
        return
    atheris.Setup([sys.argv[0]] + args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
