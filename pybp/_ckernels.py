"""The C core through cffi: the same kernels as _reference, same names.

A thin layer: Python buffers go to C without copies (ffi.from_buffer), a
status code other than PYBP_OK becomes a Python exception naming the
problem.  cffi releases the GIL for the duration of every C call.

The C core has several instruction-set paths (portable "scalar", "avx2",
"avx512"), all giving the same bits.  By default it picks the best one the
CPU supports; the environment variable PYBP_ISA (auto, scalar, avx2,
avx512), read once at import, or set_isa() / use_isa() force one, for tests
and benchmarks.  Likewise PYBP_THREADS / set_threads() give sgd_epoch
worker threads (same bits for any count).
"""

import contextlib
import os
from array import array

from ._pybp_c import ffi, lib
from .spec import ACTIVATION_CODES, COST_CODES

# Examples processed per C call when the caller does not fix a batch size.
CHUNK = 256

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


# --- instruction set and threads --------------------------------------------

ISA_CODES = {"auto": lib.PYBP_ISA_AUTO, "scalar": lib.PYBP_ISA_SCALAR,
             "avx2": lib.PYBP_ISA_AVX2, "avx512": lib.PYBP_ISA_AVX512}


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
        c = spec._c = (net, sizes, acts)
    net = c[0]
    net.isa = _isa
    net.threads = _threads
    return net


def _data(data):
    """A pybp_data descriptor and the buffers it points into (keep both alive)."""
    d = ffi.new("pybp_data *")
    d.count = data.count
    keep = [d]
    if data.x is not None:
        buf = ffi.from_buffer("double[]", data.x)
        d.x = buf
        keep.append(buf)
    else:
        buf = ffi.from_buffer("unsigned char[]", data.x_u8)
        d.x_u8 = buf
        d.x_divisor = data.divisor
        keep.append(buf)
    if data.y is not None:
        buf = ffi.from_buffer("double[]", data.y)
        d.y = buf
        keep.append(buf)
    elif data.labels is not None:
        buf = ffi.from_buffer("int32_t[]", data.labels)
        d.labels = buf
        keep.append(buf)
    return d, keep


def _params(params):
    return ffi.from_buffer("double[]", params, require_writable=False)


def _work(net, batch):
    n = ffi.new("size_t *")
    check(lib.pybp_workspace_size(net, batch, n), "workspace size")
    try:
        return ffi.new("double[]", n[0]), n[0]
    except MemoryError:
        raise MemoryError("pybp: a workspace of %d doubles for %d examples "
                          "does not fit in memory" % (n[0], batch)) from None


def forward_outputs(spec, params, data):
    net = _net(spec)
    out = array("d", bytes(8 * data.count * spec.sizes[-1]))
    d, keep = _data(data)
    work, nwork = _work(net, min(data.count, CHUNK))
    check(lib.pybp_feedforward(net, _params(params), len(params), d,
                               ffi.from_buffer("double[]", out), len(out),
                               work, nwork), "feedforward")
    return out


def cost_total(spec, params, data, total=0.0):
    net = _net(spec)
    acc = ffi.new("double *", total)
    d, keep = _data(data)
    work, nwork = _work(net, min(data.count, CHUNK))
    check(lib.pybp_cost(net, _params(params), len(params), d, acc, work, nwork),
          "cost")
    return acc[0]


def gradient(spec, params, data):
    net = _net(spec)
    grad = array("d", bytes(8 * spec.nparams))
    d, keep = _data(data)
    work, nwork = _work(net, min(data.count, CHUNK))
    check(lib.pybp_gradient(net, _params(params), len(params), d,
                            ffi.from_buffer("double[]", grad), len(grad),
                            work, nwork), "gradient")
    return grad


def evaluate(spec, params, data):
    net = _net(spec)
    correct = ffi.new("size_t *")
    d, keep = _data(data)
    work, nwork = _work(net, min(data.count, CHUNK))
    check(lib.pybp_evaluate(net, _params(params), len(params), d, correct,
                            work, nwork), "evaluate")
    return correct[0]


def update_mini_batch(spec, params, data, eta, lmbda, n):
    net = _net(spec)
    d, keep = _data(data)
    work, nwork = _work(net, data.count)
    check(lib.pybp_update_mini_batch(net, ffi.from_buffer("double[]", params),
                                     len(params), d, eta, lmbda, n, work, nwork),
          "update_mini_batch")


def sgd_epoch(spec, params, data, perm, mini_batch_size, eta, lmbda, n,
              total=0.0, threads=None):
    net = _net(spec)
    if threads is not None:
        net.threads = _threads_count(threads, "threads")
    d, keep = _data(data)
    cperm = ffi.new("size_t[]", perm)
    acc = ffi.new("double *", total)
    work, nwork = _work(net, mini_batch_size)
    check(lib.pybp_sgd_epoch(net, ffi.from_buffer("double[]", params),
                             len(params), d, cperm, len(perm), mini_batch_size,
                             eta, lmbda, n, acc, work, nwork), "sgd_epoch")
    return acc[0]
