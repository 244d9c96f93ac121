"""Fixtures for every test module (shared plain helpers are in helpers.py).

backend    the test runs once per backend, "python" and "c"
c_backend  the test needs the C core (to compare it with the reference)
isa        the test runs once per instruction-set path of the C core that
           this CPU supports, with the C core held on that path
mnist_dir  data/mnist

The C backend must be there: a run without it fails at once, saying why
(a source checkout imported without its extension, a failed build), unless
PYBP_BACKEND=python asks for the pure-Python backend alone; then the tests
of the C backend are skipped.
"""

import os

import pytest

import pybp

from helpers import ISAS, mnist_or_skip


def pytest_sessionstart(session):
    if "c" not in pybp.available_backends() and pybp.backends.REQUESTED != "python":
        pytest.exit("the pybp under test (%s) has no C backend: %s. Set "
                    "PYBP_BACKEND=python to test the pure-Python backend alone."
                    % (os.path.dirname(pybp.__file__), pybp.backends.C_UNAVAILABLE),
                    returncode=1)


def _c_or_skip():
    if "c" not in pybp.available_backends():
        pytest.skip("C backend not built: %s" % pybp.backends.C_UNAVAILABLE)


@pytest.fixture(params=["python", "c"])
def backend(request):
    if request.param == "c":
        _c_or_skip()
    return request.param


@pytest.fixture
def c_backend():
    """For tests that compare the C core with the reference."""
    _c_or_skip()
    return "c"


@pytest.fixture(params=ISAS)
def isa(request, c_backend):
    """The C core forced onto one instruction-set path for the test (the
    reference has no paths); "auto" stands for the best of them."""
    with pybp.backends.use_isa(request.param):
        yield request.param


@pytest.fixture
def mnist_dir():
    """data/mnist; the test is skipped when MNIST is not there."""
    return mnist_or_skip()
