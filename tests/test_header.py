"""The C header is the single source of truth for the Python binding."""

import re

from helpers import ROOT

HEADER = ROOT / "csrc" / "pybp.h"


def public_functions():
    text = HEADER.read_text()
    return sorted(set(re.findall(r"^\s*(?:const\s+)?\w+\s*\*?\s*(pybp_\w+)\s*\(",
                                 text, re.M)))


def test_header_declares_the_core_api():
    names = public_functions()
    for name in ("pybp_feedforward", "pybp_cost", "pybp_gradient",
                 "pybp_update_mini_batch", "pybp_sgd_epoch", "pybp_strerror",
                 "pybp_model_read"):
        assert name in names


def test_every_header_function_is_reachable(c_backend):
    from pybp._kernels._pybp_c import lib
    missing = [n for n in public_functions() if not hasattr(lib, n)]
    assert missing == []


def test_every_status_has_its_own_message(c_backend):
    from pybp._kernels import ccore
    from pybp._kernels._pybp_c import lib
    codes = sorted({getattr(lib, n) for n in dir(lib)
                    if re.fullmatch(r"PYBP_(OK|E[A-Z]+)", n)})
    messages = [ccore.strerror(c) for c in codes]
    assert len(set(messages)) == len(codes)
    assert "unknown" in ccore.strerror(9999).lower()
