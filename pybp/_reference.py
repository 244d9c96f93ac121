"""The pure-Python kernels: the definition of every number pybp computes.

Each function here has a twin of the same name in ``_ckernels`` (the C core
through cffi).  In float64 the twins agree bit for bit because both evaluate
every quantity by the same sequence of IEEE-754 double operations, spelled
out in docs/exactness.md:

* every sum starts at 0.0 and adds its terms in ascending index order, one
  rounded ``+=`` at a time (never the builtin ``sum``, which is compensated
  from Python 3.12 on, nor ``math.fsum``);
* a product is rounded before it is added (the C core is built with
  -ffp-contract=off, so no fused multiply-add);
* transcendental functions are libm's ``exp``, ``log`` and ``tanh``, called
  through ``math`` with branches that keep them from overflowing.

The functions read like SPEC.md: ``feedforward``, ``delta`` (BP1),
``backprop`` (BP2-BP4 for one example), ``update_mini_batch``, ``sgd_epoch``.

A ``spec`` is a ``NetSpec`` (sizes, activation names, cost name); ``params``
is any indexable sequence of floats in SPEC.md's flat layout; ``data`` is a
``pybp.dataset.Dataset``.
"""

import math
import sys
from array import array
from itertools import repeat
from operator import add, mul, sub, truediv

_exp = math.exp
_tanh = math.tanh
_log = math.log

# --- sums -------------------------------------------------------------------

if sys.version_info < (3, 12):
    def dot(u, v):
        """0.0 + u[0]*v[0] + u[1]*v[1] + ..., left to right.

        Before Python 3.12 the builtin sum adds floats one rounded step at a
        time, exactly like the loop below, and runs the loop in C.
        """
        return sum(map(mul, u, v), 0.0)
else:  # pragma: no cover - exercised on Python >= 3.12
    def dot(u, v):
        """0.0 + u[0]*v[0] + u[1]*v[1] + ..., left to right.

        From Python 3.12 on the builtin sum is compensated, so spell it out.
        """
        s = 0.0
        for p, q in zip(u, v):
            s += p * q
        return s


def accumulate(acc, lo, alpha, v, first):
    """acc[lo + k] += alpha * v[k] for every k: one rounded add per element.

    A sum's first term is added to 0.0 (not stored as is), which turns a
    -0.0 product into +0.0 exactly as the C core's zeroed sums do.
    """
    if first:
        acc[lo:lo + len(v)] = [alpha * vk + 0.0 for vk in v]
    else:
        acc[lo:lo + len(v)] = [s + alpha * vk
                               for s, vk in zip(acc[lo:lo + len(v)], v)]


# --- activations ------------------------------------------------------------


def sigmoid(z):
    """1/(1+e^-z), branching on the sign of z so that exp never overflows."""
    if z >= 0.0:
        return 1.0 / (1.0 + _exp(-z))
    e = _exp(z)
    return e / (1.0 + e)


def relu(z):
    return z if z > 0.0 else 0.0


def softmax(z):
    """e^(z_j - max z) / sum_k e^(z_k - max z); the max is the first largest."""
    top = z[0]
    for v in z:
        if v > top:
            top = v
    e = [_exp(v - top) for v in z]
    s = 0.0
    for v in e:
        s += v
    return [v / s for v in e]


def activate(name, z):
    """a = f(z) for a whole layer."""
    if name == "sigmoid":
        return [sigmoid(v) for v in z]
    if name == "tanh":
        return [_tanh(v) for v in z]
    if name == "relu":
        return [v if v > 0.0 else 0.0 for v in z]
    if name == "identity":
        return list(z)
    if name == "softmax":
        return softmax(z)
    raise ValueError("unknown activation %r" % (name,))


