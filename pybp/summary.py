"""A model in a few lines: sizes, activations, cost, parameter counts, norms.

    from pybp.summary import summary, format_summary
    print(format_summary(summary(net)))

The norms are informational (computed with math.fsum, not in the order of
docs/exactness.md): per layer, the Frobenius norm of W, the root mean
square of its entries, the largest |w|, and the Euclidean norm of b.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .spec import layer_offsets

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

__all__ = ["summary", "format_summary"]


def _norm(values) -> float:
    """sqrt(sum v^2), scaled by the largest |v| so that no square overflows
    (inf only where the norm itself is beyond the float64 range)."""
    top = max(map(abs, values), default=0.0)
    if top == 0.0 or not math.isfinite(top):
        return top
    return top * math.sqrt(math.fsum((v / top) ** 2 for v in values))


def summary(net: "Network", source: Optional[str] = None) -> Dict[str, Any]:
    """The facts `pybp show` prints, as a JSON-ready dict."""
    sizes = net.sizes
    params = net.params
    layers: List[Dict[str, Any]] = []
    for l, (w_off, b_off) in enumerate(layer_offsets(sizes), start=1):
        n_in, n_out = sizes[l - 1], sizes[l]
        w = params[w_off:b_off]
        b = params[b_off:b_off + n_out]
        norm = _norm(w)
        layers.append({
            "layer": l, "inputs": n_in, "outputs": n_out,
            "activation": net.activations[l - 1],
            "weights": n_out * n_in, "biases": n_out,
            "weight_norm": norm,
            "weight_rms": norm / math.sqrt(len(w)),
            "weight_max_abs": max(abs(v) for v in w),
            "bias_norm": _norm(b),
        })
    out: Dict[str, Any] = {}
    if source is not None:
        out["model"] = source
    out.update({"sizes": sizes, "activations": net.activations,
                "cost": net.cost_name, "parameters": len(params),
                "layers": layers})
    return out


def format_summary(facts: Dict[str, Any]) -> str:
    """The text of `pybp show MODEL`."""
    lines = []
    if "model" in facts:
        lines.append("model:       %s" % facts["model"])
    acts = facts["activations"]
    lines += [
        "sizes:       %s (%d inputs, %d outputs, %d weight layers)"
        % ("-".join(map(str, facts["sizes"])), facts["sizes"][0],
           facts["sizes"][-1], len(facts["sizes"]) - 1),
        "activations: %s" % (acts[0] if len(set(acts)) == 1 else ", ".join(acts)),
        "cost:        %s" % facts["cost"],
        "parameters:  %d" % facts["parameters"],
        "",
    ]
    header = ("layer", "shape", "activation", "params", "|W|", "rms(W)",
              "max|w|", "|b|")
    rows = [header]
    for layer in facts["layers"]:
        rows.append((str(layer["layer"]),
                     "%d->%d" % (layer["inputs"], layer["outputs"]),
                     layer["activation"],
                     str(layer["weights"] + layer["biases"]),
                     "%.4g" % layer["weight_norm"],
                     "%.4g" % layer["weight_rms"],
                     "%.4g" % layer["weight_max_abs"],
                     "%.4g" % layer["bias_norm"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        cells = [r[0].rjust(widths[0]), r[1].ljust(widths[1]),
                 r[2].ljust(widths[2])]
        cells += [c.rjust(w) for c, w in zip(r[3:], widths[3:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
