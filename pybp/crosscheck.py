"""Check another implementation of backpropagation against pybp
(pybp.compare; this module is pybp.crosscheck).

    r = pybp.compare(net, other, xs, ys)
    r.agrees          # every quantity within the tolerance
    r.first           # ("delta", 1): the first quantity that goes wrong, or None
    print(r)          # a table: quantity, layer, largest difference, where

`other` is what the other implementation computed for the same network,
inputs and targets: a dict of per-layer arrays for layers 1 .. L,
{"z": [...], "a": [...], "delta": [...], "grad_w": [...], "grad_b": [...]}
(any that it lacks are left out), or a callable (xs, ys) -> such a dict.
z, a and delta are examples x units (one row per example), grad_w is
n_l x n_(l-1) (pybp's and torch.nn.Linear's orientation) and grad_b n_l,
both means over the batch; "update" (compare's eta, lmbda, n say the
step) is each layer's w^l row by row then b^l after one SGD step on the
batch.  Lists, numpy arrays and torch tensors (through .tolist()) all do.

The quantities are checked in the order backpropagation computes them,
z^1, a^1, ..., z^L, a^L, then delta^L ... delta^1, then the gradients
from layer L down, then the updated parameters: the first one out of
tolerance is where the other
implementation's bug is (everything after it inherits the error).
"""

from __future__ import annotations

import math
import struct
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

__all__ = ["Comparison", "compare", "ulp_distance"]

# What "agrees" means when the other side does not claim exactness: a
# float64 computation with another order of sums lands within a few ulps of
# pybp, except where a value is near zero after cancellation, which the
# absolute floor covers.
ALLOWED_ULPS = 1024
ALLOWED_ABS = 1e-13


def ulp_distance(a: float, b: float) -> float:
    """How many float64 values lie between a and b (0 when equal; inf when
    one is NaN and the other not)."""
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    return float(abs(_ordered(a) - _ordered(b)))


def _ordered(x: float) -> int:
    bits = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF)


