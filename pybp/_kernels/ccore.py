"""The C core through cffi: the kernel protocol of pybp._kernels, in C.

A thin layer: Python buffers go to C without copies (ffi.from_buffer), a
status code other than PYBP_OK becomes a Python exception naming the
problem.  cffi releases the GIL for the duration of every C call.

Every cdata a call makes is held by a _Call until the C function has
returned, then released: a pointer stored in a struct keeps nothing alive,
and on PyPy an object that no later line uses may be collected, or its
buffer unpinned and moved, during the call.  Releasing at once also frees
large scratch space and lets go of the buffers without waiting for the
garbage collector (which on PyPy runs later than CPython's reference
counting).  Scratch space of up to KEEP_BYTES is kept on the network's
descriptor for the next call instead (_work, _Spaces).

The C core has several instruction-set paths (portable "scalar", "avx2"
and "avx512" on x86-64, "neon" on AArch64), all giving the same bits.  By
default it picks the best one the CPU supports; the environment variable
PYBP_ISA (auto, scalar, avx2, avx512, neon), read once at import, or
set_isa() / use_isa() force one, for tests and benchmarks.  Likewise
PYBP_THREADS / set_threads() give sgd_epoch worker threads (same bits for
any count).

Each function runs in the element type of the parameters it gets: an
array('d') (or float64 buffer) calls the float64 core, an array('f') the
float32 one (pybp_*_f32), which reads float32 or uint8 inputs.
"""

import contextlib
import os
import random
import threading
from array import array
from typing import Any, List, Optional

from ..spec import ACTIVATION_CODES, COST_CODES
from ._pybp_c import ffi, lib

# Examples the C core works on at once when the caller does not fix a batch
# size: at most CHUNK, and fewer when their scratch space would pass
# WORK_BYTES (one wide layer makes each example's scratch space large).
CHUNK = 256
WORK_BYTES = 32 << 20

_ERRORS = {
    lib.PYBP_EOVERFLOW: OverflowError,
    lib.PYBP_EWORKSPACE: RuntimeError,
}


def strerror(status):
    return ffi.string(lib.pybp_strerror(status)).decode("ascii", "replace")


def check(status, what):
    """Raise the exception for a C status code."""
    if status != lib.PYBP_OK:
        exc = _ERRORS.get(status, ValueError)
        raise exc("%s: %s (C status %d)" % (what, strerror(status), status))


def version():
    return ffi.string(lib.pybp_version()).decode("ascii")


def build_digest():
    """The digest of the C sources this extension was built from."""
    return ffi.string(lib.pybp_build_digest()).decode("ascii")


def compiler():
    return ffi.string(lib.pybp_compiler()).decode("ascii", "replace")


# --- instruction set and threads --------------------------------------------

ISA_CODES = {"auto": lib.PYBP_ISA_AUTO, "scalar": lib.PYBP_ISA_SCALAR,
             "avx2": lib.PYBP_ISA_AVX2, "avx512": lib.PYBP_ISA_AVX512,
             "neon": lib.PYBP_ISA_NEON}


def isa_name(code):
    return ffi.string(lib.pybp_isa_name(code)).decode("ascii")


def supported_isas():
    """The instruction-set paths this CPU and build can run, e.g.
    ["scalar", "avx2", "avx512"] (never "auto")."""
    return [name for name, code in ISA_CODES.items()
            if code != lib.PYBP_ISA_AUTO and lib.pybp_isa_supported(code)]


def best_isa():
    """The path "auto" stands for on this CPU."""
    return isa_name(lib.pybp_isa_best())


def _isa_code(name, what):
    key = str(name).strip().lower() if name is not None else "auto"
    if key not in ISA_CODES:
        raise ValueError("%s: unknown instruction set %r (choose from %s)"
                         % (what, name, ", ".join(ISA_CODES)))
    code = ISA_CODES[key]
    if not lib.pybp_isa_supported(code):
        raise ValueError("%s: instruction set %r is not supported by this CPU "
                         "or build (supported: %s)"
                         % (what, key, ", ".join(supported_isas())))
    return code


