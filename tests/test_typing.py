"""The package declares its type hints (PEP 561) and the tool modules have them."""

import importlib
import inspect
from pathlib import Path

import pytest

import pybp
from pybp import export_c, gradbench, png, summary, svg

# pybp.gradcheck names the function; its module is pybp.finitediff.
gradcheck_module = importlib.import_module("pybp.finitediff")


def test_py_typed_marker_installed():
    assert (Path(pybp.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("module", [export_c, gradbench, gradcheck_module, png,
                                    summary, svg])
def test_public_functions_annotated(module):
    for name in module.__all__:
        obj = getattr(module, name)
        if not inspect.isfunction(obj):
            continue
        sig = inspect.signature(obj)
        assert sig.return_annotation is not inspect.Signature.empty, name
        for p in sig.parameters.values():
            assert p.annotation is not inspect.Parameter.empty, (name, p.name)


def test_network_public_api_annotated():
    import typing

    from pybp.network import Network, load
    methods = [load] + [
        getattr(Network, name) for name in dir(Network)
        if not name.startswith("_") and callable(getattr(Network, name))]
    methods.append(Network.__init__)
    for obj in methods:
        obj = getattr(obj, "__func__", obj)
        sig = inspect.signature(obj)
        assert sig.return_annotation is not inspect.Signature.empty, obj.__name__
        for p in sig.parameters.values():
            if p.name in ("self", "cls"):
                continue
            assert p.annotation is not inspect.Parameter.empty, (obj.__name__, p.name)
        typing.get_type_hints(obj)  # every annotation resolves
    for name in ("params", "sizes", "weights", "biases", "threads"):
        fget = getattr(Network, name).fget
        assert "return" in typing.get_type_hints(fget), name


def test_diagnostics_annotated():
    from pybp import diagnostics
    for name in diagnostics.__all__:
        obj = getattr(diagnostics, name)
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, name
            for p in sig.parameters.values():
                assert p.annotation is not inspect.Parameter.empty, (name, p.name)
