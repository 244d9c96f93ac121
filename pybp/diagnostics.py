"""Per-layer learning diagnostics: is each layer still learning, and if not, why?

    records = net.diagnose(training)            # one LayerDiagnostics per layer
    print(format_table(records))
    for text in all_warnings(records):
        print(text)

or, once per epoch, ``net.sgd(..., diagnose=True)`` (each epoch's record
then has a "diagnostics" entry) and ``pybp train --diagnose``.

Everything is measured on a fixed sample of the data (by default 500
examples, spread evenly over the data set: example ``i * count // n`` for
i = 0 .. n-1; all examples when there are fewer), the same sample every
epoch, so that numbers from different epochs are comparable.  Per layer
l = 1 .. L (docs/api.md has the table of fields):

mean_abs_delta
    the mean of |delta^l_j| over the units j and the sampled examples.
    delta^l_x is dC_x/db^l (BP3), so this is how strongly one example's cost
    pushes on the layer: a layer whose deltas are tiny learns slowly.
grad_norm, weight_norm, grad_weight_ratio
    ||dC/dW^l|| (the mean gradient over the sample, Frobenius norm, no L2
    term), ||W^l|| and their ratio.  One SGD step changes W^l by about
    eta times this ratio, relatively.
saturated (sigmoid and tanh layers, else None)
    the fraction of (unit, example) pairs with f'(z) below SATURATION of its
    peak value: sigmoid' < 0.0125 (|z| > 4.4), tanh' < 0.05 (|z| > 2.2).
    Through such a unit the gradient shrinks at least 20-fold (BP1, BP2).
saturated_wrong (a sigmoid or tanh output layer, else None)
    the fraction of (output, example) pairs that are saturated and wrong,
    |a_j - y_j| >= 0.5: with the quadratic cost these learn slowly (BP1
    has the factor f'(z)), with cross-entropy they do not.  Saturated
    outputs that are right are fine, so the output layer is judged by this.
dead (ReLU layers, else None)
    the fraction of units whose output is 0 on every sampled example: their
    f'(z) is 0, so no example moves the weights into them.
low_inputs
    the fraction of the layer's (input, example) pairs with
    |a^(l-1)_k| < LOW_ACTIVATION (for layer 1, the data's inputs).  A weight
    from such an input gets almost no gradient, dC/dw_jk = a_k delta_j (BP4).

How it is computed, from what the backends already offer: the activations
a^l of the sample come from feedforward through layers 1 .. l alone (the
start of the flat parameter vector); the mean gradient from one gradient
call on the sample; each example's deltas from a gradient call on that one
example, whose bias part is delta (BP3).  To make those per-example calls
cheap, they run on a smaller network that starts at layer 1's weighted
input z^1 (an identity weight matrix, zero biases and f_1 in front of
layers 2 .. L), which has the same deltas as the whole network, without the
(often large) first weight matrix.  Both backends compute the same bits for
each of these calls, so the diagnostics are the same numbers on both.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import asdict, dataclass, replace
from itertools import repeat
from operator import mul, sub
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .dataset import Dataset
from .spec import NetSpec

__all__ = ["LayerDiagnostics", "Probe", "diagnose", "format_table",
           "format_report", "as_json", "all_warnings", "sample_indices",
           "DEFAULT_SAMPLE", "SATURATION",
           "LOW_ACTIVATION", "WARN_SATURATED", "WARN_SATURATED_WRONG",
           "WARN_DEAD", "WARN_LOW_INPUTS", "WARN_VANISHING", "WARN_STALLED"]

DEFAULT_SAMPLE = 500

# What counts as saturated or low (see the module docstring).
SATURATION = 0.05          # f'(z) below this fraction of f' at its peak
LOW_ACTIVATION = 0.01      # |a| below this

# When a layer gets a warning.
WARN_SATURATED = 0.5       # at least half of the (unit, example) pairs saturated
WARN_SATURATED_WRONG = 0.1  # output layer, quadratic cost: 10% saturated and wrong
WARN_DEAD = 0.5            # at least half of the ReLU units dead
WARN_LOW_INPUTS = 0.9      # at least 90% of the inputs near zero
WARN_VANISHING = 0.01      # mean |delta| below 1/100 of the largest layer's
WARN_STALLED = 1e-6        # ||dC/dW|| below a millionth of ||W||

_PEAK = {"sigmoid": 0.25, "tanh": 1.0}   # the largest value of f'


@dataclass(frozen=True)
class LayerDiagnostics:
    """What one layer l of a network looked like on the diagnostic sample."""

    layer: int                   # l = 1 .. L
    activation: str
    units: int                   # n_l
    inputs: int                  # n_(l-1)
    mean_abs_delta: float        # mean |delta^l_j| over units and examples
    grad_norm: float             # ||dC/dW^l|| of the mean gradient
    weight_norm: float           # ||W^l||
    grad_weight_ratio: float     # grad_norm / weight_norm (inf if W^l = 0)
    saturated: Optional[float]   # sigmoid/tanh: fraction of pairs with small f'
    saturated_wrong: Optional[float]  # output layer: saturated and |a - y| >= 0.5
    dead: Optional[float]        # relu: fraction of units 0 on every example
    low_inputs: float            # fraction of input values with |a| small
    examples: int                # the sample size
    warnings: Tuple[str, ...] = ()

    def as_dict(self) -> Dict[str, Any]:
        """A plain dict (for JSON), warnings as a list."""
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


def sample_indices(count: int, n: int) -> List[int]:
    """n example indices spread evenly over range(count): i * count // n."""
    if n >= count:
        return list(range(count))
    return [i * count // n for i in range(n)]


def _check_sample(sample: Any) -> int:
    if isinstance(sample, bool) or not isinstance(sample, int):
        raise TypeError("sample must be an integer, got %r" % (sample,))
    if sample < 1:
        raise ValueError("sample must be at least 1, got %d" % sample)
    return sample


def _gather(data: Dataset, indices: Sequence[int]) -> Dataset:
    """A Dataset of the examples `indices` of data (copied, in that order)."""
    if len(indices) == data.count and list(indices) == list(range(data.count)):
        return data
    n = data.n_inputs
    inputs: Any
    if data.x_u8 is not None:
        raw = data.x_u8
        inputs = b"".join(raw[i * n:(i + 1) * n].tobytes() for i in indices)
        kwargs: Dict[str, Any] = {"divisor": data.divisor}
    else:
        inputs = array("d")
        for i in indices:
            inputs.extend(data.x[i * n:(i + 1) * n].tolist())
        kwargs = {}
    if data.labels is not None:
        return Dataset(inputs, n_inputs=n, labels=[data.labels[i] for i in indices],
                       **kwargs)
    m = data.n_outputs
    targets = array("d")
    for i in indices:
        targets.extend(data.y[i * m:(i + 1) * m].tolist())
    return Dataset(inputs, targets, n_inputs=n, **kwargs)


def _fraction_low_bytes(raw: Any, divisor: float, threshold: float) -> Tuple[int, int]:
    """(how many bytes b have b / divisor below threshold, how many bytes)."""
    low = bytes(1 if b / divisor < threshold else 0 for b in range(256))
    data = bytes(raw)
    return data.translate(low).count(1), len(data)


def _count_low(values: Sequence[float], threshold: float) -> int:
    """How many values have |v| < threshold."""
    return sum(map(threshold.__gt__, map(abs, values)))


def _norm(values: Sequence[float]) -> float:
    """The Euclidean norm, summed exactly (math.fsum) so any order gives it."""
    return math.sqrt(math.fsum(map(mul, values, values)))


class Probe:
    """A fixed sample of a data set on which networks can be diagnosed.

    Probe(data, sample=500) picks the sample once (see sample_indices);
    probe.run(net) measures a network on it, as often as wanted (e.g. after
    every epoch).  data must be a Dataset with targets or labels that fits
    the networks it is run on (Network.diagnose checks this).
    """

    def __init__(self, data: Dataset, sample: int = DEFAULT_SAMPLE) -> None:
        sample = _check_sample(sample)
        self.indices = sample_indices(data.count, sample)
        # The diagnostics compute in float64, whatever the network's dtype
        # (float32 inputs widen exactly).
        self.data = _gather(data.inputs_as("float64"), self.indices)
        self.count = self.data.count
        self._input_low: Optional[Tuple[int, int]] = None
        self._tail: Optional[Tuple[int, memoryview, Dataset, List[Dataset]]] = None

    def _layer1_low_inputs(self) -> Tuple[int, int]:
        """Low entries among the sample's inputs: fixed, so counted once."""
        if self._input_low is None:
            d = self.data
            if d.x_u8 is not None:
                self._input_low = _fraction_low_bytes(d.x_u8, d.divisor,
                                                      LOW_ACTIVATION)
            else:
                self._input_low = (_count_low(d.x, LOW_ACTIVATION), len(d.x))
        return self._input_low

    def _tail_inputs(self, n1: int) -> Tuple[memoryview, Dataset, List[Dataset]]:
        """A buffer for the sample's z^1 (count * n1 values), a Dataset of
        all its rows, and one Dataset per example viewing its row, with its
        target; built once, refilled by every run."""
        if self._tail is None or self._tail[0] != n1:
            d = self.data
            buf = array("d", bytes(8 * d.count * n1))
            view = memoryview(buf)
            examples = []
            for i in range(d.count):
                row = view[i * n1:(i + 1) * n1]
                if d.labels is not None:
                    one = Dataset(row, n_inputs=n1, labels=[d.labels[i]])
                else:
                    m = d.n_outputs
                    one = Dataset(row, d.y[i * m:(i + 1) * m], n_inputs=n1)
                examples.append(one)
            whole = Dataset(view, n_inputs=n1)
            self._tail = (n1, view, whole, examples)
        return self._tail[1], self._tail[2], self._tail[3]

    def _flat_targets(self, n_out: int) -> Sequence[float]:
        """The sample's target vectors, one after the other."""
        d = self.data
        if d.y is not None:
            return d.y
        flat = [0.0] * (d.count * n_out)
        for i, label in enumerate(d.labels):
            flat[i * n_out + label] = 1.0
        return flat

    def run(self, net: Any) -> List[LayerDiagnostics]:
        """The diagnostics of every layer of net on the sample."""
        kernels = net.kernels
        spec = net.spec
        sizes, acts = list(spec.sizes), list(spec.activations)
        L = len(sizes) - 1
        params = net.params
        if getattr(params, "typecode", "d") != "d":
            params = array("d", params)
        data = self.data
        count = data.count

        layers = spec.layers()

        # z^1 of every sampled example: feedforward through layer 1 alone,
        # with an identity activation.
        n1 = sizes[1]
        z1 = kernels.forward_outputs(NetSpec(sizes[:2], "identity", "quadratic"),
                                     params[:layers[0].end], data)
        view, whole, examples = self._tail_inputs(n1)
        view[:] = memoryview(z1)

        # The tail network: input z^1, then an identity weight matrix with
        # zero biases and f_1 (so its layer 1 computes a^1 from z^1), then
        # layers 2 .. L as they are.  Its deltas are the network's.
        tail_spec = NetSpec([n1] + sizes[1:], acts, spec.cost)
        tail_layers = tail_spec.layers()
        tail = array("d", bytes(8 * tail_layers[0].end))
        for row in range(tail_layers[0].w, tail_layers[0].b, n1 + 1):
            tail[row] = 1.0  # the diagonal of the identity W^1
        tail.extend(params[layers[0].end:])
        tail_bias = [(ly.b, ly.end) for ly in tail_layers]  # b^l in `tail`

        # a^l of every sampled example: feedforward through the tail
        # network's layers 1 .. l.
        activations = []
        for l in range(1, L + 1):
            front = tail_spec if l == L else NetSpec([n1] + sizes[1:l + 1],
                                                     acts[:l], "quadratic")
            activations.append(kernels.forward_outputs(
                front, tail[:tail_layers[l - 1].end], whole))

        # The mean gradient over the sample: one call on the whole network.
        grad = kernels.gradient(spec, params, data)

        # Each example's deltas: the bias part of its gradient (BP3).
        deltas = [array("d") for _ in range(L)]
        for one in examples:
            g = kernels.gradient(tail_spec, tail, one)
            for part, (lo, hi) in zip(deltas, tail_bias):
                part.extend(g[lo:hi])
        abs_delta = [math.fsum(map(abs, part)) for part in deltas]

        records = []
        for l in range(1, L + 1):
            w_off, b_off = layers[l - 1].w, layers[l - 1].b
            n_in, n_l, act = sizes[l - 1], sizes[l], acts[l - 1]
            a = activations[l - 1]
            grad_norm = _norm(grad[w_off:b_off])
            weight_norm = _norm(params[w_off:b_off])
            ratio = (grad_norm / weight_norm if weight_norm > 0.0
                     else (0.0 if grad_norm == 0.0 else math.inf))
            saturated = saturated_wrong = dead = None
            if act in _PEAK:
                limit = SATURATION * _PEAK[act]
                if act == "sigmoid":  # f' = a (1 - a)
                    slopes = list(map(mul, a, map(sub, repeat(1.0), a)))
                else:                 # f' = 1 - a^2
                    slopes = list(map(sub, repeat(1.0), map(mul, a, a)))
                flat = list(map(limit.__gt__, slopes))
                saturated = sum(flat) / len(a)
                if l == L:
                    y = self._flat_targets(n_l)
                    saturated_wrong = sum(
                        1 for s, av, yv in zip(flat, a, y)
                        if s and abs(av - yv) >= 0.5) / len(a)
            elif act == "relu":
                alive = [False] * n_l
                for i in range(count):
                    row = a[i * n_l:(i + 1) * n_l]
                    for j in range(n_l):
                        if row[j] > 0.0:
                            alive[j] = True
                dead = alive.count(False) / n_l
            if l == 1:
                low, total = self._layer1_low_inputs()
            else:
                prev = activations[l - 2]
                low, total = _count_low(prev, LOW_ACTIVATION), len(prev)
            records.append(LayerDiagnostics(
                layer=l, activation=act, units=n_l, inputs=n_in,
                mean_abs_delta=abs_delta[l - 1] / (count * n_l),
                grad_norm=grad_norm, weight_norm=weight_norm,
                grad_weight_ratio=ratio, saturated=saturated,
                saturated_wrong=saturated_wrong, dead=dead,
                low_inputs=low / total, examples=count))
        return _with_warnings(records, spec.cost)


def _percent(fraction: float) -> str:
    p = 100.0 * fraction
    return "%.0f%%" % p if p >= 1.0 or p == 0.0 else "%.1g%%" % p


def _with_warnings(records: List[LayerDiagnostics],
                   cost: str) -> List[LayerDiagnostics]:
    """The records, each with its plain-language warnings attached."""
    L = len(records)
    strongest = max(records, key=lambda r: r.mean_abs_delta)
    out = []
    for r in records:
        name = "layer %d%s" % (r.layer, " (output)" if r.layer == L else "")
        notes = []
        if (r.layer < L and r.saturated is not None
                and r.saturated >= WARN_SATURATED):
            notes.append("%s: %s of units saturated; weights into them learn "
                         "slowly" % (name, _percent(r.saturated)))
        # With cross-entropy or log-likelihood the output delta is a - y:
        # saturated outputs do not slow learning there.
        if (r.layer == L and cost == "quadratic" and r.saturated_wrong is not None
                and r.saturated_wrong >= WARN_SATURATED_WRONG):
            notes.append("%s: %s of outputs saturated at the wrong value; they "
                         "learn slowly with the quadratic cost (cross-entropy "
                         "avoids this)" % (name, _percent(r.saturated_wrong)))
        if r.dead is not None and r.dead >= WARN_DEAD:
            notes.append("%s: %s of ReLU units dead (output 0 on every sampled "
                         "example); they no longer learn"
                         % (name, _percent(r.dead)))
        if r.low_inputs >= WARN_LOW_INPUTS:
            notes.append("%s: %s of its inputs are near 0; the weights from "
                         "them get almost no gradient"
                         % (name, _percent(r.low_inputs)))
        if (r is not strongest and strongest.mean_abs_delta > 0.0
                and r.mean_abs_delta < WARN_VANISHING * strongest.mean_abs_delta):
            notes.append("%s: its deltas are %s of layer %d's; it learns far "
                         "more slowly (vanishing gradient)"
                         % (name, _times(r.mean_abs_delta,
                                         strongest.mean_abs_delta),
                            strongest.layer))
        if r.grad_weight_ratio < WARN_STALLED:
            notes.append("%s: its gradient is %.1g of its weights' size; it "
                         "has practically stopped learning"
                         % (name, r.grad_weight_ratio))
        out.append(replace(r, warnings=tuple(notes)))
    return out


def _times(small: float, big: float) -> str:
    if small == 0.0:
        return "0"
    return "1/%.3g" % (big / small)


def diagnose(net: Any, data: Any, sample: int = DEFAULT_SAMPLE) -> List[LayerDiagnostics]:
    """The diagnostics of every layer of net on a sample of data
    (the same as net.diagnose(data, sample=sample))."""
    return net.diagnose(data, sample=sample)


def all_warnings(records: Sequence[LayerDiagnostics]) -> List[str]:
    """Every warning of every layer, in layer order."""
    return [text for r in records for text in r.warnings]


def _fmt(value: Optional[float], percent: bool = False) -> str:
    if value is None:
        return "-"
    if percent:
        return "%.1f%%" % (100.0 * value)
    return "%.3g" % value


def format_table(records: Sequence[LayerDiagnostics]) -> str:
    """A compact text table, one row per layer ("wrong" is saturated_wrong,
    "-" a field that does not apply)."""
    head = ("layer", "units", "act", "mean|delta|", "|dW|/|W|", "saturated",
            "wrong", "dead", "low inputs")
    rows = [head]
    for r in records:
        rows.append(("%d" % r.layer, "%d" % r.units, r.activation,
                     _fmt(r.mean_abs_delta), _fmt(r.grad_weight_ratio),
                     _fmt(r.saturated, True), _fmt(r.saturated_wrong, True),
                     _fmt(r.dead, True),
                     _fmt(r.low_inputs, True)))
    widths = [max(len(row[c]) for row in rows) for c in range(len(head))]
    lines = []
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].rjust(widths[1]),
                 row[2].ljust(widths[2])]
        cells += [row[c].rjust(widths[c]) for c in range(3, len(head))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_report(records: Sequence[LayerDiagnostics], indent: str = "  ") -> str:
    """The table, then one line per warning (what `pybp train --diagnose`
    prints after each epoch)."""
    lines = [indent + line for line in format_table(records).splitlines()]
    lines += [indent + "warning: " + text for text in all_warnings(records)]
    return "\n".join(lines)


def as_json(records: Sequence[LayerDiagnostics]) -> List[Dict[str, Any]]:
    """The records as plain dicts for strict JSON (inf and NaN become None)."""
    out = []
    for r in records:
        d = r.as_dict()
        for key, value in d.items():
            if isinstance(value, float) and not math.isfinite(value):
                d[key] = None
        out.append(d)
    return out
