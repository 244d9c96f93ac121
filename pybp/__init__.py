"""pybp: backpropagation you can embed.

A C99 core and a pure-Python reference behind one API; in float64 both give
the same bits.  ``pybp.backend`` names the backend new networks use.
"""

from typing import List

from . import backends
from .adapters import from_layers, from_sklearn, from_torch
from .backends import BackendError
from .crosscheck import compare
from .dataset import Dataset
from .finitediff import gradcheck
from .network import DivergenceError, Network, load
from .spec import ACTIVATIONS, COSTS

__version__ = "0.1.0"  # the one version number: pyproject.toml reads it

backend = backends.DEFAULT


def available_backends() -> List[str]:
    """The backends that work in this installation: ["c", "python"] or ["python"]."""
    return backends.available()


__all__ = ["ACTIVATIONS", "COSTS", "BackendError", "DivergenceError", "Dataset", "Network",
           "available_backends", "backend", "compare", "from_layers", "from_sklearn",
           "from_torch", "gradcheck", "load", "__version__"]
