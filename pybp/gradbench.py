"""Why backpropagation: its gradient against finite differences, timed.

    from pybp.gradbench import bench_gradient, format_table
    rows = [bench_gradient(s, backend="c") for s in ([10, 5, 2], [784, 30, 10])]
    print(format_table(rows))

For one network and a small batch of random examples, bench_gradient times
one backpropagation gradient (``Network.gradient``: a forward and a backward
pass per example, for all P parameters at once) and the central
finite-difference gradient (C(p + eps) and C(p - eps) for every parameter
p: 2P cost evaluations over the batch), and checks that the two agree.

Finite differences on a large network take long (a [784, 30, 10] network has
23,860 parameters), so they stop after `budget` seconds: the parameters done
so far, in a random order, give the time per parameter, and the total is
extrapolated to all P and marked as an estimate.  The agreement is measured
on the parameters done.
"""

from __future__ import annotations

import math
import random
import time
from array import array
from typing import Any, Callable, Dict, List, Optional, Sequence

from .finitediff import central_difference, relative_error

__all__ = ["bench_gradient", "format_table", "format_header", "format_row",
           "format_notes", "relative_error", "DEFAULT_SIZES", "EPS"]

DEFAULT_SIZES = ([10, 5, 2], [50, 20, 10], [100, 30, 10], [784, 30, 10])
EPS = 1e-5  # near the cube root of the float64 epsilon, as in pybp.gradcheck


def _time_call(fn: Callable[[], Any], least: float = 0.05, rounds: int = 5) -> float:
    """Seconds per call of fn: the best of `rounds` runs of enough calls."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= least or number >= 1 << 20:
            break
        number *= 2
    best = elapsed / number
    for _ in range(rounds - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def bench_gradient(sizes: Sequence[int], *, backend: Optional[str] = None,
                   batch: int = 10, budget: float = 3.0, eps: float = EPS,
                   seed: int = 0, activation: str = "sigmoid",
                   cost: str = "quadratic") -> Dict[str, Any]:
    """Time and compare the two gradients for one network; returns a record.

    The network is Network(sizes, activation, cost, seed=seed,
    init="scaled") (scaled weights keep sigmoids out of saturation, so the
    gradients are not all tiny); the batch holds `batch` inputs uniform in
    [0, 1) with random class labels.  Record keys: sizes, params, batch,
    backend, backprop_seconds, fd_seconds, fd_params (parameters actually
    differenced), fd_estimated, ratio (fd_seconds / backprop_seconds),
    max_rel_error, eps.
    """
    from .dataset import Dataset
    from .network import Network

    if budget < 0 or not math.isfinite(budget):
        raise ValueError("budget must be a finite number >= 0, got %r" % (budget,))
    if batch < 1:
        raise ValueError("batch must be at least 1, got %r" % (batch,))
    net = Network(list(sizes), activation, cost, seed=seed, init="scaled",
                  backend=backend)
    rng = random.Random(seed)
    n_in, n_out = net.sizes[0], net.sizes[-1]
    xs = array("d", (rng.random() for _ in range(batch * n_in)))
    labels = array("i", (rng.randrange(n_out) for _ in range(batch)))
    data = net.dataset(Dataset(xs, labels=labels, n_inputs=n_in))
    kernels, spec = net.kernels, net.spec
    params = net.params

    # Straight to the kernels, as pybp.gradcheck does: both sides then carry
    # the same (small) Python overhead per call.
    g = kernels.gradient(spec, params, data)
    backprop_seconds = _time_call(lambda: kernels.gradient(spec, params, data))

    p = array("d", params)
    order = list(range(len(p)))
    random.Random(seed + 1).shuffle(order)  # every layer gets sampled
    worst = 0.0
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    for i in order:
        err = relative_error(g[i], central_difference(kernels, spec, p, data, i, eps))
        if err > worst or math.isnan(err):
            worst = err
        done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:  # budget 0: exactly one parameter
            break
    fd_seconds = elapsed if done == len(p) else elapsed / done * len(p)
    return {
        "sizes": list(net.sizes), "params": len(p), "batch": batch,
        "backend": net.backend, "backprop_seconds": backprop_seconds,
        "fd_seconds": fd_seconds, "fd_params": done,
        "fd_estimated": done < len(p),
        "ratio": fd_seconds / backprop_seconds if backprop_seconds > 0 else math.inf,
        "max_rel_error": worst, "eps": eps,
    }


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return "%.1f us" % (seconds * 1e6)
    if seconds < 1.0:
        return "%.2f ms" % (seconds * 1e3)
    if seconds < 120.0:
        return "%.2f s" % seconds
    return "%.1f min" % (seconds / 60.0)


_HEADER = ("sizes", "P", "backprop", "finite diff", "ratio", "max rel err")
_WIDTHS = (14, 8, 10, 12, 8, 11)  # fixed, so rows can be printed as they come


def format_header() -> str:
    return _cells(_HEADER)


def _cells(cells: Sequence[str]) -> str:
    return "  ".join([cells[0].ljust(_WIDTHS[0])]
                     + [c.rjust(w) for c, w in zip(cells[1:], _WIDTHS[1:])])


def format_row(r: Dict[str, Any]) -> str:
    """One record as a table row; an extrapolated time is marked with ~."""
    fd = ("~" if r["fd_estimated"] else "") + _duration(r["fd_seconds"])
    ratio = r["ratio"]
    return _cells(("-".join(map(str, r["sizes"])), str(r["params"]),
                   _duration(r["backprop_seconds"]), fd,
                   "%.0f" % ratio if ratio >= 10 else "%.2g" % ratio,
                   "%.1e" % r["max_rel_error"]))


def format_notes(rows: List[Dict[str, Any]]) -> str:
    """What the ~ marks mean, for the rows that have one ("" if none)."""
    estimated = [r for r in rows if r["fd_estimated"]]
    if not estimated:
        return ""
    notes = ["~ extrapolated from the parameters differenced within the "
             "budget (max rel err is over those):"]
    for r in estimated:
        notes.append("  %s: %d of %d parameters"
                     % ("-".join(map(str, r["sizes"])), r["fd_params"],
                        r["params"]))
    return "\n".join(notes)


def format_table(rows: List[Dict[str, Any]]) -> str:
    """The table `pybp bench gradient` prints, with its notes."""
    lines = [format_header()] + [format_row(r) for r in rows]
    notes = format_notes(rows)
    return "\n".join(lines + ([notes] if notes else []))
