"""The pure-Python kernels: the definition of every number pybp computes.

The six functions of the kernel protocol (see ``pybp._kernels``: the last
section of this file) have twins of the same names in ``ccore``, the C core
through cffi; the C core's comments name the equations and the reference
functions each of its loops computes.  In float64 the twins agree bit for
bit because both evaluate every quantity by the same sequence of IEEE-754
double operations, spelled out in docs/exactness.md:

* every sum starts at 0.0 and adds its terms in ascending index order, one
  rounded ``+=`` at a time (the builtin ``sum`` only before Python 3.12, where
  it is that loop; from 3.12 on it is compensated; never ``math.fsum``);
* a product is rounded before it is added (the C core is built with
  -ffp-contract=off, so no fused multiply-add);
* ``exp``, ``log`` and ``tanh`` are pybp's own (``elementary``: fixed
  sequences of double operations, not libm), with branches that keep ``exp``
  from overflowing.

The functions read like docs/math.md: ``feedforward``, ``delta`` (BP1),
``backward`` (BP1-BP2 for one example), ``add_gradient`` (BP3-BP4 into the
sums), ``backprop`` (BP1-BP4 for one example), ``update_mini_batch``,
``sgd_epoch``.  The mini-batch kernels run backward on up to four examples
and then add their gradients in one pass (``add_batch``), which is the same
sequence of operations per parameter as one backprop after the other.

A ``spec`` is a ``NetSpec`` (sizes, activation names, cost name); ``params``
is any indexable sequence of floats in the flat layout (``pybp.spec``); ``data`` is a
``pybp.dataset.Dataset``.
"""

import math
import sys
from array import array
from operator import mul
from struct import pack as _pack

from ..checks import all_finite  # noqa: F401 (the kernel protocol's check)
from . import elementary

