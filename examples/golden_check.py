"""Check an implementation of backpropagation against pybp's golden cases.

    pybp golden -o cases                  # or use tests/golden in the source tree
    python examples/golden_check.py cases [--max-ulps N]

The JSON golden files (docs/golden.md) hold small networks, their inputs
and targets, and every quantity pybp's reference computes for them.  This
script is the pattern for another implementation's test suite: it reads
each case, runs `backprop_trace` below, and compares every quantity in the
order the algorithm computes them, z^1 .. a^L, delta^L .. delta^1, the
gradients, then the parameters after one SGD step; the first quantity out
of tolerance is where a bug is.  It needs nothing but the standard library.

`backprop_trace` is a plain textbook implementation written for this
example, using math.exp and math.log; replace it by a call into your own.
Being a different implementation (other sums, other exp), it is not
expected to give pybp's bits, only to come within a few ulps, which is
what the default tolerance allows.  Exit status 0: every case agrees.
"""

import argparse
import json
import math
import os
import struct
import sys

# --- the implementation under test ------------------------------------------------


def _act(name, z):
    if name == "sigmoid":
        return [1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
                for v in z]
    if name == "tanh":
        return [math.tanh(v) for v in z]
    if name == "relu":
        return [max(v, 0.0) for v in z]
    if name == "identity":
        return list(z)
    top = max(z)  # softmax: the largest logit out first, or exp overflows
    e = [math.exp(v - top) for v in z]
    return [v / sum(e) for v in e]


def _act_prime(name, z, a):
    return {"sigmoid": lambda: [v * (1 - v) for v in a],
            "tanh": lambda: [1 - v * v for v in a],
            "relu": lambda: [1.0 if v > 0 else 0.0 for v in z],
            "identity": lambda: [1.0] * len(z)}[name]()


def _cost(cost, z, a, y):
    if cost == "quadratic":
        return 0.5 * sum((p - q) ** 2 for p, q in zip(a, y))
    if cost == "cross-entropy":  # from z, finite where a rounds to 0 or 1
        return sum(max(v, 0) - v * t + math.log1p(math.exp(-abs(v))) for v, t in zip(z, y))
    top = max(z)  # log-likelihood: log-sum-exp minus the target's logit
    lse = top + math.log(sum(math.exp(v - top) for v in z))
    return sum(t * (lse - v) for v, t in zip(z, y) if t != 0)


def backprop_trace(sizes, activations, cost, weights, biases, xs, ys):
    """z, a, delta per layer (rows per example), mean grad_w and grad_b, the
    mean cost: what the golden files hold."""
    L = len(sizes) - 1
    tr = {q: [[] for _ in range(L)] for q in ("z", "a", "delta")}
    gw = [[[0.0] * sizes[l] for _ in range(sizes[l + 1])] for l in range(L)]
    gb = [[0.0] * sizes[l + 1] for l in range(L)]
    total = 0.0
    for x, y in zip(xs, ys):
        acts, zs = [x], []
        for l in range(L):  # feedforward
            z = [sum(w * v for w, v in zip(row, acts[-1])) + b
                 for row, b in zip(weights[l], biases[l])]
            zs.append(z)
            acts.append(_act(activations[l], z))
        total += _cost(cost, zs[-1], acts[-1], y)
        d = [p - q for p, q in zip(acts[-1], y)]  # BP1
        if cost == "quadratic":
            d = [e * f for e, f in zip(d, _act_prime(activations[-1], zs[-1], acts[-1]))]
        deltas = [d]
        for l in range(L - 1, 0, -1):  # BP2
            back = [sum(weights[l][j][k] * deltas[0][j] for j in range(sizes[l + 1]))
                    for k in range(sizes[l])]
            fp = _act_prime(activations[l - 1], zs[l - 1], acts[l])
            deltas.insert(0, [e * f for e, f in zip(back, fp)])
        for l in range(L):
            tr["z"][l].append(zs[l])
            tr["a"][l].append(acts[l + 1])
            tr["delta"][l].append(deltas[l])
            for j, dj in enumerate(deltas[l]):  # BP3, BP4
                gb[l][j] += dj
                for k, ak in enumerate(acts[l]):
                    gw[l][j][k] += dj * ak
    m = len(xs)
    tr["grad_w"] = [[[v / m for v in row] for row in layer] for layer in gw]
    tr["grad_b"] = [[v / m for v in layer] for layer in gb]
    tr["cost"] = total / m
    return tr


def sgd_update(weights, biases, grad_w, grad_b, eta, lmbda, n):
    """One step on the whole batch, with L2 weight decay (biases not decayed)."""
    decay = 1 - eta * lmbda / n
    w = [[[decay * v - eta * g for v, g in zip(r, gr)] for r, gr in zip(layer, gl)]
         for layer, gl in zip(weights, grad_w)]
    b = [[v - eta * g for v, g in zip(layer, gl)] for layer, gl in zip(biases, grad_b)]
    return w, b