def _threads_count(value, what):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError("%s: threads must be an integer, got %r"
                         % (what, value)) from None
    if not 0 <= n <= lib.PYBP_MAX_THREADS:
        raise ValueError("%s: threads must be in 0 .. %d, got %d"
                         % (what, lib.PYBP_MAX_THREADS, n))
    return n


_isa = _isa_code(os.environ.get("PYBP_ISA", "").strip() or "auto", "PYBP_ISA")
_threads = _threads_count(os.environ.get("PYBP_THREADS", "").strip() or 0,
                          "PYBP_THREADS")


def get_isa():
    """The instruction-set setting: "auto" or a forced path."""
    return isa_name(_isa)


def set_isa(name):
    """Force an instruction-set path (or "auto"/None for the best); returns
    the previous setting.  Applies to every later C call in this process."""
    global _isa
    previous = get_isa()
    _isa = _isa_code(name, "set_isa")
    return previous


@contextlib.contextmanager
def use_isa(name):
    """with use_isa("scalar"): ... runs the C calls inside on that path."""
    previous = set_isa(name)
    try:
        yield
    finally:
        set_isa(previous)


def get_threads():
    return _threads


def set_threads(n):
    """Worker threads for sgd_epoch (0 or 1: the calling thread only);
    returns the previous count.  Results do not depend on it."""
    global _threads
    previous = _threads
    _threads = _threads_count(n, "set_threads")
    return previous


def _net(spec):
    """The pybp_net descriptor for spec, built once and kept on the spec;
    the instruction set and thread count are the current settings."""
    c = spec._c
    if c is None:
        sizes = ffi.new("size_t[]", spec.sizes)
        acts = ffi.new("int[]", [ACTIVATION_CODES[a] for a in spec.activations])
        net = ffi.new("pybp_net *", {"nlayers": len(spec.sizes), "sizes": sizes,
                                     "activations": acts,
                                     "cost": COST_CODES[spec.cost]})
        # The last item: scratch space kept for reuse, and sizes computed
        # once (see _Spaces, _work and _chunk).
        c = spec._c = (net, sizes, acts, {"d": _Spaces(), "f": _Spaces()})
    net = c[0]
    net.isa = _isa
    net.threads = _threads
    return net


class _Type:
    """The C functions and buffer types of one element type."""

    def __init__(self, typecode, ctype, suffix):
        self.typecode, self.ctype = typecode, ctype
        self.array = ctype + "[]"
        self.size = 8 if ctype == "double" else 4
        self.input_type = "float64" if ctype == "double" else "float32"
        for name in ("workspace_size", "feedforward", "cost", "gradient",
                     "evaluate", "update_mini_batch", "sgd_epoch",
                     "infer_workspace_size", "infer"):
            setattr(self, name, getattr(lib, "pybp_%s%s" % (name, suffix)))


_F64 = _Type("d", "double", "")
_F32 = _Type("f", "float", "_f32")


class _Spaces:
    """Reusable scratch space of one network and element type: a stack of
    (workspace, output) cdata pairs.  A call takes a pair off the stack and
    puts it back when the C call has returned, so concurrent calls (the C
    call releases the GIL) never share one; the stack holds as many pairs
    as there were calls at once.  list.pop and list.append are atomic, so
    no lock is needed.  The sizes depend only on the network's shape, which
    never changes, so the pairs stay valid for the spec's lifetime."""

    __slots__ = ("free",)

    def __init__(self):
        self.free = []

    def take(self, T, net, n_in, n_out):
        """(workspace, output, input): the input is float32's x, narrowed
        from float64 in C (None for float64, whose x is used in place)."""
        try:
            return self.free.pop()
        except IndexError:
            n = ffi.new("size_t *")
            check(T.infer_workspace_size(net, 1, n), "workspace size")
            xin = ffi.new("float[]", n_in) if T is _F32 else None
            return ffi.new(T.array, n[0]), ffi.new(T.array, n_out), xin

    def give(self, pair):
        self.free.append(pair)