# pybp's own functions, not libm's: the same bits on every platform.
_exp = elementary.exp
_tanh = elementary.tanh
_log = elementary.log
_log1p = elementary.log1p

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
        (sum's generic path, taken with a start that is not an exact float,
        is plain too, but it adds through PyNumber_Add with a new float per
        term and measures slower on 3.12 and 3.13 than this loop, whose
        float operations the interpreter specialises.)
        """
        s = 0.0
        for p, q in zip(u, v):
            s += p * q
        return s


def add_outer(acc, lo, terms, first=False):
    """acc[lo + j*len(v) + k] += u[j] * v[k] for each (u, v) in terms, in order.

    terms holds one to four outer products (u, v) of one shape, one per
    example.  Every element gets, per term, one rounded product and one
    rounded add, in the order of terms.  first=True says acc holds the 0.0
    the sums start from.

    The terms share one pass over each row: Python evaluates
    ``s + u1*v1 + u2*v2`` as ``(s + u1*v1) + u2*v2``, the same rounded
    operations as one pass per term, with less loop overhead per term.
    A lone first term is computed as ``u*v + 0.0`` without reading acc: the
    same bits as ``0.0 + u*v`` (IEEE addition commutes), and like the C
    core's zeroed sums it turns a -0.0 product into +0.0.
    """
    if len(terms) == 3:
        add_outer(acc, lo, terms[:2], first)
        add_outer(acc, lo, terms[2:])
        return
    n = len(terms[0][1])
    if len(terms) == 1:
        (u, v), = terms
        for uj in u:
            hi = lo + n
            if first:
                acc[lo:hi] = [uj * vk + 0.0 for vk in v]
            else:
                acc[lo:hi] = [s + uj * vk for s, vk in zip(acc[lo:hi], v)]
            lo = hi
    elif len(terms) == 2:
        (u, v), (u2, v2) = terms
        for uj, u2j in zip(u, u2):
            hi = lo + n
            acc[lo:hi] = [s + uj * vk + u2j * v2k
                          for s, vk, v2k in zip(acc[lo:hi], v, v2)]
            lo = hi
    else:
        (u, v), (u2, v2), (u3, v3), (u4, v4) = terms  # four terms at most
        for uj, u2j, u3j, u4j in zip(u, u2, u3, u4):
            hi = lo + n
            acc[lo:hi] = [s + uj * vk + u2j * v2k + u3j * v3k + u4j * v4k
                          for s, vk, v2k, v3k, v4k
                          in zip(acc[lo:hi], v, v2, v3, v4)]
            lo = hi


# --- activations ------------------------------------------------------------


def sigmoid(z):
    """1/(1+e^-z), branching on the sign of z so that exp never overflows."""
    if z >= 0.0:
        return 1.0 / (1.0 + _exp(-z))
    e = _exp(z)
    return e / (1.0 + e)


def softmax_parts(z):
    """(top, e, s): the first largest z, e_j = e^(z_j - top), s = sum_k e_k
    (ascending).  Shared by softmax and the log-likelihood cost."""
    top = z[0]
    for v in z:
        if v > top:
            top = v
    e = [_exp(v - top) for v in z]
    s = 0.0
    for v in e:
        s += v
    return top, e, s


def softmax(z):
    """e^(z_j - max z) / sum_k e^(z_k - max z); the max is the first largest."""
    _, e, s = softmax_parts(z)
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
    """log(x), -inf at 0 and NaN below (elementary.log does this already)."""
    if x > 0.0:
        return _log(x)
    if x == 0.0:
        return -math.inf
    return math.nan


# --- cost -------------------------------------------------------------------


def cost_x(cost, z, a, y):
    """The cost C_x of one example with output-layer z, outputs a = f(z), target y.

    Cross-entropy (sigmoid outputs) and log-likelihood (softmax outputs) are
    computed from z, not from a, so that they stay finite and accurate where
    a rounds to 0 or 1 (docs/math.md, "Costs"):
      cross-entropy  C_x = sum_j [(1 - y_j) max(z_j, 0) + y_j max(-z_j, 0)
                                  + log1p(e^-|z_j|)],
                     a product with a zero coefficient skipped;
      log-likelihood C_x = -sum_{y_j != 0} y_j ((z_j - top) - ln s),
                     top and s as the softmax computes them.
    """
    s = 0.0
    if cost == "quadratic":
        for aj, yj in zip(a, y):
            d = aj - yj
            s += d * d
        return 0.5 * s
    if cost == "cross-entropy":
        for zj, yj in zip(z, y):
            if zj >= 0.0:
                c = 1.0 - yj
                m = zj
            else:
                c = yj
                m = -zj
            t = _log1p(_exp(-m))
            if c != 0.0:
                t = c * m + t
            s += t
        return s
    if cost == "log-likelihood":
        top, _, total = softmax_parts(z)
        lse = ln(total)
        for zj, yj in zip(z, y):
            if yj != 0.0:
                s += yj * ((zj - top) - lse)
        return -s
    raise ValueError("unknown cost %r" % (cost,))


# --- the equations ----------------------------------------------------------


def feedforward(spec, params, x):
    """z^l = W^l a^(l-1) + b^l, a^l = f_l(z^l): every layer's zs and activations.

    z_j is (sum_k W[j][k] a[k], k ascending, from 0.0) + b_j.
    """
    a = list(x)
    zs = []
    activations = [a]
    sizes = spec.sizes
    for l, (w_off, b_off) in enumerate(spec.offsets, start=1):
        n_in = sizes[l - 1]
        biases = params[b_off:b_off + sizes[l]]
        z = [dot(params[row:row + n_in], a) + b
             for row, b in zip(range(w_off, b_off, n_in), biases)]
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


def backward(spec, params, x, y):
    """Feedforward, BP1 and BP2 for one example: (activations, deltas, C_x).

    deltas[l - 1] is delta^l for l = 1 .. L: BP1 for the output layer, then
    BP2 backwards through the hidden layers.
    """
    zs, activations = feedforward(spec, params, x)
    sizes = spec.sizes
    offsets = spec.offsets
    d = delta(spec, zs[-1], activations[-1], y)
    deltas = [d]
    for l in range(len(sizes) - 1, 1, -1):
        w_off, b_off = offsets[l - 1]
        n_in = sizes[l - 1]
        # BP2: delta^(l-1)_k = (sum_j W^l[j][k] delta^l_j, j ascending) * f'(z_k);
        # column k of W^l is the strided slice starting at w_off + k.
        fp = derivative(spec.activations[l - 2], zs[l - 2], activations[l - 1])
        d = [dot(params[w_off + k:b_off:n_in], d) * fp[k] for k in range(n_in)]
        deltas.append(d)
    deltas.reverse()
    return activations, deltas, cost_x(spec.cost, zs[-1], activations[-1], y)


_ONE = [1.0]


def add_gradient(spec, acc, examples, first=False):
    """BP3 and BP4: add a few examples' dC_x/dp into acc, in their order.

    examples holds (activations, deltas) pairs from backward().
    BP3: dC/db_j = delta_j, added as the one-row outer product [1.0] x delta;
    BP4: dC/dW[j][k] = delta_j a^(l-1)_k, row j of W^l at w_off + j*n_(l-1).
    Each acc[p] gets one rounded += per example, so adding the examples of a
    batch in order gives sum_x dC_x/dp in ascending example order; first=True
    says acc holds the 0.0 those sums start from.
    """
    for l, (w_off, b_off) in enumerate(spec.offsets, start=1):
        add_outer(acc, b_off, [(_ONE, deltas[l - 1]) for _, deltas in examples],
                  first)
        add_outer(acc, w_off, [(deltas[l - 1], activations[l - 1])
                               for activations, deltas in examples], first)


def backprop(spec, params, x, y, acc, first=False):
    """One example's gradient, added into acc (flat layout); returns C_x.

    BP1 and BP2 (backward), then BP3 and BP4 into acc (add_gradient).
    """
    activations, deltas, c = backward(spec, params, x, y)
    add_gradient(spec, acc, [(activations, deltas)], first)
    return c


def add_batch(spec, params, data, indices, acc, total):
    """acc = sum over the examples `indices` of dC_x/dp; returns total + their C_x.

    acc holds 0.0 on entry, where every sum starts; the examples' terms are
    added in the order of indices, four examples at a time (see add_outer),
    and their costs are added to total in the same order.
    """
    n_out = spec.sizes[-1]
    for t in range(0, len(indices), 4):
        group = [backward(spec, params, data.input(i), data.target(i, n_out))
                 for i in indices[t:t + 4]]
        for _, _, c in group:
            total += c
        add_gradient(spec, acc, [(a, d) for a, d, _ in group], t == 0)
    return total


def as_floats(params):
    """params as a list of Python floats: the same numbers, faster to slice.

    Reading an array makes a new float object per element, every time; a
    batch of more than one example reads the weights once per example, so
    its kernels read them once here instead.
    """
    return params.tolist() if isinstance(params, array) else list(params)


def apply_update(spec, params, acc, eta, lmbda, n, m):
    """W <- (1 - eta*lmbda/n) W - (eta/m) S_W,  b <- b - (eta/m) S_b.

    acc holds S, the sums over the mini-batch (not yet divided by m).
    """
    decay = 1.0 - eta * lmbda / n
    step = eta / m
    sizes = spec.sizes
    for l, (w_off, b_off) in enumerate(spec.offsets, start=1):
        end = b_off + sizes[l]
        params[w_off:b_off] = to_array([
            decay * w - step * sw
            for w, sw in zip(params[w_off:b_off], acc[w_off:b_off])])
        params[b_off:end] = to_array([
            b - step * sb for b, sb in zip(params[b_off:end], acc[b_off:end])])


def to_array(values):
    """array("d", values) for a list of floats: the same doubles, built faster.

    struct converts each float with one PyFloat_AsDouble, where the array
    constructor parses every item on its own.
    """
    return array("d", _pack("%dd" % len(values), *values))


# --- kernels (the protocol of pybp._kernels, shared with ccore) -------------


def forward_outputs(spec, params, data, threads=None):
    """a^L of every example, flat (count * n_L).  (threads: the protocol's;
    the reference runs on the calling thread.)"""
    out = array("d")
    for i in range(data.count):
        out.extend(feedforward(spec, params, data.input(i))[1][-1])
    return out


def cost_total(spec, params, data, total=0.0):
    """total + sum of C_x over the examples, in order."""
    n_out = spec.sizes[-1]
    for i in range(data.count):
        zs, activations = feedforward(spec, params, data.input(i))
        total += cost_x(spec.cost, zs[-1], activations[-1],
                        data.target(i, n_out))
    return total


def gradient(spec, params, data):
    """Mean gradient: (sum_x dC_x/dp, x ascending) / count."""
    acc = [0.0] * spec.nparams
    if data.count > 1:
        params = as_floats(params)
    add_batch(spec, params, data, range(data.count), acc, 0.0)
    if data.count == 1:
        return to_array(acc)  # s / 1.0 is s, bit for bit
    m = float(data.count)
    return to_array([s / m for s in acc])


def evaluate(spec, params, data, threads=None):
    """How many examples have their first largest output at the target class.
    (threads: the protocol's; the reference runs on the calling thread.)"""
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
    acc = [0.0] * spec.nparams
    weights = as_floats(params) if len(indices) > 1 else params
    total = add_batch(spec, weights, data, indices, acc, total)
    apply_update(spec, params, acc, eta, lmbda, n, len(indices))
    return total


def update_mini_batch(spec, params, data, eta, lmbda, n):
    """One SGD step on the mini-batch made of all of data's examples."""
    sgd_step(spec, params, data, range(data.count), eta, lmbda, n, 0.0)


def shuffled(rng, n):
    """list(range(n)) shuffled by rng (a random.Random): an epoch's order."""
    perm = list(range(n))
    rng.shuffle(perm)
    return perm


def sgd_epoch(spec, params, data, perm, mini_batch_size, eta, lmbda, n,
              total=0.0, threads=None):
    """Mini-batches of perm, one step each; returns total + their costs.

    threads is accepted for the C kernels' signature and has no effect here.
    """
    for start in range(0, len(perm), mini_batch_size):
        total = sgd_step(spec, params, data, perm[start:start + mini_batch_size],
                         eta, lmbda, n, total)
    return total