# --- reading a case and comparing ---------------------------------------------------


def unhex(value):
    """The files write floats as float.hex() strings (exact in any language)."""
    if isinstance(value, str):
        return float.fromhex(value)
    return [unhex(v) for v in value]


def layers_of(sizes, flat):
    """Weights (n_l rows of n_(l-1)) and biases per layer from the flat layout."""
    weights, biases, at = [], [], 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        weights.append([flat[at + j * n_in:at + (j + 1) * n_in] for j in range(n_out)])
        at += n_in * n_out
        biases.append(flat[at:at + n_out])
        at += n_out
    return weights, biases


def ulps(a, b):
    """How many doubles lie between a and b (0: the same bits, or both zero)."""
    if a == b:
        return 0
    if math.isnan(a) or math.isnan(b):
        return math.inf

    def key(v):
        i = struct.unpack("<q", struct.pack("<d", v))[0]
        return i if i >= 0 else -(i & 0x7FFFFFFFFFFFFFFF)
    return abs(key(a) - key(b))


def flat(value):
    return [v for item in value for v in flat(item)] if isinstance(value, list) else [value]


def check_case(doc, max_ulps, abs_tol):
    """(worst ulps, values near zero let through by abs_tol, None) if every
    quantity agrees, else (.., .., message)."""
    sizes, n_out = doc["sizes"], doc["sizes"][-1]
    weights, biases = layers_of(sizes, unhex(doc["params"]))
    if "x" in doc:
        xs = unhex(doc["x"])
    else:
        div = unhex(doc["divisor"])
        xs = [[v / div for v in row] for row in doc["x_u8"]]
    if "labels" in doc:
        ys = [[1.0 if j == k else 0.0 for j in range(n_out)] for k in doc["labels"]]
    else:
        ys = unhex(doc["y"])
    mine = backprop_trace(sizes, doc["activations"], doc["cost"], weights, biases, xs, ys)
    w, b = sgd_update(weights, biases, mine["grad_w"], mine["grad_b"],
                      unhex(doc["eta"]), unhex(doc["lmbda"]), doc["n"])
    updated = [v for wl, bl in zip(w, b) for v in flat(wl) + bl]

    want, L = doc["trace"], len(sizes) - 1
    order = [(q, l) for l in range(L) for q in ("z", "a")]
    order += [("delta", l) for l in reversed(range(L))]
    order += [(q, l) for l in reversed(range(L)) for q in ("grad_b", "grad_w")]
    checks = [("%s of layer %d" % (q, l + 1), flat(mine[q][l]), flat(unhex(want[q][l])))
              for q, l in order]
    checks += [("cost", [mine["cost"]], [unhex(doc["expected"]["cost"])]),
               ("params after one step", updated, unhex(doc["expected"]["update"]))]
    worst = near_zero = 0
    for what, got, expected in checks:
        if len(got) != len(expected):
            return worst, near_zero, "%s: %d values, expected %d" % (
                what, len(got), len(expected))
        for i, (p, q) in enumerate(zip(got, expected)):
            u = ulps(p, q)
            if u <= max_ulps:
                worst = max(worst, u)
            elif abs(p - q) <= abs_tol:
                near_zero += 1
            else:
                return worst, near_zero, "%s, value %d: %s, expected %s (%s ulps)" % (
                    what, i, p.hex(), q.hex(), u)
    return worst, near_zero, None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("directory", help="golden cases, as pybp golden -o DIR writes them")
    ap.add_argument("--max-ulps", type=float, default=1024,
                    help="a value agrees within this many ulps (default 1024) ...")
    ap.add_argument("--abs", type=float, default=1e-13, dest="abs_tol",
                    help="... or this absolute difference (default 1e-13), for values "
                         "near zero after cancellation; --max-ulps 0 --abs 0 is exact")
    args = ap.parse_args(argv)
    names = sorted(f[:-5] for f in os.listdir(args.directory) if f.endswith(".json"))
    if not names:
        print("no golden cases (*.json) in %s" % args.directory, file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        with open(os.path.join(args.directory, name + ".json"), encoding="ascii") as f:
            doc = json.load(f)
        if doc.get("format") != "pybp-golden" or doc.get("version") != 1:
            print("%s: not a version 1 pybp golden case" % name)
            failed += 1
            continue
        worst, near_zero, problem = check_case(doc, args.max_ulps, args.abs_tol)
        if problem:
            failed += 1
            print("%s: first difference: %s" % (name, problem))
        else:
            print("%s: agrees to %d ulp (%d values near zero within %g)"
                  % (name, worst, near_zero, args.abs_tol))
    print("%d of %d cases agree" % (len(names) - failed, len(names)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
