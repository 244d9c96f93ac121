"""Networks from other libraries, into pybp: each adapter imports its
library only when called, and refuses what pybp has no equivalent for.

    net = pybp.from_torch(model, cost="quadratic")   # torch.nn.Sequential
    net = pybp.from_layers([(W1, b1), (W2, b2)], activation=[...])
"""

from typing import Any, List, Optional, Sequence, Tuple

from .network import Network

__all__ = ["from_layers", "from_torch"]

# torch.nn module class name -> pybp activation.
_TORCH_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu",
                      "Identity": "identity", "Softmax": "softmax"}


def from_layers(layers: Sequence[Tuple[Any, Any]], *, activation: Any = "sigmoid",
                cost: str = "quadratic", backend: Optional[str] = None) -> Network:
    """A network from a Keras-style list of (W, b) pairs, W in pybp's
    orientation (n_out x n_in); see Network.from_arrays."""
    return Network.from_arrays([w for w, _ in layers], [b for _, b in layers],
                               activation=activation, cost=cost, backend=backend)


def from_torch(module: Any, *, cost: str = "quadratic",
               backend: Optional[str] = None) -> Network:
    """A network from a torch.nn.Sequential of Linear layers, each followed
    by one of Sigmoid, Tanh, ReLU, Identity or (last) Softmax(dim=-1), or by
    nothing (identity).  The weights are copied as float64.  cost is pybp's
    name: "quadratic", "cross-entropy" (sigmoid outputs) or "log-likelihood"
    (softmax outputs); choose the one your PyTorch loss computes."""
    import torch  # only now: pybp needs no torch otherwise

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError("from_torch: expected a torch.nn.Sequential, got %s"
                        % type(module).__name__)
    weights: List[Any] = []
    biases: List[Any] = []
    acts: List[str] = []
    for i, layer in enumerate(module):
        name = type(layer).__name__
        if isinstance(layer, torch.nn.Linear):
            if weights and len(acts) < len(weights):
                acts.append("identity")  # two Linear layers in a row
            weights.append(layer.weight.detach().double().cpu().numpy())
            if layer.bias is None:
                biases.append([0.0] * layer.out_features)
            else:
                biases.append(layer.bias.detach().double().cpu().numpy())
        elif name in _TORCH_ACTIVATIONS:
            if len(acts) != len(weights) - 1:
                raise ValueError("from_torch: module %d (%s) does not follow a Linear "
                                 "layer" % (i, name))
            if name == "Softmax" and getattr(layer, "dim", -1) not in (-1, 1, None):
                raise ValueError("from_torch: Softmax must be over the features "
                                 "(dim=-1), got dim=%r" % layer.dim)
            acts.append(_TORCH_ACTIVATIONS[name])
        else:
            raise ValueError("from_torch: module %d (%s) has no pybp equivalent "
                             "(pybp has Linear, Sigmoid, Tanh, ReLU, Identity, Softmax)"
                             % (i, name))
    if not weights:
        raise ValueError("from_torch: the Sequential holds no Linear layer")
    if len(acts) < len(weights):
        acts.append("identity")
    return Network.from_arrays(weights, biases, activation=acts, cost=cost,
                               backend=backend)
