"""pybp: backpropagation you can embed.

A C99 core and a pure-Python reference behind one API; in float64 both give
the same bits.  ``pybp.backend`` names the backend new networks use.
"""

from typing import List

from . import _backend
from ._backend import BackendError
from .dataset import Dataset
from .gradcheck import gradcheck
from .network import DivergenceError, Network, load
from .spec import ACTIVATIONS, COSTS

__version__ = "0.1.0"

backend = _backend.DEFAULT


def available_backends() -> List[str]:
    """The backends that work in this installation: ["c", "python"] or ["python"]."""
    return _backend.available()


__all__ = ["ACTIVATIONS", "COSTS", "BackendError", "DivergenceError", "Dataset", "Network",
           "available_backends", "backend", "gradcheck", "load", "__version__"]
