"""Network: the one Python API over both backends.

Everything a user passes is validated here, before any kernel runs, so both
backends raise the same exceptions for the same mistakes.  The numbers
themselves come from the kernel package ``pybp._kernels``: ``reference``
(pure Python) or ``ccore`` (the C core), which agree bit for bit in float64.
This module is the kernels' one door for numbers; tools reach them through
``Network.kernels`` and ``Network.dataset``.
"""

import math
import os
import random
import sys
import time
from array import array
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _kernels
from ._arrays import native_code, to_array
from ._kernels import reference as _reference
from ._kernels.reference import argmax
from .checks import (
    DTYPES,
    all_finite,
    check_count,
    check_dtype,
    check_inputs,
    check_number,
    check_target_domain,
)
from .dataset import Dataset, as_dataset
from .guard import Guard, Use
from .seeding import init_params, shuffler
from .spec import MAX_THREADS, NetSpec

# Seconds per kernel call of an epoch that reports no progress: how long
# Ctrl-C may wait (an epoch of the C backend would otherwise be one call).
PIECE_SECONDS = 0.2

# What the methods accept as examples: a Dataset, rows of inputs (with ys
# given separately), a pair (xs, ys) or a list of (x, y) pairs.
Examples = Any
Record = Dict[str, Any]


def _backend_for(backend, dtype):
    """The backend to ask for: float32 defaults to C, the only one computing in it."""
    return "c" if backend is None and dtype == "float32" else backend


class DivergenceError(ArithmeticError):
    """Training produced NaN or infinite parameters.

    Attributes: epoch and batch (both counted from 1; None for a single
    update_mini_batch step), batches (mini-batches per epoch) and eta.  The
    network keeps its parameters from just before the mini-batch at fault.
    """

    def __init__(self, epoch, batch, batches, eta):
        self.epoch, self.batch, self.batches, self.eta = epoch, batch, batches, eta
        where = ("in epoch %d, mini-batch %d of %d" % (epoch, batch, batches)
                 if epoch is not None else "in update_mini_batch")
        super().__init__(
            "training diverged %s: the parameters became NaN or infinite. The "
            "learning rate eta=%g is most likely too large; try a smaller eta "
            "(or the scaled init)." % (where, eta))


_NONFINITE = ("params: a parameter is NaN or infinite (written into net.params?); "
              "no result is computed from it")


