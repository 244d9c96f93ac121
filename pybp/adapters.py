"""Networks from other libraries, into pybp: each adapter imports its
library only when called, and refuses what pybp has no equivalent for.

    net = pybp.from_torch(model, cost="quadratic")   # torch.nn.Sequential
    net = pybp.from_layers([(W1, b1), (W2, b2)], activation=[...])
    net = pybp.from_sklearn(fitted)                  # MLPClassifier, MLPRegressor
"""

from typing import Any, List, Optional, Sequence, Tuple

from .network import Network

__all__ = ["from_layers", "from_sklearn", "from_torch"]

# torch.nn module class name -> pybp activation.
_TORCH_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu",
                      "Identity": "identity", "Softmax": "softmax"}

# scikit-learn's MLP activation names -> pybp's.
_SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                        "identity": "identity"}


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


def from_sklearn(estimator: Any, *, backend: Optional[str] = None,
                 dtype: str = "float64") -> Network:
    """A network from a fitted scikit-learn MLPClassifier or MLPRegressor,
    with its parameters (coefs_[i] transposed into pybp's n_out x n_in,
    intercepts_[i]) copied as float64 (exactly, also from float32).

    The output layer and cost follow the estimator: MLPRegressor with the
    squared_error loss gives identity outputs and the quadratic cost; an
    MLPClassifier gives one sigmoid output with cross-entropy (binary),
    softmax with log-likelihood (multiclass, outputs in classes_ order) or
    a sigmoid per label with cross-entropy (multilabel).  sklearn's
    squared_error is pybp's quadratic cost divided by the number of
    outputs; its log-losses are pybp's costs (sklearn clips probabilities
    to [eps, 1 - eps] first).  Its L2 term (alpha) is not part of a pybp
    network, whose cost has none.  Anything else (a poisson loss, an
    unfitted estimator, another class) is refused."""
    try:
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        from sklearn.utils.validation import check_is_fitted
    except ImportError as e:  # only now: pybp needs no scikit-learn otherwise
        raise ImportError("from_sklearn needs scikit-learn (pip install "
                          "'pybp[sklearn]'): %s" % e) from None

    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        hint = (" (a pybp.sklearn estimator holds its network as .network_)"
                if hasattr(estimator, "network_") else "")
        raise TypeError("from_sklearn: expected a fitted sklearn.neural_network."
                        "MLPClassifier or MLPRegressor, got %s%s"
                        % (type(estimator).__name__, hint))
    check_is_fitted(estimator, "coefs_")
    name = type(estimator).__name__
    hidden = getattr(estimator, "activation", None)
    if hidden not in _SKLEARN_ACTIVATIONS:
        raise ValueError("from_sklearn: hidden activation %r has no pybp equivalent "
                         "(pybp has %s)" % (hidden, ", ".join(sorted(_SKLEARN_ACTIVATIONS))))
    out, loss = estimator.out_activation_, getattr(estimator, "loss", None)
    if isinstance(estimator, MLPRegressor):
        if loss != "squared_error" or out != "identity":
            raise ValueError("from_sklearn: %s with loss=%r (output %r) has no pybp "
                             "equivalent; pybp has the squared_error loss (quadratic "
                             "cost) with identity outputs" % (name, loss, out))
        output, cost = "identity", "quadratic"
    else:
        if loss != "log_loss" or out not in ("logistic", "softmax"):
            raise ValueError("from_sklearn: %s with loss=%r (output %r) has no pybp "
                             "equivalent" % (name, loss, out))
        output, cost = ({"logistic": "sigmoid", "softmax": "softmax"}[out],
                        {"logistic": "cross-entropy", "softmax": "log-likelihood"}[out])
    weights = [_float64(w, "coefs_[%d]" % i, 2).T for i, w in enumerate(estimator.coefs_)]
    biases = [_float64(b, "intercepts_[%d]" % i, 1)
              for i, b in enumerate(estimator.intercepts_)]
    acts = [_SKLEARN_ACTIVATIONS[hidden]] * (len(weights) - 1) + [output]
    return Network.from_arrays([w.copy() for w in weights], biases, activation=acts,
                               cost=cost, backend=backend, dtype=dtype)


def _float64(value: Any, what: str, ndim: int) -> Any:
    """A numpy array of sklearn's as float64 (exactly), of the expected rank."""
    import numpy as np  # scikit-learn depends on it

    arr = np.asarray(value)
    if arr.ndim != ndim or arr.dtype.kind != "f":
        raise ValueError("from_sklearn: %s must be a %d-D float array, got %s of %s"
                         % (what, ndim, arr.shape, arr.dtype))
    return arr.astype(np.float64)
