"""The backends of this installation: which exist, which is the default, and
the C core's build facts and run-time settings.

The public door to what the kernel package (``pybp._kernels``) knows about
itself.  Networks choose their kernels through ``pybp.network``; everything
else that needs to know about backends (the command line, tests,
benchmarks) asks here.

  DEFAULT        the backend new networks use: "c" when the extension
                 imports (unless PYBP_BACKEND=python), else "python"
  REQUESTED      PYBP_BACKEND as read at import: "auto", "c" or "python"
  C_UNAVAILABLE  why the C backend is missing, or None
  available()    the backends that run here, fastest first
  check(name)    the canonical backend name; BackendError if it cannot run
  c_facts()      the C library's version, compiler, flags and ISA paths
  set_isa(), use_isa(), get_isa(), supported_isas(), best_isa(),
  set_threads(), get_threads()
                 the C core's instruction-set path and worker-thread
                 settings (BackendError without the C backend)
"""

import contextlib
from typing import Any, Dict, Iterator, List, Optional

from . import _kernels
from ._kernels import BackendError

DEFAULT: str = _kernels.DEFAULT
REQUESTED: str = _kernels.REQUESTED
C_UNAVAILABLE: Optional[str] = _kernels.C_UNAVAILABLE


def available() -> List[str]:
    """The backends that can run here, fastest first: ["c", "python"] or ["python"]."""
    return _kernels.available()


def check(name: Optional[str]) -> str:
    """The backend a name (or None: DEFAULT) stands for; BackendError if it
    is not available here, ValueError if it is not a backend at all."""
    return _kernels.kernels(name)[1]


def _c() -> Any:
    if _kernels.ccore is None:
        raise BackendError("the C backend is not available: %s" % C_UNAVAILABLE)
    return _kernels.ccore


def _c_call(name: str) -> Any:
    """The C kernels' name(), or None without the C backend or that call."""
    if _kernels.ccore is None:
        return None
    try:
        return getattr(_kernels.ccore, name)()
    except Exception:  # an old extension without the call
        return None


def c_facts() -> Dict[str, Any]:
    """What `pybp info` reports of the C core: version, compiler, the
    instruction-set path in use and the supported ones, compile flags, and a
    note when one of them is unknown.  None values without the extension."""
    version = flags = None
    reason = None
    if _kernels.ccore is not None:
        try:
            version = _kernels.ccore.version()
        except Exception as exc:  # an old extension without the call
            reason = "version unknown (%s)" % exc
    try:
        # Imported only here: the builder module needs cffi.
        from ._kernels import build_ffi
        flags = build_ffi.compile_args()
    except Exception as exc:
        reason = (reason + "; " if reason else "") + \
            "compile flags unknown (%s: %s)" % (type(exc).__name__, exc)
    ck = _kernels.ccore
    return {
        "c_unavailable": C_UNAVAILABLE,
        "c_version": version,
        "c_compiler": _c_call("compiler"),
        "c_isa": _c_call("best_isa") if ck is None or ck.get_isa() == "auto"
        else _c_call("get_isa"),
        "c_isa_supported": _c_call("supported_isas"),
        "c_flags": flags,
        "c_note": reason,
    }


def get_isa() -> str:
    """The instruction-set setting: "auto" or a forced path."""
    return str(_c().get_isa())


def set_isa(name: Optional[str]) -> str:
    """Force an instruction-set path (or "auto"/None for the best) for every
    later C call in this process; returns the previous setting."""
    return str(_c().set_isa(name))


@contextlib.contextmanager
def use_isa(name: Optional[str]) -> Iterator[None]:
    """with use_isa("scalar"): ... runs the C calls inside on that path."""
    previous = set_isa(name)
    try:
        yield
    finally:
        set_isa(previous)


def supported_isas() -> List[str]:
    """The paths this CPU and build can run, e.g. ["scalar", "avx2"]."""
    return list(_c().supported_isas())


def best_isa() -> str:
    """The path "auto" stands for on this CPU."""
    return str(_c().best_isa())


def get_threads() -> int:
    """The process-wide worker-thread setting (0: the calling thread only)."""
    return int(_c().get_threads())


def set_threads(n: int) -> int:
    """Worker threads for training; returns the previous count.  Results do
    not depend on it."""
    return int(_c().set_threads(n))


__all__ = ["BackendError", "C_UNAVAILABLE", "DEFAULT", "REQUESTED", "available",
           "best_isa", "c_facts", "check", "get_isa", "get_threads", "set_isa",
           "set_threads", "supported_isas", "use_isa"]