def derivative(name, z, a):
    """f'(z) for a whole layer, from z or from a = f(z), whichever is exact."""
    if name == "sigmoid":
        return [v * (1.0 - v) for v in a]
    if name == "tanh":
        return [1.0 - v * v for v in a]
    if name == "relu":
        return [1.0 if v > 0.0 else 0.0 for v in z]
    if name == "identity":
        return [1.0] * len(z)
    # softmax only ever meets log-likelihood, whose BP1 needs no derivative.
    raise ValueError("no element-wise derivative for %r" % (name,))


def ln(x):
    """log(x) as C's libm gives it: -inf at 0 and NaN below, where math.log raises."""
    if x > 0.0:
        return _log(x)
    if x == 0.0:
        return -math.inf
    return math.nan


# --- cost -------------------------------------------------------------------


def cost_x(cost, a, y):
    """The cost C_x of one example with outputs a and target y."""
    s = 0.0
    if cost == "quadratic":
        for aj, yj in zip(a, y):
            d = aj - yj
            s += d * d
        return 0.5 * s
    if cost == "cross-entropy":
        for aj, yj in zip(a, y):
            if yj > 0.0:
                s += yj * ln(aj)
            if yj < 1.0:
                s += (1.0 - yj) * ln(1.0 - aj)
        return -s
    if cost == "log-likelihood":
        for aj, yj in zip(a, y):
            if yj != 0.0:
                s += yj * ln(aj)
        return -s
    raise ValueError("unknown cost %r" % (cost,))


# --- layout -----------------------------------------------------------------


def nparams(sizes):
    """P = sum_l n_l (n_{l-1} + 1)."""
    return sum(n * (m + 1) for m, n in zip(sizes, sizes[1:]))


def layer_offsets(sizes):
    """(offset of W^l, offset of b^l) for l = 1 .. L in the flat layout."""
    out = []
    off = 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        out.append((off, off + n_out * n_in))
        off += n_out * (n_in + 1)
    return out


# --- the equations ----------------------------------------------------------