def _type(params):
    """The element type of a parameter buffer: array('d') or array('f')."""
    code = getattr(params, "typecode", None)
    if code is None:
        code = memoryview(params).format[-1:]
    return _F32 if code == "f" else _F64


class _Call:
    """with _Call() as c: the cdata made for one C call, each passed through
    c(...), stay alive until the block ends and are released then."""

    __slots__ = ("held", "kept")

    def __init__(self):
        self.held = []
        self.kept = []

    def __call__(self, cdata):
        self.held.append(cdata)
        return cdata

    def keep(self, stack, cdata):
        """cdata goes back onto stack, for a later call, when the block ends."""
        self.kept.append((stack, cdata))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for cdata in self.held:
            ffi.release(cdata)
        self.held = []
        for stack, cdata in self.kept:
            stack.append(cdata)
        self.kept = []


def _data(c, data, T=_F64):
    """A pybp_data descriptor of data, in the call c (which holds it and the
    buffers it points into until the call's end)."""
    d = c(ffi.new("pybp_data *"))
    d.count = data.count
    # A converted copy, if inputs_as makes one, lives on in its buffer's cdata.
    data = data.inputs_as(T.input_type)
    # The C core reads the first count rows of the uncut buffers, and cannot
    # see their ends: check them and the views here, whatever the Dataset
    # says of itself.
    x, x_f32, x_u8, y = data._whole_buffers()
    for view, whole, width in ((data.x, x, data.n_inputs), (data.x_f32, x_f32, data.n_inputs),
                               (data.x_u8, x_u8, data.n_inputs), (data.y, y, data.n_outputs)):
        if (view is None) != (whole is None) or view is not None and (
                min(len(view), len(whole)) < data.count * width):
            raise ValueError("data: its buffers hold fewer than %d examples"
                             % data.count)
    if data.count < 1 or (x is None and x_f32 is None and x_u8 is None) \
            or (data.labels is not None and len(data.labels) < data.count):
        raise ValueError("data: its buffers hold fewer than %d examples"
                         % data.count)
    if x is not None:
        d.x = c(ffi.from_buffer("double[]", x))
    elif x_f32 is not None:
        d.x_f32 = c(ffi.from_buffer("float[]", x_f32))
    else:
        d.x_u8 = c(ffi.from_buffer("unsigned char[]", x_u8))
        d.x_divisor = data.divisor
    if y is not None:
        d.y = c(ffi.from_buffer("double[]", y))
    elif data.labels is not None:
        d.labels = c(ffi.from_buffer("int32_t[]", data.labels))
    return d


# An array of this typecode packs Python ints as size_t 4x faster than
# ffi.new does (a 50,000-example permutation: 0.8 ms instead of 3.5 ms).
_SIZE_T = next((c for c in "QLI" if array(c).itemsize == ffi.sizeof("size_t")), None)


def _indices(c, values):
    """A size_t[] copy of a list of indices, in the call c."""
    if _SIZE_T is None:  # pragma: no cover - no array type of size_t's width
        return c(ffi.new("size_t[]", values))
    return c(ffi.from_buffer("size_t[]", array(_SIZE_T, values)))


def _params(c, T, params, writable=False):
    return c(ffi.from_buffer(T.array, params, require_writable=writable))


