"""Gradient check: backpropagation against central finite differences.

The function is public as pybp.gradcheck; this module also holds the step
and the error measure that pybp.gradbench shares.
"""

from __future__ import annotations

import math
from array import array
from typing import Any, Optional

__all__ = ["gradcheck", "central_difference", "relative_error"]


def gradcheck(net: Any, xs: Any, ys: Optional[Any] = None, eps: float = 1e-5,
              floor: float = 1e-4) -> float:
    """Largest relative error between net.gradient and finite differences.

    For each parameter p: fd = (C(p + eps) - C(p - eps)) / (2 eps), with C
    the mean cost over the examples, and the error is
    |g - fd| / max(|g|, |fd|, floor).  The floor keeps gradients that are
    almost zero, where a relative error only measures rounding, from
    dominating.  The default eps is near the cube root of the float64
    machine epsilon, where the truncation error of central differences and
    the rounding error of the two costs balance.  Costs two forward passes
    over the data per parameter.  The finite differences are always taken
    in float64, so for a float32 network this measures its float32
    gradient against float64 differences of the same parameter values.
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) \
            or not (math.isfinite(eps) and eps > 0):
        raise ValueError("eps must be a finite number > 0, got %r" % (eps,))
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) \
            or not (math.isfinite(floor) and floor > 0):
        raise ValueError("floor must be a finite number > 0, got %r" % (floor,))
    data = net.dataset(xs, ys)
    kernels, spec = net.kernels, net.spec
    g = kernels.gradient(spec, net.params, data)
    p = array("d", net.params)
    worst = 0.0
    for i in range(len(p)):
        fd = central_difference(kernels, spec, p, data, i, eps)
        err = relative_error(g[i], fd, floor)
        if err > worst or math.isnan(err):
            worst = err
    return worst


def central_difference(kernels: Any, spec: Any, p: array, data: Any, i: int,
                       eps: float) -> float:
    """(C(p + eps e_i) - C(p - eps e_i)) / (2 eps), C the mean cost; p (an
    array('d')) is changed during the call and restored."""
    keep = p[i]
    p[i] = keep + eps
    up = kernels.cost_total(spec, p, data) / data.count
    p[i] = keep - eps
    down = kernels.cost_total(spec, p, data) / data.count
    p[i] = keep
    return (up - down) / (2.0 * eps)


def relative_error(g: float, fd: float, floor: float = 1e-4) -> float:
    """|g - fd| / max(|g|, |fd|, floor).

    The floor keeps near-zero gradients, where a relative error measures
    only rounding, from dominating.
    """
    return abs(g - fd) / max(abs(g), abs(fd), floor)
