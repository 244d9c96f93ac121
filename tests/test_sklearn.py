"""scikit-learn and pybp: pybp.from_sklearn takes a fitted scikit-learn MLP
over with its numbers, and pybp.sklearn's estimators follow scikit-learn's
conventions (check_estimator) while training exactly the Network that the
same settings give in plain pybp.

How close scikit-learn's numbers are to pybp's: not the same bits.
scikit-learn multiplies with BLAS (another order of sums, blocked, with
FMA where the CPU has it) and takes exp and tanh from numpy and scipy
(the platform's libm); pybp sums in its fixed order with its own exp and
tanh (docs/exactness.md).  Each operation is within an ulp or two on both
sides, so the results differ by a few ulps of the values summed, not of
the result: measured, at most 4e-16 relative on probabilities, and on
regression outputs 9e-16 absolute where the terms are of size 1 (2e-14
relative on an output near zero after cancellation).  The tests bound the
difference by 1e-13 (about 450 ulps) times the size of what is summed: the
value itself for probabilities and parameters, the sum of |terms| of the
output's weighted input for identity outputs.  A wrong transpose, a
missing bias or another activation misses that by orders of magnitude.
"""

import copy
import pickle
import subprocess
import sys
import warnings

import pytest

import pybp

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkRegressor  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from pybp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

from helpers import _pybp_command  # noqa: E402

BOUND = 1e-13
KINDS = ["binary", "multiclass", "multilabel", "regression", "regression-2"]


