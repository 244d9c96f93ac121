"""scikit-learn estimators that train a pybp Network (this module is
pybp.sklearn; it needs scikit-learn 1.6 or newer and is imported only by
name, never by ``import pybp``).

    from pybp.sklearn import MLPClassifier, MLPRegressor
    clf = MLPClassifier(hidden_layer_sizes=(30,), eta=0.5, random_state=1).fit(X, y)
    clf.predict(X_test); clf.score(X_test, y_test); clf.network_   # a pybp.Network

What fit does, in pybp's terms: it builds

    Network([n_features, *hidden_layer_sizes, n_outputs],
            [activation, ..., output], cost, seed=random_state, init=init,
            backend=backend, threads=threads, dtype=dtype)

and runs ``net.sgd(data, max_iter, batch_size, eta, lmbda)``, so an
estimator and a Network made and trained with the same settings hold the
same bits.  Every epoch is shuffled by the network's seeded generator, as
pybp's sgd always does; there is no early stopping (max_iter epochs run).
``eta`` and ``lmbda`` are pybp's: W <- (1 - eta*lmbda/n) W - (eta/m) sum of
the mini-batch's gradients, n the number of training examples of the call.
(scikit-learn's ``alpha`` decays by eta*alpha/m per mini-batch instead, so
its alpha at batch size m on n examples is lmbda = alpha * n / m.)
``loss_curve_`` holds pybp's per-epoch training cost, without an L2 term.

The classifier's outputs, one per class in ``classes_`` order (two for
two classes), are softmax with cost="log-likelihood" (the default), or
sigmoid with "cross-entropy" or "quadratic"; for sigmoid outputs
predict_proba divides each row by its sum.  The regressor's outputs are
identity with the quadratic cost, one per target column.

The estimators pass scikit-learn's check_estimator with no check marked as
an expected failure.  Not supported: sample_weight, sparse inputs and
multilabel targets (the last two refused with scikit-learn's errors, as
the checks expect).
"""

import numbers
from typing import Any, List, Optional

try:
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError("pybp.sklearn needs scikit-learn 1.6 or newer (pip install "
                      "'pybp[sklearn]'): %s" % e) from None

from .dataset import Dataset
from .network import Network

__all__ = ["MLPClassifier", "MLPRegressor"]

# Classifier cost -> the output activation it goes with.
_CLASSIFIER_OUTPUTS = {"log-likelihood": "softmax", "cross-entropy": "sigmoid",
                       "quadratic": "sigmoid"}


