"""The numbers: pybp's kernels, one room with one door.

Two backends compute every number pybp reports, and agree bit for bit in
float64: ``reference`` (pure Python, the definition of every number) and
``ccore`` (the C core in csrc/ through cffi, built by ``build_ffi``).  Only
``pybp.network`` (which validates every argument before a kernel runs) and
``pybp.backends`` (facts and settings) import this package.

The kernel protocol: each backend module provides these functions, with the
same arguments and the same results.  ``spec`` is a ``pybp.spec.NetSpec``,
``params`` the flat parameters (docs/math.md; an array('d'), or array('f')
for the C core's float32 instance), ``data`` a ``pybp.dataset.Dataset``
already checked against the network.

  forward_outputs(spec, params, data, threads=None)
                                             a^L of every example, flat
  cost_total(spec, params, data, total=0.0)  total + sum of C_x, in order
  gradient(spec, params, data)               mean gradient, flat layout
  evaluate(spec, params, data, threads=None) count of correct argmax outputs
  update_mini_batch(spec, params, data, eta, lmbda, n)
                                             one SGD step on all of data
  sgd_epoch(spec, params, data, perm, mini_batch_size, eta, lmbda, n,
            total=0.0, threads=None)         one step per mini-batch of perm;
                                             returns total + their costs
  shuffled(rng, n)                           list(range(n)) as rng.shuffle
                                             orders it, rng advanced alike
  all_finite(params)                         True if no parameter is NaN or
                                             infinite (checked after every
                                             piece of an epoch)

Which backend runs is PYBP_BACKEND, read once at import, one knob with one
meaning at install time and at run time: ``auto`` (default) uses the C core
when its extension imports and the reference otherwise; ``c`` demands the
C core (importing pybp fails, saying why, if it is missing); ``python``
never loads it.
"""

import os
import sys
from typing import Any

from . import reference

CHOICES = ("auto", "c", "python")


class BackendError(RuntimeError):
    """A backend was asked for that this installation cannot provide."""


def _starting_the_command():
    """True while this import is the `pybp` command starting: the console
    script, or `python -m pybp` (whose package import runs with argv[0]
    "-m")."""
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 == "-m" or os.path.basename(argv0) in ("pybp", "pybp.exe")


def _setting_error(message):
    """A bad PYBP_* setting: ImportError for a program that imports pybp;
    for the pybp command, one line on stderr and exit status 1, not a
    traceback (SystemExit with a message prints it and exits with 1)."""
    if _starting_the_command():
        raise SystemExit("pybp: error: " + message)
    return ImportError(message)


def _requested():
    value = os.environ.get("PYBP_BACKEND", "").strip().lower() or "auto"
    if value not in CHOICES:
        raise _setting_error("PYBP_BACKEND=%r is not one of %s"
                             % (os.environ.get("PYBP_BACKEND"), ", ".join(CHOICES)))
    return value


REQUESTED = _requested()


def _build_error():
    """Why setup.py could not build the extension, if it recorded a reason."""
    path = os.path.join(os.path.dirname(__file__), "_c_build_error.txt")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or "unknown reason"
    except OSError:
        return None


def _install_note():
    why = _build_error()
    return "" if why is None else "; at install time the build failed: " + why


def _checkout():
    """The source checkout this package is imported from (its root), or
    None for an installed pybp."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    marks = ("setup.py", "pyproject.toml", os.path.join("csrc", "pybp.h"))
    return root if all(os.path.exists(os.path.join(root, m)) for m in marks) else None


CHECKOUT = _checkout()
_BUILD_HINT = ("run `pip install -e .` in %s to build it there, or run from another "
               "directory to use an installed pybp" % CHECKOUT)

C_UNAVAILABLE = None  # why the C backend is missing, when it is

# ccore: the C kernels module, or None when its extension is missing.  (Not
# bound before the import: `from . import ccore` would then find the name
# already set and import nothing.)
ccore: Any
if REQUESTED == "python":
    ccore = None
    C_UNAVAILABLE = "PYBP_BACKEND=python"
else:
    try:
        from . import ccore
    except ImportError as exc:
        ccore = None
        C_UNAVAILABLE = "the C extension did not import (%s)" % exc
        if CHECKOUT is not None:
            C_UNAVAILABLE = ("pybp is imported from the source tree %s, which has "
                             "no compiled C extension: %s" % (CHECKOUT, _BUILD_HINT))
        if REQUESTED == "c":
            raise _setting_error("PYBP_BACKEND=c but the pybp C backend is not "
                                 "available: %s%s. Reinstall pybp with a C "
                                 "compiler and cffi present."
                                 % (C_UNAVAILABLE, _install_note())) from exc
    except ValueError as exc:  # PYBP_ISA or PYBP_THREADS, read by ccore
        raise _setting_error(str(exc)) from None

DEFAULT = "c" if ccore is not None else "python"

if ccore is None and REQUESTED == "auto":
    # Never silently slow: an install whose C build failed says so, and so
    # does a source tree imported without its extension.
    import warnings
    _why = _build_error()
    if _why is not None:
        C_UNAVAILABLE = "the C build failed at install time (%s)" % _why
        warnings.warn("pybp: the C backend was not built when pybp was "
                      "installed (%s); using the pure-Python backend, which "
                      "gives the same numbers far more slowly. Set "
                      "PYBP_BACKEND=python to choose it explicitly."
                      % _why, RuntimeWarning, stacklevel=2)
    elif CHECKOUT is not None:
        warnings.warn("pybp: %s. Using the pure-Python backend, which gives the "
                      "same numbers about 700 times more slowly (PYBP_BACKEND=python "
                      "chooses it without this warning)." % C_UNAVAILABLE,
                      RuntimeWarning, stacklevel=2)

if ccore is not None and CHECKOUT is not None:
    # A checkout's extension may be stale: built before a C source was
    # edited, or by another clone.  The numbers would not be this tree's.
    try:
        from . import build_ffi
        _stale = ccore.build_digest() != build_ffi.source_digest()
    except Exception:  # an extension without the digest, or no cffi
        _stale = False
    if _stale:
        import warnings
        warnings.warn("pybp: the C extension in %s was built from other C sources "
                      "than this checkout's csrc/ (edited since, or built in another "
                      "clone); %s" % (CHECKOUT, _BUILD_HINT.replace(" to build it there",
                                                                   " to rebuild it")),
                      RuntimeWarning, stacklevel=2)


def available():
    """The backends that can run here, fastest first."""
    return ["c", "python"] if ccore is not None else ["python"]


def kernels(name=None):
    """(kernels module, backend name) for a backend name or None (the default)."""
    if name is None:
        name = DEFAULT
    if not isinstance(name, str) or name.lower() not in ("c", "python"):
        raise ValueError("backend must be 'c', 'python' or None, got %r" % (name,))
    name = name.lower()
    if name == "python":
        return reference, "python"
    if ccore is None:
        raise BackendError("the C backend is not available: %s" % C_UNAVAILABLE)
    return ccore, "c"
