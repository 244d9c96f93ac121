"""The package declares its type hints (PEP 561) and the tool modules have them."""

import inspect
from pathlib import Path

import pytest

import pybp
from pybp import export_c, gradbench, png, summary, svg


def test_py_typed_marker_installed():
    assert (Path(pybp.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("module", [export_c, gradbench, png, summary, svg])
def test_public_functions_annotated(module):
    for name in module.__all__:
        obj = getattr(module, name)
        if not inspect.isfunction(obj):
            continue
        sig = inspect.signature(obj)
        assert sig.return_annotation is not inspect.Signature.empty, name
        for p in sig.parameters.values():
            assert p.annotation is not inspect.Parameter.empty, (name, p.name)
