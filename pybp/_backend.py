"""Which kernels a network runs on: PYBP_BACKEND, read once at import.

One knob with one meaning at install time and at run time:
``auto`` (default) uses the C core when its extension imports and the
pure-Python reference otherwise; ``c`` demands the C core (importing pybp
fails, saying why, if it is missing); ``python`` never loads it.
"""

import os

from . import _reference

CHOICES = ("auto", "c", "python")


class BackendError(RuntimeError):
    """A backend was asked for that this installation cannot provide."""


def _requested():
    value = os.environ.get("PYBP_BACKEND", "").strip().lower() or "auto"
    if value not in CHOICES:
        raise ImportError("PYBP_BACKEND=%r is not one of %s"
                          % (os.environ.get("PYBP_BACKEND"), ", ".join(CHOICES)))
    return value


REQUESTED = _requested()
_ckernels = None
C_UNAVAILABLE = None  # why the C backend is missing, when it is

if REQUESTED == "python":
    C_UNAVAILABLE = "PYBP_BACKEND=python"
else:
    try:
        from . import _ckernels
    except ImportError as exc:
        C_UNAVAILABLE = "the C extension did not import (%s)" % exc
        if REQUESTED == "c":
            raise ImportError("PYBP_BACKEND=c but the pybp C backend is not "
                              "available: %s. Reinstall pybp with a C compiler "
                              "and cffi present." % C_UNAVAILABLE) from exc

DEFAULT = "c" if _ckernels is not None else "python"


def available():
    """The backends that can run here, fastest first."""
    return ["c", "python"] if _ckernels is not None else ["python"]


def kernels(name=None):
    """(kernels module, backend name) for a backend name or None (the default)."""
    if name is None:
        name = DEFAULT
    if not isinstance(name, str) or name.lower() not in ("c", "python"):
        raise ValueError("backend must be 'c', 'python' or None, got %r" % (name,))
    name = name.lower()
    if name == "python":
        return _reference, "python"
    if _ckernels is None:
        raise BackendError("the C backend is not available: %s" % C_UNAVAILABLE)
    return _ckernels, "c"
