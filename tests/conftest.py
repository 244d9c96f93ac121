"""Fixtures for every test module (shared plain helpers are in helpers.py).

backend    the test runs once per backend, "python" and "c"
c_backend  the test needs the C core (to compare it with the reference)
isa        the test runs once per instruction-set path of the C core that
           this CPU supports, with the C core held on that path
mnist_dir  data/mnist

Tests of the C backend are skipped where its extension did not build,
except when PYBP_BACKEND=c demands it: then a missing extension fails the
run (and importing pybp itself already raises).
"""

import os

import pytest

import pybp

from helpers import ISAS, mnist_or_skip


def _c_or_skip():
    if "c" in pybp.available_backends():
        return
    if os.environ.get("PYBP_BACKEND", "").lower() == "c":
        pytest.fail("PYBP_BACKEND=c but the C backend is unavailable")
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