class _PybpMLP(BaseEstimator):
    """What both estimators share: building, training and reading the network."""

    # Fitted attributes (annotations only: unset until fit).
    network_: Network
    loss_curve_: List[float]

    def _output(self) -> str:
        return "identity"

    def _cost(self) -> str:  # pragma: no cover - each estimator says
        raise NotImplementedError

    def _np_dtype(self) -> Any:
        if self.dtype not in ("float64", "float32"):
            raise ValueError("dtype must be 'float64' or 'float32', got %r" % (self.dtype,))
        return np.float64 if self.dtype == "float64" else np.float32

    def _sizes(self, n_in: int, n_out: int) -> List[int]:
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        try:
            hidden = list(hidden)
        except TypeError:
            raise TypeError("hidden_layer_sizes must be a sequence of layer sizes, "
                            "got %r" % (self.hidden_layer_sizes,)) from None
        for h in hidden:
            if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
                raise ValueError("hidden_layer_sizes must hold positive integers, got %r"
                                 % (self.hidden_layer_sizes,))
        return [n_in] + [int(h) for h in hidden] + [n_out]

    def _seed(self) -> Optional[int]:
        """random_state as pybp's seed: an int as it is, None for a fresh one."""
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        return int(check_random_state(rs).randint(2 ** 31 - 1))

    def _new_network(self, n_in: int, n_out: int) -> Network:
        sizes = self._sizes(n_in, n_out)
        activation = self.activation
        if not isinstance(activation, str):
            raise TypeError("activation must be one name for the hidden layers, got %r"
                            % (activation,))
        acts = [activation] * (len(sizes) - 2) + [self._output()]
        return Network(sizes, acts, self._cost(), seed=self._seed(), init=self.init,
                       backend=self.backend, threads=self.threads, dtype=self.dtype)

    def _train(self, data: Dataset, epochs: int) -> None:
        history = self.network_.sgd(data, epochs, self.batch_size, self.eta, self.lmbda)
        self.loss_curve_ = self.loss_curve_ + [r["cost"] for r in history]
        self.loss_ = self.loss_curve_[-1]
        self.n_iter_ = self.network_.epochs_trained

    def _start(self, n_in: int, n_out: int, warm: bool) -> None:
        """A new network, or (warm) the fitted one when it fits the data."""
        if warm and hasattr(self, "network_"):
            if self.network_.sizes[-1] != n_out:
                raise ValueError("warm start: the data needs %d outputs, the fitted "
                                 "network has %d" % (n_out, self.network_.sizes[-1]))
            return
        self.network_ = self._new_network(n_in, n_out)
        self.loss_curve_ = []

    def _outputs(self, X: Any) -> Any:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=self._np_dtype(), order="C")
        data = Dataset(X, n_inputs=X.shape[1])
        return np.array(self.network_.outputs(data), dtype=np.float64)

    @property
    def coefs_(self) -> List[Any]:
        """The weight matrices in scikit-learn's orientation (n_in x n_out), copies."""
        return [np.array(w).T.copy() for w in self.network_.weights]

    @property
    def intercepts_(self) -> List[Any]:
        """The bias vectors, copies."""
        return [np.array(b) for b in self.network_.biases]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class MLPClassifier(ClassifierMixin, _PybpMLP):
    """A pybp Network as a scikit-learn classifier (see the module's doc).

    hidden_layer_sizes  sizes of the hidden layers, (30,) by default
    activation          the hidden layers': sigmoid, tanh, relu or identity
    cost                log-likelihood (softmax outputs), cross-entropy or
                        quadratic (sigmoid outputs)
    eta, lmbda          pybp's learning rate and L2 parameter
    batch_size          the mini-batch size m (the data's size when larger)
    max_iter            epochs per fit; partial_fit runs one
    init                "scaled" (W ~ N(0, 1/n_in)) or "normal" (N(0, 1))
    random_state        pybp's seed (an int as it is); None: a fresh one
    warm_start          fit goes on from the fitted network
    backend, threads, dtype   as for pybp.Network
    """

    classes_: Any

    def __init__(self, hidden_layer_sizes: Any = (30,), activation: str = "sigmoid", *,
                 cost: str = "log-likelihood", eta: float = 0.5, lmbda: float = 0.0,
                 batch_size: int = 10, max_iter: int = 30, init: str = "scaled",
                 random_state: Any = None, warm_start: bool = False,
                 backend: Optional[str] = None, threads: Optional[int] = None,
                 dtype: str = "float64") -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.cost = cost
        self.eta = eta
        self.lmbda = lmbda
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.init = init
        self.random_state = random_state
        self.warm_start = warm_start
        self.backend = backend
        self.threads = threads
        self.dtype = dtype

    def _output(self) -> str:
        return _CLASSIFIER_OUTPUTS.get(self.cost, "sigmoid")

    def _cost(self) -> str:
        if self.cost not in _CLASSIFIER_OUTPUTS:
            raise ValueError("cost must be one of %s, got %r"
                             % (", ".join(_CLASSIFIER_OUTPUTS), self.cost))
        return self.cost

    def _labels(self, y: Any) -> Any:
        """Class indices into classes_ for the labels y (all must be known)."""
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError("y holds labels not in classes_ %r: %r"
                             % (list(self.classes_), list(np.unique(y[unknown]))))
        return index.astype(np.int32)

    def _data(self, X: Any, y: Any) -> Dataset:
        return Dataset(X, labels=self._labels(y), n_inputs=X.shape[1])

    def _set_classes(self, classes: Any, warm: bool) -> None:
        classes = np.unique(classes)
        if len(classes) < 2:
            raise ValueError("MLPClassifier needs at least 2 classes, got 1 class (%r)"
                             % (classes[0],) if len(classes) else
                             "MLPClassifier needs at least 2 classes, got none")
        if warm and hasattr(self, "classes_") and not np.array_equal(classes, self.classes_):
            raise ValueError("warm start: y has the classes %r, the fitted network %r"
                             % (list(classes), list(self.classes_)))
        self.classes_ = classes

    def fit(self, X: Any, y: Any) -> "MLPClassifier":
        """Train a new network (or, with warm_start, the fitted one) for max_iter epochs."""
        warm = bool(self.warm_start) and hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=not warm, dtype=self._np_dtype(), order="C")
        check_classification_targets(y)
        self._set_classes(y, warm)
        self._start(X.shape[1], len(self.classes_), warm)
        self._train(self._data(X, y), self.max_iter)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> "MLPClassifier":
        """One epoch over (X, y); the first call needs every class in `classes`."""
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, dtype=self._np_dtype(), order="C")
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("the first call to partial_fit needs classes=, all "
                                 "the classes there will be")
            self._set_classes(classes, False)
            self._start(X.shape[1], len(self.classes_), False)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError("partial_fit: classes=%r differs from classes_ %r of the "
                             "first call" % (list(classes), list(self.classes_)))
        self._train(self._data(X, y), 1)
        return self

    def predict_proba(self, X: Any) -> Any:
        """The network's outputs, one column per class of classes_ (sigmoid
        outputs divided by their row's sum)."""
        out = self._outputs(X)
        if self._output() != "softmax":
            total = out.sum(axis=1, keepdims=True)
            out = np.divide(out, total, out=np.full_like(out, 1.0 / out.shape[1]),
                            where=total > 0)
        return out

    def predict(self, X: Any) -> Any:
        """The class of the first largest output, for every example."""
        out = self._outputs(X)
        return self.classes_[np.argmax(out, axis=1)]