def _chunk(T, net, count, cache=None):
    """How many examples of `count` to give the C core at once."""
    key = ("chunk", T.typecode)
    got = cache.get(key) if cache is not None else None
    if got is None:
        one, two = ffi.new("size_t *"), ffi.new("size_t *")
        check(T.workspace_size(net, 1, one), "workspace size")
        check(T.workspace_size(net, 2, two), "workspace size")
        per = max(1, two[0] - one[0])  # the workspace grows linearly in the batch
        got = (WORK_BYTES // T.size - one[0]) // per + 1
        if cache is not None:
            cache[key] = got
    return max(1, min(count, CHUNK, got))


# Workspaces up to this size are kept on the network's descriptor for the
# next call instead of being allocated (and zeroed) anew: for a few
# examples the allocation took longer than the arithmetic.  Of larger ones
# a network keeps one size, its latest, per dtype: an epoch's kernel calls
# at a large mini-batch reuse it (allocating and faulting in 25 MB per call
# cost 5% of a 784-1000-10 epoch at m = 1000), and a caller varying the
# batch size holds no more than one of them.
KEEP_BYTES = 4 << 20


def _work(c, T, net, batch, cache=None):
    """Scratch space for batch examples, in the call c: (cdata, length).

    With cache (the spec's), a workspace of at most KEEP_BYTES comes from a
    stack of free ones of its size kept there, and goes back when the call
    ends: each call has one of its own (list.pop and list.append are
    atomic), whatever the threads.  A larger one comes from the single
    stack of the latest large size (KEEP_BYTES).  The sizes depend on the
    network's shape alone, which never changes."""
    key = ("work", T.typecode, batch)
    got = cache.get(key) if cache is not None else None
    if got is None:
        size = ffi.new("size_t *")
        check(T.workspace_size(net, batch, size), "workspace size")
        got = size[0], None
        # A bounded number of batch sizes keep a stack (a caller varying
        # the batch size must not grow the cache without end).
        if cache is not None and got[0] * T.size <= KEEP_BYTES and len(cache) < 64:
            got = cache.setdefault(key, (got[0], []))
        elif cache is not None and got[0] * T.size > KEEP_BYTES:
            big = ("big work", T.typecode)
            held = cache.get(big)
            if held is None or held[0] != got[0]:
                held = cache[big] = (got[0], [])  # the older size is let go
            got = held
    n, stack = got
    if stack:
        try:
            work = stack.pop()
        except IndexError:  # another thread took the last one meanwhile
            pass
        else:
            c.keep(stack, work)
            return work, n
    try:
        work = ffi.new(T.array, n)
    except MemoryError:
        raise MemoryError("pybp: a workspace of %d %ss for %d examples "
                          "does not fit in memory" % (n, T.ctype, batch)) from None
    if stack is None:
        return c(work), n
    c.keep(stack, work)
    return work, n


def _cache(spec):
    return spec._c[3]


# Examples per thread below which outputs and evaluate use one thread:
# starting one costs about what 100 examples of 784-30-10 do.
SPLIT_MIN = 256


def _parts(count, threads):
    """Contiguous ranges (lo, hi) of count examples, one per thread that
    pays: threads (None: set_threads's count) at most, SPLIT_MIN each at
    least."""
    n = _threads if threads is None else _threads_count(threads, "threads")
    n = max(1, min(n, count // SPLIT_MIN))
    return [(count * i // n, count * (i + 1) // n) for i in range(n)]


def _part(c, d, lo, hi, n0, nL):
    """The pybp_data of examples lo .. hi-1 of d (pointers into its buffers,
    which c holds)."""
    p = c(ffi.new("pybp_data *"))
    p.count = hi - lo
    p.x_divisor = d.x_divisor
    for name, width in (("x", n0), ("x_f32", n0), ("x_u8", n0), ("y", nL), ("labels", 1)):
        ptr = getattr(d, name)
        if ptr != ffi.NULL:
            setattr(p, name, ptr + lo * width)
    return p


def _on_threads(fn, parts):
    """fn(lo, hi) for every part: the first on this thread, the others each
    on a thread of its own (the C calls release the GIL).  Returns the
    results in order; raises the first part's exception, after all end."""
    if len(parts) == 1:
        return [fn(*parts[0])]
    results: List[Any] = [None] * len(parts)
    errors: List[Optional[BaseException]] = [None] * len(parts)

    def run(i):
        try:
            results[i] = fn(*parts[i])
        except BaseException as exc:  # re-raised below, on the caller's thread
            errors[i] = exc
    workers = [threading.Thread(target=run, args=(i,)) for i in range(1, len(parts))]
    for t in workers:
        t.start()
    run(0)
    for t in workers:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results


def forward_outputs(spec, params, data, threads=None):
    """a^L of every example; with threads, contiguous shares of the examples
    on as many threads (each output is its example's own: the same bits)."""
    T = _type(params)
    net = _net(spec)
    nL = spec.sizes[-1]
    out = array(T.typecode, bytes(T.size * data.count * nL))
    parts = _parts(data.count, threads)
    with _Call() as c:
        d = _data(c, data, T)
        p = _params(c, T, params)
        o = c(ffi.from_buffer(T.array, out))

        def part(lo, hi):
            with _Call() as cw:
                work, nwork = _work(cw, T, net, _chunk(T, net, hi - lo, _cache(spec)),
                                    _cache(spec))
                check(T.feedforward(net, p, len(params), _part(cw, d, lo, hi, spec.sizes[0], nL),
                                    o + lo * nL, (hi - lo) * nL, work, nwork), "feedforward")
        _on_threads(part, parts)
    return out


def cost_total(spec, params, data, total=0.0):
    T = _type(params)
    net = _net(spec)
    with _Call() as c:
        acc = c(ffi.new("double *", total))
        d = _data(c, data, T)
        work, nwork = _work(c, T, net, _chunk(T, net, data.count, _cache(spec)),
                            _cache(spec))
        check(T.cost(net, _params(c, T, params), len(params), d, acc, work, nwork),
              "cost")
        return acc[0]


def gradient(spec, params, data):
    T = _type(params)
    net = _net(spec)
    grad = array(T.typecode, bytes(T.size * spec.nparams))
    with _Call() as c:
        d = _data(c, data, T)
        work, nwork = _work(c, T, net, _chunk(T, net, data.count, _cache(spec)),
                            _cache(spec))
        check(T.gradient(net, _params(c, T, params), len(params), d,
                         c(ffi.from_buffer(T.array, grad)), len(grad), work, nwork),
              "gradient")
    return grad


def evaluate(spec, params, data, threads=None):
    """The count of correct argmax outputs; with threads, of contiguous
    shares of the examples on as many threads, added."""
    T = _type(params)
    net = _net(spec)
    parts = _parts(data.count, threads)
    with _Call() as c:
        d = _data(c, data, T)
        p = _params(c, T, params)

        def part(lo, hi):
            with _Call() as cw:
                correct = cw(ffi.new("size_t *"))
                work, nwork = _work(cw, T, net, _chunk(T, net, hi - lo, _cache(spec)),
                                    _cache(spec))
                check(T.evaluate(net, p, len(params), _part(cw, d, lo, hi, spec.sizes[0],
                                                            spec.sizes[-1]),
                                 correct, work, nwork), "evaluate")
                return correct[0]
        return sum(_on_threads(part, parts))


def update_mini_batch(spec, params, data, eta, lmbda, n):
    T = _type(params)
    net = _net(spec)
    with _Call() as c:
        d = _data(c, data, T)
        work, nwork = _work(c, T, net, data.count, _cache(spec))
        check(T.update_mini_batch(net, _params(c, T, params, True), len(params), d,
                                  eta, lmbda, n, work, nwork), "update_mini_batch")


def sgd_epoch(spec, params, data, perm, mini_batch_size, eta, lmbda, n,
              total=0.0, threads=None):
    T = _type(params)
    net = _net(spec)
    if threads is not None:
        net.threads = _threads_count(threads, "threads")
    with _Call() as c:
        d = _data(c, data, T)
        cperm = _indices(c, perm)
        acc = c(ffi.new("double *", total))
        work, nwork = _work(c, T, net, mini_batch_size, _cache(spec))
        check(T.sgd_epoch(net, _params(c, T, params, True), len(params), d, cperm,
                          len(perm), mini_batch_size, eta, lmbda, n, acc, work,
                          nwork), "sgd_epoch")
        return acc[0]


_SHUFFLE_AGREES: List[bool] = []   # [True] once checked against random.shuffle


def _shuffle_in_c(rng, n):
    """rng.shuffle of list(range(n)) through pybp_py_shuffle: the same list
    and the same state after (CPython's Mersenne Twister and its
    _randbelow, see build_ffi.SHUFFLE); None where that cannot be."""
    state = rng.getstate()
    if (type(rng) is not random.Random or _SIZE_T is None or not 1 < n < 2 ** 31
            or state[0] != 3 or len(state[1]) != 625):
        return None
    mt = ffi.new("uint32_t[624]", state[1][:624])
    pos = ffi.new("size_t *", state[1][624])
    perm = array(_SIZE_T, range(n))
    lib.pybp_py_shuffle(mt, pos, ffi.from_buffer("size_t[]", perm), n)
    rng.setstate((state[0], tuple(mt) + (pos[0],), state[2]))
    return perm.tolist()


def shuffled(rng, n):
    """list(range(n)) in the order rng.shuffle leaves it, rng's state
    advanced as that call advances it: an epoch's shuffle.  In C for a
    random.Random (16 ms of Python at 50,000 examples), once a check on
    this interpreter found that both give the same lists and states."""
    if not _SHUFFLE_AGREES:
        ok = True
        for size in (2, 3, 17, 1000, 5000):
            mine, theirs = random.Random(size), random.Random(size)
            want = list(range(size))
            theirs.shuffle(want)
            ok = ok and _shuffle_in_c(mine, size) == want \
                and mine.getstate() == theirs.getstate()
        _SHUFFLE_AGREES.append(ok)
    perm = _shuffle_in_c(rng, n) if _SHUFFLE_AGREES[0] else None
    if perm is None:
        perm = list(range(n))
        rng.shuffle(perm)
    return perm


def all_finite(params):
    """True if no parameter is NaN or infinite: one pass in C (the epoch's
    check after each of its kernel calls, which a Python loop would make
    cost as much as a small network's training)."""
    T = _type(params)
    with _Call() as c:
        p = _params(c, T, params)
        if T is _F32:
            return bool(lib.pybp_py_all_finite_f32(p, len(params)))
        return bool(lib.pybp_py_all_finite(p, len(params)))


def infer(spec, params, x):
    """a^L of one input x (an array('d') of n_0 values, rounded to float
    here for a float32 network) as a list of floats, through pybp_infer, in scratch space kept
    for reuse (no zeroed workspace per call); None when the C core refuses the call (the
    caller repeats it through forward_outputs, which raises the error).

    Not part of the kernel protocol: Network.feedforward's fast path.  The
    same bits as forward_outputs on one example (pybp_infer and
    pybp_feedforward share their code for a few examples).
    """
    T = _type(params)
    net = _net(spec)
    spaces = spec._c[3][T.typecode]
    pair = work, out, xin = spaces.take(T, net, spec.sizes[0], spec.sizes[-1])
    result = None
    p = ffi.from_buffer(T.array, params)
    try:
        xb = ffi.from_buffer("double[]", x)
        try:
            if xin is not None:  # float32: x rounded to float in C
                if len(xb) != len(xin):
                    return None
                lib.pybp_py_narrow(xb, xin, len(xin))
                xc = xin
            else:
                xc = xb
            if T.infer(net, p, len(params), xc, len(xb), out, len(out), work,
                       len(work)) == lib.PYBP_OK:
                result = ffi.unpack(out, len(out))  # before another call may take out
        finally:
            ffi.release(xb)
    finally:
        ffi.release(p)
        spaces.give(pair)
    return result
