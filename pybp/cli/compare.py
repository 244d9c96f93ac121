"""pybp compare: another implementation's quantities, read from a JSON
file, against pybp's trace of a golden case (pybp.compare on files).

Exit status as cmp's: 0 agrees, 1 differs, 2 the files could not be used.
"""

import json
import os
from typing import Any, Dict

from .. import crosscheck
from ..dataset import Dataset
from ..network import Network
from .common import UsageError, say

QUANTITIES = ("z", "a", "delta", "grad_w", "grad_b", "update")
# A JSON document is read whole: beyond this, refuse rather than exhaust memory.
MAX_BYTES = 256 << 20


def _load(path, what):
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise UsageError(f"{what} {path}: {size} bytes, more than the "
                             f"{MAX_BYTES >> 20} MiB pybp compare reads")
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{what} {path}: not JSON ({exc})") from None


def _number(value, where):
    """A float from a JSON number or a hex-float string ("0x1.8p-1", "inf")."""
    if isinstance(value, bool):
        raise UsageError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float.fromhex(value)
        except ValueError:
            pass
    raise UsageError(f"{where}: expected a number or a hex float, got {value!r:.40}")


def _numbers(value, where, depth):
    """Nested lists of `depth` levels of numbers, as floats."""
    if depth == 0:
        return _number(value, where)
    if not isinstance(value, list):
        raise UsageError(f"{where}: expected a list, got {type(value).__name__}")
    return [_numbers(v, "%s[%d]" % (where, i), depth - 1) for i, v in enumerate(value)]


def case_network(doc, path):
    """The network and Dataset of a golden case document."""
    where = "case " + path
    if not isinstance(doc, dict):
        raise UsageError(f"{where}: expected a JSON object (a golden case)")
    for key in ("sizes", "activations", "cost", "params"):
        if key not in doc:
            raise UsageError(f"{where}: no {key!r} (pybp golden writes such files)")
    sizes = doc["sizes"]
    if not (isinstance(sizes, list) and all(type(v) is int for v in sizes)):
        raise UsageError(f"{where}: sizes must be a list of integers")
    try:
        net = Network.from_params(sizes, doc["activations"], doc["cost"],
                                  _numbers(doc["params"], "params", 1), backend="python")
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: {exc}") from None
    n_in = sizes[0]
    xin: Any
    try:
        if "x" in doc:
            rows = _numbers(doc["x"], "x", 2)
            flat = [v for row in rows for v in row]
            kw = {"n_inputs": n_in}
            xin = flat
        elif "x_u8" in doc:
            rows = doc["x_u8"]
            if not (isinstance(rows, list) and all(isinstance(r, list) for r in rows)):
                raise UsageError(f"{where}: x_u8 must be rows of integers")
            xin = bytes(v for row in rows for v in row)
            kw = {"n_inputs": n_in, "divisor": _number(doc.get("divisor"), "divisor")}
        else:
            raise UsageError(f"{where}: no inputs ('x' or 'x_u8')")
        if "labels" in doc:
            data = Dataset(xin, labels=doc["labels"], **kw)
        elif "y" in doc:
            data = Dataset(xin, _numbers(doc["y"], "y", 2), **kw)
        else:
            raise UsageError(f"{where}: no targets ('y' or 'labels')")
    except (TypeError, ValueError, OverflowError) as exc:
        raise UsageError(f"{where}: {exc}") from None
    return net, data


def their_quantities(doc, path, layers):
    """{quantity: per-layer arrays} from a file of the other side's numbers:
    those quantities at the top level, or under "trace" (a golden file's
    own layout)."""
    where = "other " + path
    if isinstance(doc, dict) and isinstance(doc.get("trace"), dict):
        doc = doc["trace"]
    if not isinstance(doc, dict):
        raise UsageError(f"{where}: expected a JSON object of quantities")
    unknown = sorted(set(doc) - set(QUANTITIES))
    if unknown:
        raise UsageError(f"{where}: unknown quantities {', '.join(unknown)} "
                         f"(expected some of {', '.join(QUANTITIES)})")
    if not doc:
        raise UsageError(f"{where}: none of {', '.join(QUANTITIES)}")
    out = {}
    for q, value in doc.items():
        if not isinstance(value, list) or len(value) != layers:
            raise UsageError(f"{where}: {q} must be a list of {layers} layers")
        out[q] = [_numbers(v, "%s[%d]" % (q, l), 1 if q in ("grad_b", "update") else 2)
                  for l, v in enumerate(value)]
    return out


def cmd_compare(args, out, err):
    case = _load(args.case, "case")
    net, data = case_network(case, args.case)
    other = their_quantities(_load(args.other, "other"), args.other, len(net.sizes) - 1)
    kw: Dict[str, Any] = {}
    if "update" in other:  # the step the case's settings say
        kw["eta"] = _number(case.get("eta"), "case %s: eta" % args.case)
        kw["lmbda"] = _number(case.get("lmbda", 0.0), "case %s: lmbda" % args.case)
        n = case.get("n", data.count)
        if type(n) is not int or n < 1:
            raise UsageError("case %s: n must be a positive integer" % args.case)
        kw["n"] = n
    if args.exact:
        kw["exact"] = True
    if args.max_ulps is not None:
        kw["max_ulps"] = args.max_ulps
    if args.abs is not None:
        kw["abs_tol"] = args.abs
    try:
        r = crosscheck.compare(net, other, data, **kw)
    except ValueError as exc:
        raise UsageError(f"other {args.other}: {exc}") from None
    say(out, str(r))
    return 0 if r.agrees else 1