class MLPRegressor(RegressorMixin, _PybpMLP):
    """A pybp Network as a scikit-learn regressor: identity outputs, one per
    target column, and the quadratic cost.  The parameters are the
    classifier's but cost (see MLPClassifier)."""

    def __init__(self, hidden_layer_sizes: Any = (30,), activation: str = "sigmoid", *,
                 eta: float = 0.05, lmbda: float = 0.0, batch_size: int = 10,
                 max_iter: int = 30, init: str = "scaled", random_state: Any = None,
                 warm_start: bool = False, backend: Optional[str] = None,
                 threads: Optional[int] = None, dtype: str = "float64") -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.eta = eta
        self.lmbda = lmbda
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.init = init
        self.random_state = random_state
        self.warm_start = warm_start
        self.backend = backend
        self.threads = threads
        self.dtype = dtype

    def _cost(self) -> str:
        return "quadratic"

    def _validate(self, X: Any, y: Any, reset: bool) -> Any:
        X, y = validate_data(self, X, y, reset=reset, dtype=self._np_dtype(), order="C",
                             multi_output=True, y_numeric=True)
        y = np.ascontiguousarray(y, dtype=np.float64)
        return X, y.reshape(len(y), -1)

    def fit(self, X: Any, y: Any) -> "MLPRegressor":
        """Train a new network (or, with warm_start, the fitted one) for max_iter epochs."""
        warm = bool(self.warm_start) and hasattr(self, "network_")
        X, y = self._validate(X, y, not warm)
        self._start(X.shape[1], y.shape[1], warm)
        self.n_outputs_ = y.shape[1]
        self._train(Dataset(X, y, n_inputs=X.shape[1]), self.max_iter)
        return self

    def partial_fit(self, X: Any, y: Any) -> "MLPRegressor":
        """One epoch over (X, y)."""
        first = not hasattr(self, "network_")
        X, y = self._validate(X, y, first)
        self._start(X.shape[1], y.shape[1], not first)
        self.n_outputs_ = y.shape[1]
        self._train(Dataset(X, y, n_inputs=X.shape[1]), 1)
        return self

    def predict(self, X: Any) -> Any:
        """The network's outputs: shape (n,) for one target, else (n, n_outputs)."""
        out = self._outputs(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
