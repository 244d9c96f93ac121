"""The C core through cffi: the same kernels as _reference, same names.

A thin layer: Python buffers go to C without copies (ffi.from_buffer), a
status code other than PYBP_OK becomes a Python exception naming the
problem.  cffi releases the GIL for the duration of every C call.
"""

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


def _net(spec):
    """The pybp_net descriptor for spec, built once and kept on the spec."""
    c = spec._c
    if c is None:
        sizes = ffi.new("size_t[]", spec.sizes)
        acts = ffi.new("int[]", [ACTIVATION_CODES[a] for a in spec.activations])
        net = ffi.new("pybp_net *", {"nlayers": len(spec.sizes), "sizes": sizes,
                                     "activations": acts,
                                     "cost": COST_CODES[spec.cost]})
        c = spec._c = (net, sizes, acts)
    return c[0]


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
              total=0.0):
    net = _net(spec)
    d, keep = _data(data)
    cperm = ffi.new("size_t[]", perm)
    acc = ffi.new("double *", total)
    work, nwork = _work(net, mini_batch_size)
    check(lib.pybp_sgd_epoch(net, ffi.from_buffer("double[]", params),
                             len(params), d, cperm, len(perm), mini_batch_size,
                             eta, lmbda, n, acc, work, nwork), "sgd_epoch")
    return acc[0]