def _flat(value: Any) -> List[float]:
    """A nested list, numpy array or tensor as a flat list of floats."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (int, float)):
        return [float(value)]
    out: List[float] = []
    for item in value:
        out.extend(_flat(item))
    return out


class Comparison:
    """compare()'s result: rows of figures per (quantity, layer), in the
    order backpropagation computes them."""

    def __init__(self, rows: List[Dict[str, Any]], max_ulps: float, abs_tol: float):
        self.rows = rows
        self.max_ulps, self.abs_tol = max_ulps, abs_tol
        bad = [r for r in rows if not r["agrees"]]
        self.agrees = not bad
        self.first: Optional[Tuple[str, int]] = \
            (bad[0]["quantity"], bad[0]["layer"]) if bad else None

    def __bool__(self) -> bool:
        return self.agrees

    def __str__(self) -> str:
        head = ("%-8s %5s %12s %12s  %-22s %s"
                % ("quantity", "layer", "max ulps", "max rel", "where", "verdict"))
        lines = [head]
        for r in self.rows:
            where = ", ".join("%s %d" % kv for kv in r["where"].items()) if r["where"] else "-"
            lines.append("%-8s %5d %12s %12.3g  %-22s %s"
                         % (r["quantity"], r["layer"], _ulps_text(r["max_ulps"]),
                            r["max_rel"], where, "ok" if r["agrees"] else "DIFFERS"))
        tol = ("exact" if self.max_ulps == 0 and self.abs_tol == 0
               else "within %g ulps or %g" % (self.max_ulps, self.abs_tol))
        if self.first is None:
            worst = max((r["max_ulps"] for r in self.rows), default=0.0)
            lines.append("agrees (%s): largest difference %s ulp"
                         % (tol, _ulps_text(worst)))
        else:
            lines.append("first difference (%s): %s of layer %d"
                         % (tol, self.first[0], self.first[1]))
        return "\n".join(lines)


def _ulps_text(u: float) -> str:
    return "inf" if math.isinf(u) else "%d" % u if u < 1e6 else "%.2g" % u


def _compare_one(quantity: str, layer: int, mine: List[float], theirs: List[float],
                 shape: Tuple[int, ...], max_ulps: float, abs_tol: float) -> Dict[str, Any]:
    if len(theirs) != len(mine):
        return {"quantity": quantity, "layer": layer, "max_ulps": math.inf,
                "max_rel": math.inf, "where": {}, "agrees": False,
                "note": "%d values where pybp has %d" % (len(theirs), len(mine))}
    worst_u, worst_r, at = 0.0, 0.0, None
    agrees = True
    for i, (p, q) in enumerate(zip(mine, theirs)):
        u = ulp_distance(p, q)
        if u == 0:
            rel = 0.0
        elif math.isfinite(u) and math.isfinite(p - q):
            rel = abs(p - q) / max(abs(p), abs(q))
        else:
            rel = math.inf
        if not (u <= max_ulps or abs(p - q) <= abs_tol):
            agrees = False
        if u > worst_u or at is None and u > 0:
            worst_u, worst_r, at = u, rel, i
    where: Dict[str, int] = {}
    if at is not None:
        names = ("example", "unit") if len(shape) == 2 and quantity in ("z", "a", "delta") \
            else ("unit", "input") if len(shape) == 2 \
            else ("value",) if quantity == "update" else ("unit",)
        index = at
        for name, size in reversed(list(zip(names, shape))):
            where[name] = index % size
            index //= size
        where = dict(reversed(list(where.items())))
    return {"quantity": quantity, "layer": layer, "max_ulps": worst_u, "max_rel": worst_r,
            "where": where, "agrees": agrees}


def compare(net: Any, other: Union[Dict[str, Any], Callable[..., Dict[str, Any]]],
            xs: Any, ys: Optional[Sequence[Any]] = None, *, exact: bool = False,
            max_ulps: Optional[float] = None, abs_tol: Optional[float] = None,
            eta: Optional[float] = None, lmbda: float = 0.0,
            n: Optional[int] = None) -> Comparison:
    """Compare another implementation's quantities with net.trace(xs, ys).

    exact=True demands the same bits (for an implementation that claims
    pybp's order of operations); otherwise a value agrees within
    ALLOWED_ULPS ulps or ALLOWED_ABS absolute; max_ulps and abs_tol set
    either explicitly.

    other["update"], if given, is the other side's parameters after one SGD
    step on the whole batch with eta (then required), lmbda and n (default:
    the batch size), as net.update_mini_batch takes them: per layer, w^l
    row by row then b^l.  It is checked last, after the gradients.
    """
    if max_ulps is None:
        max_ulps = 0 if exact else ALLOWED_ULPS
    if abs_tol is None:
        abs_tol = 0.0 if exact else ALLOWED_ABS
    if callable(other):
        other = other(xs, ys)
    if not isinstance(other, dict):
        raise TypeError("compare: other must be a dict of quantities, or a callable "
                        "returning one, got %r" % type(other).__name__)
    unknown = set(other) - {"z", "a", "delta", "grad_w", "grad_b", "update"}
    if unknown:
        raise ValueError("compare: unknown quantities %s (z, a, delta, grad_w, grad_b, "
                         "update)" % ", ".join(sorted(unknown)))
    if "update" in other and eta is None:
        raise ValueError("compare: other has 'update': give the step's eta (and lmbda, n)")
    t = net.trace(xs, ys)
    L = len(t) - 1
    count = len(t[0]["a"])
    order: List[Tuple[str, int]] = []
    for l in range(1, L + 1):
        order += [("z", l), ("a", l)]
    order += [("delta", l) for l in range(L, 0, -1)]
    for l in range(L, 0, -1):
        order += [("grad_b", l), ("grad_w", l)]
    order += [("update", l) for l in range(1, L + 1)]
    updated: List[float] = []
    if "update" in other:
        stepped = net.copy(dtype="float64")
        stepped.update_mini_batch(xs, ys, eta=eta, lmbda=lmbda, n=n)
        updated = list(stepped.params)
    rows = []
    for quantity, l in order:
        if quantity not in other:
            continue
        layers = other[quantity]
        if len(layers) != L:
            raise ValueError("compare: other[%r] has %d layers, the network %d"
                             % (quantity, len(layers), L))
        n_out, n_in = net.sizes[l], net.sizes[l - 1]
        if quantity == "update":
            layer = net.spec.layers()[l - 1]
            mine = updated[layer.w:layer.end]
        else:
            mine = _flat(t[l][quantity])
        shape = {"z": (count, n_out), "a": (count, n_out), "delta": (count, n_out),
                 "grad_w": (n_out, n_in), "grad_b": (n_out,),
                 "update": (n_out * n_in + n_out,)}[quantity]
        rows.append(_compare_one(quantity, l, mine, _flat(layers[l - 1]), shape,
                                 max_ulps, abs_tol))
    if not rows:
        raise ValueError("compare: other holds none of z, a, delta, grad_w, grad_b, update")
    return Comparison(rows, max_ulps, abs_tol)