class Network:
    """A fully-connected feedforward network trained by backpropagation.

    Network(sizes, activation="sigmoid", cost="quadratic", *, seed=None,
            init="normal", backend=None, threads=None, dtype="float64")

    sizes       layer sizes n_0 (inputs) .. n_L (outputs), e.g. [784, 30, 10]
    activation  one name for every layer, or a list with one per layer 1 .. L:
                sigmoid, tanh, relu, identity; softmax on the last layer only
    cost        quadratic, cross-entropy (sigmoid outputs) or
                log-likelihood (softmax outputs)
    seed        fixes the initial parameters and the shuffles of sgd; None
                picks one at random (kept in net.seed)
    init        "normal": W, b ~ N(0, 1); "scaled": W ~ N(0, 1/n_in)
    backend     "c", "python" or None for pybp.backend
    threads     worker threads for training on the C backend (None: the
                PYBP_THREADS setting, else one); any count gives the same bits
    dtype       "float64" (the exact reference numbers) or "float32" (C
                backend only: single precision, about twice as fast; the
                initial parameters are the float64 ones rounded)
    """

    _params: array  # set once by the params setter, then only written into

    def __init__(self, sizes: Sequence[int],
                 activation: Union[str, Sequence[str]] = "sigmoid",
                 cost: str = "quadratic", *, seed: Optional[int] = None,
                 init: str = "normal", backend: Optional[str] = None,
                 threads: Optional[int] = None, dtype: str = "float64") -> None:
        self._start(NetSpec(sizes, activation, cost), _backend_for(backend, dtype),
                    dtype, threads, seed, init)
        self.params = init_params(self.spec, self.seed, init)

    def _start(self, spec, backend, dtype, threads, seed, init):
        """Everything but the parameters: the one place a Network is put
        together (__init__, copy and from_params all come here)."""
        self.spec = spec
        self._guard = Guard()
        self._kernels, self.backend = _kernels.kernels(backend)
        self.dtype = check_dtype(dtype, self.backend)
        self.threads = threads
        if seed is None:
            seed = random.SystemRandom().randrange(2 ** 32)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError("seed must be an integer, got %r" % (seed,))
        if spec.nparams * 8 > sys.maxsize:
            raise MemoryError("a network of sizes %r has %d parameters, too "
                              "many for this machine"
                              % (list(spec.sizes), spec.nparams))
        self.seed = seed
        self.init = init
        self._shuffle = shuffler(seed)
        self.epochs_trained = 0

    # --- shape and parameters ------------------------------------------------

    @property
    def threads(self) -> Optional[int]:
        """Worker threads for training (C backend); None: the process default."""
        return self._threads

    @threads.setter
    def threads(self, value: Optional[int]) -> None:
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError("threads must be an integer, got %r" % (value,))
            if not 1 <= value <= MAX_THREADS:
                raise ValueError("threads must be in 1 .. %d, got %d"
                                 % (MAX_THREADS, value))
        self._threads = value

    @property
    def sizes(self) -> List[int]:
        return list(self.spec.sizes)

    @property
    def activations(self) -> List[str]:
        return list(self.spec.activations)

    @property
    def cost_name(self) -> str:
        return self.spec.cost

    @property
    def params(self) -> array:
        """All parameters, flat, in the layout of docs/math.md (writable): an
        array('d'), or array('f') for dtype float32."""
        return self._params

    @params.setter
    def params(self, values: Any) -> None:
        if isinstance(values, (str, bytes)):
            raise TypeError("params must be a sequence of floats")
        try:
            new = to_array(DTYPES[self.dtype], values)
        except TypeError:
            raise TypeError("params must be a sequence of numbers") from None
        if len(new) != self.spec.nparams:
            raise ValueError("params: expected %d values for sizes %r, got %d"
                             % (self.spec.nparams, self.sizes, len(new)))
        if not all_finite(new):
            bad = next(i for i, v in enumerate(new) if not math.isfinite(v))
            if new.typecode == "f" and math.isfinite(values[bad]):
                raise ValueError("params: parameter %d is %r, beyond float32's "
                                 "range (about 3.4e38)" % (bad, values[bad]))
            raise ValueError("params: every parameter must be finite "
                             "(parameter %d is %r)" % (bad, new[bad]))
        if getattr(self, "_params", None) is None:
            self._params = new
        else:  # keep the same storage, so views stay valid
            with Use(self._guard, True):
                self._params[:] = new

    @property
    def weights(self) -> List[memoryview]:
        """W^1 .. W^L as 2-D memoryviews (w[j, k]) sharing storage with params."""
        return self.spec.weight_views(self._params)

    @property
    def biases(self) -> List[memoryview]:
        """b^1 .. b^L as memoryviews sharing storage with params."""
        return self.spec.bias_views(self._params)

    def __repr__(self) -> str:
        return "Network(%r, activation=%r, cost=%r, backend=%r%s)" % (
            self.sizes, self.activations, self.spec.cost, self.backend,
            ", dtype='float32'" if self.dtype == "float32" else "")

    @property
    def kernels(self) -> Any:
        """The kernels module of this network's backend (read-only), for
        tools that compute with the kernel protocol of pybp._kernels."""
        return self._kernels

    # --- data checks ------------------------------------------------------------

    def dataset(self, xs: Examples, ys: Optional[Sequence[Any]] = None, *,
                targets: bool = True, what: str = "data") -> Dataset:
        """The examples as a Dataset checked against this network: inputs of
        the right width in its dtype and, with targets=True, targets or
        labels that fit its outputs.  What every method does to its data
        before a kernel sees it."""
        if ys is None:
            data = xs if isinstance(xs, Dataset) else as_dataset(xs, what)
        else:
            if isinstance(xs, Dataset):
                raise TypeError("%s: give a Dataset alone, without ys" % what)
            if isinstance(ys, (list, tuple)) and ys and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in ys):
                data = Dataset(xs, labels=ys)
            else:
                data = Dataset(xs, ys)
        n_in, n_out = self.spec.sizes[0], self.spec.sizes[-1]
        data = data.inputs_as(self.dtype)
        if data.n_inputs != n_in:
            raise ValueError("%s: inputs have %d values, the network takes %d"
                             % (what, data.n_inputs, n_in))
        if targets:
            if data.y is not None:
                if data.n_outputs != n_out:
                    raise ValueError("%s: targets have %d values, the network "
                                     "has %d outputs" % (what, data.n_outputs, n_out))
            elif data.labels is not None:
                top = max(data.labels)
                if top >= n_out:
                    raise ValueError("%s: label %d is out of range for %d outputs"
                                     % (what, top, n_out))
            else:
                raise ValueError("%s: no targets or labels" % what)
            check_target_domain(data, self.spec.cost, what)
        return data

    def _call(self, name, *args, write=False, **kwargs):
        """kernels.name(spec, params, *args, **kwargs), guarded against concurrent use;
        the Python backend first checks that the parameters are finite (the
        C core checks them itself)."""
        guard = self._guard
        guard.enter(write)
        try:
            if self.backend == "python" and not all_finite(self._params):
                raise ValueError(_NONFINITE)
            return getattr(self._kernels, name)(self.spec, self._params, *args, **kwargs)
        finally:
            guard.leave(write)

    @staticmethod
    def _numbers(x, n, what):
        """x as an array('d') of n values: _vector without the finiteness check."""
        if isinstance(x, (str, bytes)):
            raise TypeError("%s must be a sequence of numbers" % what)
        try:
            v = to_array("d", x)
        except TypeError:
            raise TypeError("%s must be a sequence of numbers" % what) from None
        if len(v) != n:
            raise ValueError("%s has %d values, expected %d" % (what, len(v), n))
        return v

    def _vector(self, x, n, what):
        v = self._numbers(x, n, what)
        if not all(map(math.isfinite, v)):
            raise ValueError("%s holds a value that is not finite" % what)
        return v

    # --- the equations ----------------------------------------------------------

    def feedforward(self, x: Sequence[float]) -> List[float]:
        """The output activations a^L for one input x, as a list of floats."""
        if self.backend == "c":
            # The fast path: pybp_infer, which checks that x is finite itself.
            # On any refusal (a non-finite x or parameter, another thread
            # training) the general path below runs on the same numbers and
            # raises exactly what it always has.
            x = self._numbers(x, self.spec.sizes[0], "input x")
            got = self._infer(x)
            if got is not None:
                return got
        x = self._vector(x, self.spec.sizes[0], "input x")
        data = Dataset(x, n_inputs=len(x))
        return self._call("forward_outputs", data).tolist()

    def _infer(self, x):
        """feedforward's fast path on the C backend: a^L of the array('d') x,
        or None when the guard or the C core refuses."""
        guard = self._guard
        try:
            guard.enter(False)
        except RuntimeError:
            return None
        try:
            # float32: infer rounds x to float in C, as array("f", x) would.
            return self._kernels.infer(self.spec, self._params, x)
        finally:
            guard.leave(False)

    def outputs(self, data: Examples, out: Any = None) -> Any:
        """a^L for every example of a Dataset (or rows of inputs), as a list of lists.

        With out=, a writable C-contiguous buffer (array, numpy array,
        memoryview) of count * n_L items in the network's dtype ("d" for
        float64, "f" for float32; any shape), the outputs go into it row
        after row instead, and out is returned.  out is written only after
        every check has passed and the outputs are computed.
        """
        if not isinstance(data, Dataset):
            data = Dataset(data)
        data = self.dataset(data, targets=False)
        n = self.spec.sizes[-1]
        if out is not None:
            target = self._out_buffer(out, data.count, n)
        flat = self._call("forward_outputs", data, threads=self._threads)
        if out is not None:
            target[:] = memoryview(flat).cast("B")
            return out
        return [flat[i:i + n].tolist() for i in range(0, len(flat), n)]

    def _out_buffer(self, out, count, n):
        """outputs' out= checked: a byte view of it to write count * n values into."""
        try:
            mv = memoryview(out)
        except TypeError:
            raise TypeError("out must be a writable buffer (array, numpy array, "
                            "memoryview), got %s" % type(out).__name__) from None
        code = DTYPES[self.dtype]
        if mv.readonly:
            raise TypeError("out is read-only; give a writable buffer")
        if native_code(mv) != code:
            raise TypeError("out holds items of format %r; a %s network writes %r "
                            "(native %s)" % (mv.format, self.dtype, code, self.dtype))
        if not mv.c_contiguous:
            raise ValueError("out must be C-contiguous")
        if mv.nbytes != count * n * mv.itemsize:
            raise ValueError("out holds %d values, expected %d (%d examples x %d "
                             "outputs)" % (mv.nbytes // mv.itemsize, count * n, count, n))
        return mv.cast("B")

    def predict(self, data: Examples) -> List[int]:
        """The predicted class (first largest output) of every example."""
        return [argmax(row) for row in self.outputs(data)]

    def cost(self, xs: Examples, ys: Optional[Sequence[Any]] = None) -> float:
        """Mean cost (1/n) sum_x C_x over the examples."""
        data = self.dataset(xs, ys)
        return self._call("cost_total", data) / data.count

    def gradient(self, xs: Examples, ys: Optional[Sequence[Any]] = None) -> array:
        """Mean gradient over the examples, flat, in the layout of docs/math.md."""
        data = self.dataset(xs, ys)
        return self._call("gradient", data)

    def backprop(self, x: Sequence[float], y: Union[int, Sequence[float]]
                 ) -> Tuple[List[List[float]], List[List[List[float]]]]:
        """One example's gradient as (nabla_b, nabla_w), per layer.

        nabla_b[l] is a list of n_l floats, nabla_w[l] a list of n_l rows of
        n_(l-1) floats (l counted from 0 for the first non-input layer).
        """
        n_in, n_out = self.spec.sizes[0], self.spec.sizes[-1]
        x = self._vector(x, n_in, "input x")
        if isinstance(y, int) and not isinstance(y, bool):
            if not 0 <= y < n_out:
                raise ValueError("label %d is out of range for %d outputs" % (y, n_out))
            data = Dataset(x, n_inputs=n_in, labels=[y])
        else:
            data = Dataset(x, self._vector(y, n_out, "target y"), n_inputs=n_in)
            check_target_domain(data, self.spec.cost, "target y")
        g = self._call("gradient", data)
        nabla_b, nabla_w = [], []
        for layer in self.spec.layers():
            nabla_w.append([g[row:row + layer.n_in].tolist()
                            for row in range(layer.w, layer.b, layer.n_in)])
            nabla_b.append(g[layer.b:layer.end].tolist())
        return nabla_b, nabla_w

    def evaluate(self, test_data: Examples) -> int:
        """How many examples the network classifies correctly (argmax)."""
        data = self.dataset(test_data, what="test_data")
        return self._call("evaluate", data, threads=self._threads)

    def update_mini_batch(self, xs: Examples, ys: Optional[Sequence[Any]] = None,
                          eta: Optional[float] = None, lmbda: float = 0.0,
                          n: Optional[int] = None) -> None:
        """One SGD step on the mini-batch (xs, ys), with L2 decay lmbda over n.

        W <- (1 - eta*lmbda/n) W - (eta/m) sum_x delta_x a_x^T;
        b <- b - (eta/m) sum_x delta_x.  n defaults to the batch size m.
        """
        if eta is None:
            raise TypeError("update_mini_batch needs eta")
        data = self.dataset(xs, ys)
        eta = check_number(eta, "eta", positive=True)
        lmbda = check_number(lmbda, "lmbda", nonnegative=True)
        n = data.count if n is None else check_count(n, "n")
        if n > sys.maxsize:
            raise ValueError("n must be at most %d, got %d" % (sys.maxsize, n))
        with Use(self._guard, True):
            snapshot = array(self._params.typecode, self._params)
            self._call("update_mini_batch", data, eta, lmbda, n, write=True)
            if not self._kernels.all_finite(self._params):
                self._params[:] = snapshot
                check_inputs(data, range(data.count))
                raise DivergenceError(None, None, None, eta)

    def sgd(self, training_data: Examples, epochs: int, mini_batch_size: int,
            eta: float, lmbda: float = 0.0, test_data: Optional[Examples] = None,
            *, callback: Optional[Callable[[Record], Any]] = None,
            progress: Optional[Callable[[int, int], Any]] = None,
            diagnose: Union[bool, int] = False) -> List[Record]:
        """Mini-batch SGD for `epochs` epochs; returns one record per epoch.

        Each epoch shuffles the training set with the network's seeded
        generator, cuts it into mini-batches and applies one update each.
        A record is a dict: epoch, cost (mean training cost over the epoch,
        from each example's forward pass), seconds (training time), and with
        test_data, correct and total.  callback(record) runs after each
        epoch; progress(done, count) is called during an epoch.
        diagnose=True (or a sample size) adds "diagnostics", the list
        diagnose() returns, measured on a fixed sample of the training data.
        """
        data = self.dataset(training_data, what="training_data")
        test = None if test_data is None else self.dataset(test_data, what="test_data")
        epochs = check_count(epochs, "epochs")
        m = check_count(mini_batch_size, "mini_batch_size")
        eta = check_number(eta, "eta", positive=True)
        lmbda = check_number(lmbda, "lmbda", nonnegative=True)
        if m > data.count:
            m = data.count
        probe = self._probe(data, diagnose)
        history = []
        with Use(self._guard, True):
            for _ in range(epochs):
                record = self._run_epoch(data, m, eta, lmbda, progress)
                if test is not None:
                    record["correct"] = self.evaluate(test)
                    record["total"] = test.count
                if probe is not None:
                    record["diagnostics"] = probe.run(self)
                history.append(record)
                if callback is not None:
                    callback(record)
        return history

    def diagnose(self, xs: Examples, ys: Optional[Sequence[Any]] = None, *,
                 sample: Optional[int] = None) -> List[Any]:
        """Per-layer learning diagnostics on a sample of the examples.

        A list of pybp.diagnostics.LayerDiagnostics, one per layer 1 .. L:
        mean |delta|, gradient-to-weight norm ratio, saturated units,
        dead ReLUs, near-zero inputs, and plain-language warnings.  The
        sample is `sample` examples (None: 500) spread evenly over the data.
        """
        data = self.dataset(xs, ys)
        return self._probe(data, True if sample is None else sample).run(self)

    @staticmethod
    def _probe(data, diagnose):
        """A diagnostics.Probe for diagnose=True or a sample size, else None."""
        if diagnose is False or diagnose is None:
            return None
        from . import diagnostics
        if diagnose is True:
            diagnose = diagnostics.DEFAULT_SAMPLE
        return diagnostics.Probe(data, diagnose)

    def train_epoch(self, data: Dataset, mini_batch_size: int, eta: float,
                    lmbda: float = 0.0, *,
                    progress: Optional[Callable[[int, int], Any]] = None
                    ) -> Record:
        """One epoch of sgd on a Dataset; returns its record.

        Checked like sgd's arguments; a mini-batch size above the number of
        examples means one mini-batch of all of them.
        """
        data = self.dataset(data, what="training_data")
        m = min(check_count(mini_batch_size, "mini_batch_size"), data.count)
        eta = check_number(eta, "eta", positive=True)
        lmbda = check_number(lmbda, "lmbda", nonnegative=True)
        with Use(self._guard, True):
            return self._run_epoch(data, m, eta, lmbda, progress)

    def _run_epoch(self, data, m, eta, lmbda, progress):
        """One epoch of sgd on a validated Dataset; returns its record.

        Undone if it does not finish: MemoryError (scratch space for a large
        mini-batch), KeyboardInterrupt or an exception from `progress` leave
        the parameters and the shuffle state as they were before the epoch.
        """
        if not self._kernels.all_finite(self._params):
            raise ValueError(_NONFINITE)
        params, state = self._params[:], self._shuffle.getstate()
        try:
            return self._epoch_pieces(data, m, eta, lmbda, progress)
        except DivergenceError:
            raise  # the parameters from before the mini-batch at fault stay
        except BaseException:
            # Out of memory, Ctrl-C, an exception from the progress callback:
            # the epoch never happened, so a retry gives the uninterrupted bits.
            self._params[:] = params
            self._shuffle.setstate(state)
            raise

    def _epoch_pieces(self, data, m, eta, lmbda, progress):
        """The epoch itself: shuffle, then kernel calls over pieces.

        The epoch runs as kernel calls over pieces of whole mini-batches
        (which changes no bit): 50 when progress is reported, otherwise
        pieces of about PIECE_SECONDS each, timed as they run, so that
        Ctrl-C (which Python sees between calls) stops an epoch soon.  When
        the parameters stop being finite, the piece is replayed one
        mini-batch at a time from a snapshot to name the mini-batch at
        fault, the parameters are left as they were before it, and
        DivergenceError is raised.
        """
        count = data.count
        kernels, spec, params = self._kernels, self.spec, self._params
        perm = kernels.shuffled(self._shuffle, count)
        piece = max(1, (count // 50) // m) * m
        data = data.inputs_as(self.dtype)
        total = 0.0
        start = time.perf_counter()
        lo = 0
        while lo < count:
            before, snapshot = total, array(params.typecode, params)
            began = time.perf_counter()
            total = kernels.sgd_epoch(spec, params, data, perm[lo:lo + piece], m,
                                      eta, lmbda, count, total, self._threads)
            if not kernels.all_finite(params) or math.isnan(total):
                params[:] = snapshot
                self._find_divergence(data, perm, lo, piece, m, eta, lmbda, before)
            lo += piece
            if progress is not None:
                progress(min(lo, count), count)
            else:
                took = time.perf_counter() - began
                per_batch = max(took, 1e-9) / (piece // m)
                piece = max(1, int(PIECE_SECONDS / per_batch)) * m
        seconds = time.perf_counter() - start
        self.epochs_trained += 1
        return {"epoch": self.epochs_trained, "cost": total / count,
                "seconds": seconds}

    def _find_divergence(self, data, perm, lo, piece, m, eta, lmbda, total):
        """Replay perm[lo:lo+piece] batch by batch; raise at the first bad one."""
        count, params = data.count, self._params
        for b in range(lo, min(lo + piece, count), m):
            check_inputs(data, perm[b:b + m])
            snapshot = array(params.typecode, params)
            total = self._kernels.sgd_epoch(self.spec, params, data, perm[b:b + m],
                                            m, eta, lmbda, count, total,
                                            self._threads)
            if not self._kernels.all_finite(params) or math.isnan(total):
                params[:] = snapshot
                raise DivergenceError(self.epochs_trained + 1, b // m + 1,
                                      -(-count // m), eta)
        raise RuntimeError("pybp: divergence seen once but not on replay; "
                           "please report this")  # exactness makes replay agree

    # --- state ------------------------------------------------------------------

    @property
    def shuffle_state(self) -> Any:
        """The shuffling generator's state (random.Random.getstate())."""
        return self._shuffle.getstate()

    @shuffle_state.setter
    def shuffle_state(self, state: Any) -> None:
        self._shuffle.setstate(state)

    # --- pickling: multiprocessing, joblib, copy.deepcopy ------------------------

    def __getstate__(self) -> Dict[str, Any]:
        """What a pickle of the network holds: its shape, settings, exact
        parameters (their bytes, little-endian) and shuffle state, not the
        kernels module or the thread guard."""
        params = array(self._params.typecode, self._params)
        if sys.byteorder == "big":  # pragma: no cover - stored little-endian
            params.byteswap()
        return {"sizes": list(self.spec.sizes), "activations": list(self.spec.activations),
                "cost": self.spec.cost, "backend": self.backend, "dtype": self.dtype,
                "threads": self._threads, "seed": self.seed, "init": self.init,
                "params": params.tobytes(), "shuffle_state": self._shuffle.getstate(),
                "epochs_trained": self.epochs_trained}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        backend = state["backend"]
        if backend == "c" and "c" not in _kernels.available():
            # Unpickled where the C extension is missing: the same numbers
            # on the reference, which says so.
            import warnings
            warnings.warn("pybp: a network pickled on the C backend is unpickled on "
                          "the Python backend (the C backend is unavailable: %s)"
                          % _kernels.C_UNAVAILABLE, RuntimeWarning, stacklevel=2)
            backend = "python"
        self._start(NetSpec(state["sizes"], state["activations"], state["cost"]),
                    backend, state["dtype"], state["threads"], state["seed"],
                    state["init"])
        params = array(DTYPES[state["dtype"]])
        params.frombytes(state["params"])
        if sys.byteorder == "big":  # pragma: no cover
            params.byteswap()
        self.params = params
        self._shuffle.setstate(state["shuffle_state"])
        self.epochs_trained = state["epochs_trained"]

    def copy(self, backend: Optional[str] = None,
             dtype: Optional[str] = None) -> "Network":
        """A copy with identical parameters and shuffle state, on any backend;
        a dtype other than this network's converts the parameters (exactly
        to float64, rounded to float32)."""
        new = object.__new__(Network)
        # A spec of its own: the C descriptor cached on it is per network.
        new._start(NetSpec(self.spec.sizes, self.spec.activations, self.spec.cost),
                   self.backend if backend is None else backend,
                   self.dtype if dtype is None else dtype, self._threads,
                   self.seed, self.init)
        new.params = self._params
        new._shuffle.setstate(self._shuffle.getstate())
        new.epochs_trained = self.epochs_trained
        return new

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the model file (docs/model-format.md) atomically."""
        from . import model
        model.save_file(path, model.dumps(self.spec.sizes, self.spec.activations,
                                          self.spec.cost, self._params))

    @classmethod
    def from_arrays(cls, weights: Sequence[Any], biases: Sequence[Any], *,
                    activation: Union[str, Sequence[str]] = "sigmoid",
                    cost: str = "quadratic", backend: Optional[str] = None,
                    dtype: str = "float64") -> "Network":
        """A network from another implementation's weights and biases.

        weights[l] is W^(l+1) in pybp's orientation, n_out rows of n_in
        (torch.nn.Linear.weight's too): a 2-D buffer (numpy, memoryview)
        or a list of rows; biases[l] is b^(l+1), n_out values.  The sizes
        follow from the shapes, which must chain.  The values are copied.
        """
        if len(weights) != len(biases) or not weights:
            raise ValueError("from_arrays: need as many weight matrices as bias "
                             "vectors, at least one (got %d and %d)"
                             % (len(weights), len(biases)))
        rows = [_matrix(w, "weights[%d]" % i) for i, w in enumerate(weights)]
        vecs = [_vector_of(b, "biases[%d]" % i) for i, b in enumerate(biases)]
        sizes = [len(rows[0][0])]
        for i, (w, b) in enumerate(zip(rows, vecs)):
            if len(w[0]) != sizes[-1]:
                raise ValueError("from_arrays: weights[%d] has %d columns, the layer "
                                 "before has %d units" % (i, len(w[0]), sizes[-1]))
            if len(b) != len(w):
                raise ValueError("from_arrays: biases[%d] has %d values for %d units"
                                 % (i, len(b), len(w)))
            sizes.append(len(w))
        params: List[float] = []
        for w, b in zip(rows, vecs):
            for row in w:
                params.extend(row)
            params.extend(b)
        return cls.from_params(sizes, activation, cost, params, backend=backend,
                               dtype=dtype)

    def trace(self, xs: Examples, ys: Optional[Sequence[Any]] = None) -> "Trace":
        """Every quantity of backpropagation for a batch, as the reference
        defines them (so the same bits on either backend, in float64).

        t = net.trace(xs, ys): t[0]["a"] the inputs; for l = 1 .. L,
        t[l]["z"], t[l]["a"], t[l]["delta"] (one row per example: BP1 for
        l = L, BP2 below it), t[l]["grad_b"] (BP3) and t[l]["grad_w"] (BP4,
        n_l rows of n_(l-1)), the mean over the batch as gradient() gives
        it; t.cost the mean cost.
        """
        if self.dtype != "float64":
            raise ValueError("trace is float64 (the reference's numbers); copy the "
                             "network with dtype='float64' first")
        data = self.dataset(xs, ys)
        spec, params = self.spec, list(self._params)
        n_out = spec.sizes[-1]
        t = Trace([{"a": []}] + [{"z": [], "a": [], "delta": []} for _ in spec.offsets])
        total = 0.0
        with Use(self._guard, False):
            for i in range(data.count):
                x, y = data.input(i), data.target(i, n_out)
                zs, acts = _reference.feedforward(spec, params, x)
                _, deltas, c = _reference.backward(spec, params, x, y)
                total += c
                t[0]["a"].append(acts[0])
                for l in range(1, len(spec.sizes)):
                    t[l]["z"].append(zs[l - 1])
                    t[l]["a"].append(acts[l])
                    t[l]["delta"].append(deltas[l - 1])
        grad = self.gradient(data)
        for l, layer in enumerate(spec.layers(), start=1):
            t[l]["grad_w"] = [grad[r:r + layer.n_in].tolist()
                              for r in range(layer.w, layer.b, layer.n_in)]
            t[l]["grad_b"] = grad[layer.b:layer.end].tolist()
        t.cost = total / data.count
        return t

    @classmethod
    def from_params(cls, sizes: Sequence[int],
                    activations: Union[str, Sequence[str]], cost: str,
                    params: Sequence[float], *, backend: Optional[str] = None,
                    seed: int = 0, dtype: str = "float64") -> "Network":
        """A network with the given parameters (e.g. read from a file)."""
        net = object.__new__(cls)
        net._start(NetSpec(sizes, activations, cost), _backend_for(backend, dtype),
                   dtype, None, seed, "normal")
        net.params = params
        return net


class Trace(list):
    """Network.trace's result: a list of per-layer dicts, and .cost."""

    cost: float = math.nan


def _vector_of(obj, what):
    """A list of floats from a 1-D buffer or sequence."""
    try:
        mv = memoryview(obj)
    except TypeError:
        values = list(obj)
    else:
        values = mv.tolist()
        if mv.ndim != 1:
            raise ValueError("from_arrays: %s must be 1-D, got %d dimensions"
                             % (what, mv.ndim))
    if not values:
        raise ValueError("from_arrays: %s is empty" % what)
    return [float(v) for v in values]


def _matrix(obj, what):
    """Rows of floats from a 2-D buffer or a list of rows."""
    try:
        mv = memoryview(obj)
    except TypeError:
        rows = [_vector_of(r, what + " row") for r in obj]
    else:
        if mv.ndim != 2:
            raise ValueError("from_arrays: %s must be 2-D (n_out x n_in), got %d "
                             "dimensions" % (what, mv.ndim))
        nested: Any = mv.tolist()
        rows = [[float(v) for v in r] for r in nested]
    if not rows or any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
        raise ValueError("from_arrays: %s is not a non-empty matrix of equal rows" % what)
    return rows


def load(path: Union[str, "os.PathLike[str]"], backend: Optional[str] = None,
         dtype: str = "float64") -> Network:
    """Read a model file written by Network.save (or pybp_model_write in C).

    Files hold float64 parameters; dtype="float32" rounds them on loading.
    """
    from . import model
    sizes, activations, cost, params = model.load_file(path)
    return Network.from_params(sizes, activations, cost, params, backend=backend,
                               dtype=dtype)
