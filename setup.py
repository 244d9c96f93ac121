"""Build policy for pybp's C backend, governed by PYBP_BACKEND.

  auto (default)  build the cffi extension; if that fails, install the
                  pure-Python package anyway and say so loudly
  c               build the extension; a failure fails the install
  python          build nothing: a pure-Python install

The same variable picks the backend at run time (pybp/_kernels/__init__.py).
"""

import os
import sys

if sys.version_info < (3, 9):
    # Before the build requirements can fail to resolve with a message about
    # some dependency, say what is wrong.
    sys.exit("pybp needs Python 3.9 or newer; this is Python %d.%d"
             % sys.version_info[:2])

from setuptools import setup
from setuptools.command.build_ext import build_ext

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools before 70.1
    from wheel.bdist_wheel import bdist_wheel

CHOICES = ("auto", "c", "python")
MODE = os.environ.get("PYBP_BACKEND", "").strip().lower() or "auto"
if MODE not in CHOICES:
    sys.exit("PYBP_BACKEND=%r is not one of %s" % (os.environ["PYBP_BACKEND"],
                                                   ", ".join(CHOICES)))

BANNER = "*" * 72
FAILED = []  # why the extension did not build, once it has failed


def warn(reason):
    sys.stderr.write(
        "\n%s\nWARNING: the pybp C backend was NOT built: %s\n"
        "pybp is installed as pure Python, which gives the same numbers but\n"
        "runs far slower. Install a C compiler (and cffi) and reinstall, or set\n"
        "PYBP_BACKEND=c to make this an error.\n%s\n\n" % (BANNER, reason, BANNER))


class optional_build_ext(build_ext):
    """build_ext that, in auto mode, turns a failed compile into a warning.

    pip hides a successful build's output, so the reason is also written
    into the package (pybp/_kernels/_c_build_error.txt); importing pybp repeats the
    warning from it while the C backend is missing.
    """

    def run(self):
        try:
            super().run()
        except Exception as exc:  # compiler missing, headers missing, ...
            self._failed(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc):
        if MODE == "c":
            raise exc
        reason = "%s: %s" % (type(exc).__name__, exc)
        FAILED.append(reason)
        warn(reason)
        target = os.path.join(self.build_lib, "pybp", "_kernels")
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "_c_build_error.txt"), "w") as f:
            f.write(reason.strip().splitlines()[-1][:500] + "\n")


class honest_bdist_wheel(bdist_wheel):
    """A wheel whose extension did not build is pure Python: tagged
    py3-none-any, never with a platform tag it has nothing for."""

    def get_tag(self):
        if FAILED:
            self.root_is_pure = True
            return "py3", "none", "any"
        return super().get_tag()


kwargs = {"cmdclass": {"bdist_wheel": honest_bdist_wheel}}
if MODE != "python":
    kwargs["cffi_modules"] = ["pybp/_kernels/build_ffi.py:make_builder"]
    kwargs["install_requires"] = ["cffi>=1.15"]
    kwargs["cmdclass"]["build_ext"] = optional_build_ext
    # cffi compiles against CPython's limited API, so one wheel per
    # platform serves every supported Python version (abi3).
    if sys.implementation.name == "cpython" and not hasattr(sys, "gettotalrefcount"):
        kwargs["options"] = {"bdist_wheel": {"py_limited_api": "cp39"}}

setup(**kwargs)