def _problem(kind, n=40, seed=0):
    """Inputs, sklearn's y, and the same targets as pybp takes them."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    if kind == "binary":
        y = (X[:, 0] > 0).astype(int)
        return X, y, y.reshape(-1, 1).astype(float)
    if kind == "multiclass":
        y = np.digitize(X[:, 0], [-0.5, 0.5])
        return X, y, np.eye(3)[y]
    if kind == "multilabel":
        y = np.c_[X[:, 0] > 0, X[:, 1] > 0].astype(int)
        return X, y, y.astype(float)
    y = X @ np.array([1.0, 2.0, -3.0, 0.5])
    if kind == "regression-2":
        y = np.c_[y, X[:, 0] - X[:, 1]]
    return X, y, y.reshape(n, -1).astype(float)


def _sk_estimator(kind, **kw):
    cls = SkRegressor if kind.startswith("regression") else SkClassifier
    return cls(**kw)


def _fitted(kind, activation="tanh", hidden=(5, 3), **kw):
    X, y, t = _problem(kind)
    est = _sk_estimator(kind, hidden_layer_sizes=hidden, activation=activation,
                        random_state=0, max_iter=30, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est, X, y, t


def _sk_outputs(est, kind, X):
    if kind == "binary":
        return est.predict_proba(X)[:, 1:]
    if kind in ("multiclass", "multilabel"):
        return est.predict_proba(X)
    return est.predict(X).reshape(len(X), -1)


# --- from_sklearn --------------------------------------------------------------


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "identity"])
@pytest.mark.parametrize("kind", KINDS)
def test_from_sklearn_computes_what_sklearn_predicts(kind, activation, backend):
    est, X, _, t = _fitted(kind, activation)
    net = pybp.from_sklearn(est, backend=backend)
    hidden = {"logistic": "sigmoid"}.get(activation, activation)
    output, cost = {"binary": ("sigmoid", "cross-entropy"),
                    "multiclass": ("softmax", "log-likelihood"),
                    "multilabel": ("sigmoid", "cross-entropy")}.get(kind,
                                                                   ("identity", "quadratic"))
    assert net.activations == [hidden, hidden, output] and net.cost_name == cost
    assert net.sizes == [4, 5, 3, est.n_outputs_]
    data = pybp.Dataset(X, n_inputs=4)
    mine = np.array(net.outputs(data))
    theirs = _sk_outputs(est, kind, X)
    assert mine.shape == theirs.shape
    if output == "identity":
        # Bound by the size of the terms of z^L = W^L a^(L-1) + b^L.
        below = np.array(net.trace(pybp.Dataset(X, t, n_inputs=4))[2]["a"])
        scale = np.abs(below) @ np.abs(est.coefs_[-1]) + np.abs(est.intercepts_[-1])
    else:
        scale = np.abs(theirs)
    assert np.all(np.abs(mine - theirs) <= BOUND * scale), np.max(np.abs(mine - theirs))


@pytest.mark.parametrize("alpha", [0.0, 0.01])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression-2"])
def test_one_sgd_step_and_its_loss_agree_with_sklearn(kind, alpha):
    # Plain SGD on the whole set as one mini-batch, unshuffled: sklearn's
    # step W -= eta (sum_x grad_x + alpha W) / m is pybp's update with
    # lmbda = alpha and n = m.  Its loss_ is the cost before the step, plus
    # sklearn's L2 term; for squared_error, pybp's cost / n_outputs.
    est, X, y, t = _fitted(kind, solver="sgd", momentum=0.0, learning_rate_init=0.1,
                           batch_size=40, shuffle=False, alpha=alpha)
    net = pybp.from_sklearn(est)
    data = pybp.Dataset(X, t, n_inputs=4)
    before = np.array(net.params)
    penalty = 0.5 * alpha * sum(float((w ** 2).sum()) for w in est.coefs_) / len(X)
    est.partial_fit(X, y)
    per_output = t.shape[1] if kind.startswith("regression") else 1
    assert abs(net.cost(data) / per_output + penalty - est.loss_) <= BOUND * est.loss_
    net.update_mini_batch(data, eta=0.1, lmbda=alpha, n=len(X))
    mine, theirs = np.array(net.params), np.array(pybp.from_sklearn(est).params)
    assert not np.array_equal(mine, before)
    scale = np.maximum(np.abs(before), np.abs(theirs))
    assert np.all(np.abs(mine - theirs) <= BOUND * scale), np.max(np.abs(mine - theirs))


def test_from_sklearn_copies_float32_parameters_exactly():
    X, y, _ = _problem("multiclass")
    est = SkClassifier((5,), random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X.astype(np.float32), y)
    assert est.coefs_[0].dtype == np.float32
    net = pybp.from_sklearn(est)
    assert np.array(net.weights[0]).tolist() == est.coefs_[0].T.astype(np.float64).tolist()
    assert np.array(net.biases[1]).tolist() == est.intercepts_[1].astype(np.float64).tolist()


def test_from_sklearn_refuses_the_poisson_loss():
    X, y, _ = _problem("regression")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            poisson = SkRegressor(hidden_layer_sizes=(3,), loss="poisson", max_iter=5,
                                  random_state=0).fit(X, np.abs(y))
        except (TypeError, ValueError) as e:  # scikit-learn before 1.7 has none
            pytest.skip("this scikit-learn has no poisson loss: %s" % e)
    with pytest.raises(ValueError, match="poisson.*no pybp equivalent"):
        pybp.from_sklearn(poisson)


def test_from_sklearn_refuses_what_pybp_has_not():
    X, y, _ = _problem("regression")
    with pytest.raises(NotFittedError):
        pybp.from_sklearn(SkClassifier())
    with pytest.raises(TypeError, match="expected a fitted.*got LinearRegression"):
        from sklearn.linear_model import LinearRegression
        pybp.from_sklearn(LinearRegression().fit(X, y))
    ours = MLPRegressor(max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="network_"):
        pybp.from_sklearn(ours)


def test_import_pybp_imports_no_sklearn():
    _, cwd, env = _pybp_command([])
    code = "import sys, pybp; print('sklearn' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=cwd, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "False"


# --- pybp.sklearn: scikit-learn's own checks --------------------------------------


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- pybp.sklearn: the numbers are pybp's -------------------------------------------


def _blobs(n=60, classes=3, seed=1):
    rng = np.random.RandomState(seed)
    y = rng.randint(classes, size=n)
    X = rng.randn(n, 3) * 0.5 + np.eye(classes, 3)[y] * 2
    return X, y


@pytest.mark.parametrize("cost", ["log-likelihood", "cross-entropy", "quadratic"])
def test_the_classifier_trains_the_plain_network(backend, cost):
    X, y = _blobs()
    labels = np.array(["a", "b", "c"])[y]
    clf = MLPClassifier((4,), "tanh", cost=cost, eta=0.3, lmbda=0.1, batch_size=7,
                        max_iter=3, random_state=11, backend=backend).fit(X, labels)
    out = {"log-likelihood": "softmax"}.get(cost, "sigmoid")
    net = pybp.Network([3, 4, 3], ["tanh", out], cost, seed=11, init="scaled",
                       backend=backend)
    history = net.sgd(pybp.Dataset(X, labels=y.astype(np.int32), n_inputs=3), 3, 7, 0.3, 0.1)
    assert bytes(clf.network_.params) == bytes(net.params)
    assert clf.loss_curve_ == [r["cost"] for r in history] and clf.n_iter_ == 3
    assert list(clf.classes_) == ["a", "b", "c"] and clf.n_features_in_ == 3
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(clf.predict(X)) == list(clf.classes_[net.predict(pybp.Dataset(X, n_inputs=3))])
    assert [c.shape for c in clf.coefs_] == [(3, 4), (4, 3)]
    assert clf.coefs_[1].T.tolist() == np.array(net.weights[1]).tolist()
    assert clf.intercepts_[0].tolist() == np.array(net.biases[0]).tolist()


def test_the_regressor_trains_the_plain_network(backend):
    X, _ = _blobs()
    y = np.c_[X.sum(axis=1), X[:, 0]]
    reg = MLPRegressor((5,), eta=0.05, batch_size=8, max_iter=2, random_state=4,
                       backend=backend).fit(X, y)
    net = pybp.Network([3, 5, 2], ["sigmoid", "identity"], "quadratic", seed=4,
                       init="scaled", backend=backend)
    net.sgd(pybp.Dataset(X, y, n_inputs=3), 2, 8, 0.05)
    assert bytes(reg.network_.params) == bytes(net.params)
    assert reg.predict(X).shape == (60, 2) and reg.n_outputs_ == 2
    one = MLPRegressor((5,), max_iter=2, random_state=4, backend=backend).fit(X, y[:, 0])
    assert one.predict(X).shape == (60,)


def test_both_backends_fit_the_same_bits():
    if "c" not in pybp.available_backends():
        pytest.skip("needs the C backend")
    X, y = _blobs(n=30)
    fits = [MLPClassifier((4,), max_iter=2, random_state=3, backend=b).fit(X, y)
            for b in ("python", "c")]
    assert fits[0].network_.backend == "python" and fits[1].network_.backend == "c"
    assert bytes(fits[0].network_.params) == bytes(fits[1].network_.params)
    assert fits[0].predict_proba(X).tolist() == fits[1].predict_proba(X).tolist()


def test_float32_estimators(c_backend):
    X, y = _blobs()
    clf = MLPClassifier((4,), max_iter=3, random_state=2, dtype="float32").fit(X, y)
    assert clf.network_.dtype == "float32" and clf.network_.params.typecode == "f"
    net = pybp.Network([3, 4, 3], ["sigmoid", "softmax"], "log-likelihood", seed=2,
                       init="scaled", dtype="float32")
    net.sgd(pybp.Dataset(X.astype(np.float32), labels=y.astype(np.int32), n_inputs=3),
            3, 10, 0.5)
    assert bytes(clf.network_.params) == bytes(net.params)
    wide = MLPClassifier((4,), max_iter=3, random_state=2).fit(X, y)
    assert np.max(np.abs(clf.predict_proba(X) - wide.predict_proba(X))) < 1e-4
    reg = MLPRegressor((4,), max_iter=2, random_state=2, dtype="float32").fit(X, X[:, 0])
    assert reg.predict(X).dtype == np.float64
    with pytest.raises(ValueError, match="float32"):
        MLPClassifier(backend="python", dtype="float32").fit(X, y)


def test_partial_fit_is_one_epoch_each(backend):
    X, y = _blobs()
    clf = MLPClassifier((4,), batch_size=6, random_state=9, backend=backend)
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1, 2])
    clf.partial_fit(X[30:], y[30:])
    net = pybp.Network([3, 4, 3], ["sigmoid", "softmax"], "log-likelihood", seed=9,
                       init="scaled", backend=backend)
    for part in (slice(0, 30), slice(30, 60)):
        net.sgd(pybp.Dataset(X[part], labels=y[part].astype(np.int32), n_inputs=3), 1, 6, 0.5)
    assert bytes(clf.network_.params) == bytes(net.params)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X[:3], y[:3], classes=[0, 1])
    reg = MLPRegressor((3,), random_state=1, backend=backend)
    reg.partial_fit(X, y.astype(float)).partial_fit(X, y.astype(float))
    assert reg.n_iter_ == 2


def test_warm_start_goes_on_where_fit_stopped():
    X, y = _blobs()
    warm = MLPClassifier((4,), max_iter=2, random_state=5, warm_start=True)
    warm.fit(X, y).fit(X, y)
    once = MLPClassifier((4,), max_iter=4, random_state=5).fit(X, y)
    assert bytes(warm.network_.params) == bytes(once.network_.params)
    assert warm.n_iter_ == 4 and warm.loss_curve_ == once.loss_curve_
    cold = MLPClassifier((4,), max_iter=2, random_state=5).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 2
    with pytest.raises(ValueError, match="warm start"):
        warm.fit(X, np.where(y == 2, 1, y))


def test_random_state():
    X, y = _blobs()
    fresh = [MLPClassifier((4,), max_iter=1).fit(X, y).network_.seed for _ in range(2)]
    assert fresh[0] != fresh[1]  # two draws of 2**32 seeds
    rs = np.random.RandomState(0)
    seed = MLPClassifier((4,), max_iter=1, random_state=rs).fit(X, y).network_.seed
    assert seed == np.random.RandomState(0).randint(2 ** 31 - 1)


def test_clone_pickle_and_deepcopy():
    X, y = _blobs()
    clf = MLPClassifier((4,), "relu", eta=0.2, max_iter=2, random_state=6).fit(X, y)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "network_")
    assert bytes(fresh.fit(X, y).network_.params) == bytes(clf.network_.params)
    for copied in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
        assert bytes(copied.network_.params) == bytes(clf.network_.params)
        assert copied.predict_proba(X).tolist() == clf.predict_proba(X).tolist()
        copied.partial_fit(X, y)
    clf.partial_fit(X, y)
    assert bytes(copied.network_.params) == bytes(clf.network_.params)


def test_bad_settings_are_named():
    X, y = _blobs()
    with pytest.raises(ValueError, match="cost must be one of"):
        MLPClassifier(cost="hinge").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(3, 0)).fit(X, y)
    with pytest.raises(ValueError, match="dtype"):
        MLPRegressor(dtype="float16").fit(X, y)
    with pytest.raises(ValueError, match="eta"):
        MLPRegressor(eta=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="1 class"):
        MLPClassifier().fit(X, np.zeros(len(X)))