def feedforward(spec, params, x):
    """z^l = W^l a^(l-1) + b^l, a^l = f_l(z^l): every layer's zs and activations.

    z_j is (sum_k W[j][k] a[k], k ascending, from 0.0) + b_j.
    """
    a = list(x)
    zs = []
    activations = [a]
    sizes = spec.sizes
    for l, (w_off, b_off) in enumerate(layer_offsets(sizes), start=1):
        n_in, n_out = sizes[l - 1], sizes[l]
        z = [dot(params[row:row + n_in], a) + params[b_off + j]
             for j, row in enumerate(range(w_off, b_off, n_in))]
        a = activate(spec.activations[l - 1], z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def delta(spec, z, a, y):
    """BP1: delta^L = grad_a C_x (.) f_L'(z^L), or a^L - y where it simplifies."""
    if spec.cost == "quadratic":
        fp = derivative(spec.activations[-1], z, a)
        return [(aj - yj) * f for aj, yj, f in zip(a, y, fp)]
    # cross-entropy with sigmoid, log-likelihood with softmax
    return [aj - yj for aj, yj in zip(a, y)]


def backprop(spec, params, x, y, acc, first=False):
    """One example's gradient, added into acc (flat layout); returns C_x.

    BP1 for the output layer, BP2 backwards through the hidden layers,
    BP3 (dC/db = delta) and BP4 (dC/dW[j][k] = a^(l-1)_k delta_j) into acc.
    Each acc[p] gets one rounded += of this example's term, so summing
    examples in order gives sum_x dC_x/dp in ascending example order;
    first=True says acc holds the 0.0 a sum starts from.
    """
    zs, activations = feedforward(spec, params, x)
    sizes = spec.sizes
    offsets = layer_offsets(sizes)
    L = len(sizes) - 1
    d = delta(spec, zs[-1], activations[-1], y)
    for l in range(L, 0, -1):
        w_off, b_off = offsets[l - 1]
        n_in = sizes[l - 1]
        a_prev = activations[l - 1]
        # BP3: dC/db_j = delta_j
        accumulate(acc, b_off, 1.0, d, first)
        # BP4: dC/dW[j][k] = delta_j a_k, row j of W at w_off + j*n_in
        for j, dj in enumerate(d):
            accumulate(acc, w_off + j * n_in, dj, a_prev, first)
        if l > 1:
            # BP2: delta^(l-1)_k = (sum_j W^l[j][k] delta^l_j, j ascending) * f'(z_k);
            # column k of W^l is the strided slice starting at w_off + k.
            fp = derivative(spec.activations[l - 2], zs[l - 2], a_prev)
            d = [dot(params[w_off + k:b_off:n_in], d) * fp[k] for k in range(n_in)]
    return cost_x(spec.cost, activations[-1], y)


def apply_update(spec, params, acc, eta, lmbda, n, m):
    """W <- (1 - eta*lmbda/n) W - (eta/m) S_W,  b <- b - (eta/m) S_b.

    acc holds S, the sums over the mini-batch (not yet divided by m).
    """
    decay = 1.0 - eta * lmbda / n
    step = eta / m
    sizes = spec.sizes
    for l, (w_off, b_off) in enumerate(layer_offsets(sizes), start=1):
        end = b_off + sizes[l]
        params[w_off:b_off] = array("d", map(
            sub, map(mul, repeat(decay), params[w_off:b_off]),
            map(mul, repeat(step), acc[w_off:b_off])))
        params[b_off:end] = array("d", map(
            sub, params[b_off:end], map(mul, repeat(step), acc[b_off:end])))


# --- kernels (the interface shared with _ckernels) --------------------------


def forward_outputs(spec, params, data):
    """a^L of every example, flat (count * n_L)."""
    out = array("d")
    for i in range(data.count):
        out.extend(feedforward(spec, params, data.input(i))[1][-1])
    return out


def cost_total(spec, params, data, total=0.0):
    """total + sum of C_x over the examples, in order."""
    n_out = spec.sizes[-1]
    for i in range(data.count):
        a = feedforward(spec, params, data.input(i))[1][-1]
        total += cost_x(spec.cost, a, data.target(i, n_out))
    return total


def gradient(spec, params, data):
    """Mean gradient: (sum_x dC_x/dp, x ascending) / count."""
    acc = [0.0] * nparams(spec.sizes)
    n_out = spec.sizes[-1]
    for i in range(data.count):
        backprop(spec, params, data.input(i), data.target(i, n_out), acc, i == 0)
    if data.count == 1:
        return array("d", acc)  # s / 1.0 is s, bit for bit
    return array("d", map(truediv, acc, repeat(float(data.count))))


def evaluate(spec, params, data):
    """How many examples have their first largest output at the target class."""
    correct = 0
    for i in range(data.count):
        a = feedforward(spec, params, data.input(i))[1][-1]
        if argmax(a) == data.target_class(i):
            correct += 1
    return correct


def argmax(v):
    best = 0
    for j in range(1, len(v)):
        if v[j] > v[best]:
            best = j
    return best


def sgd_step(spec, params, data, indices, eta, lmbda, n, total):
    """One SGD step on the examples `indices` of data; returns total + their C_x."""
    acc = [0.0] * nparams(spec.sizes)
    n_out = spec.sizes[-1]
    for t, i in enumerate(indices):
        total += backprop(spec, params, data.input(i), data.target(i, n_out),
                          acc, t == 0)
    apply_update(spec, params, acc, eta, lmbda, n, len(indices))
    return total


def update_mini_batch(spec, params, data, eta, lmbda, n):
    """One SGD step on the mini-batch made of all of data's examples."""
    sgd_step(spec, params, data, range(data.count), eta, lmbda, n, 0.0)


def sgd_epoch(spec, params, data, perm, mini_batch_size, eta, lmbda, n,
              total=0.0, threads=None):
    """Mini-batches of perm, one step each; returns total + their costs.

    threads is accepted for the C kernels' signature and has no effect here.
    """
    for start in range(0, len(perm), mini_batch_size):
        total = sgd_step(spec, params, data, perm[start:start + mini_batch_size],
                         eta, lmbda, n, total)
    return total
