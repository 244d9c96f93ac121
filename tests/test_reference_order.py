"""The reference's fast spellings keep the documented order of operations.

docs/exactness.md: every sum starts at 0.0 and adds its terms one rounded
step at a time, in ascending order.  The reference runs these loops in C
(the builtin sum) or several terms per pass (add_outer); these tests compare
them with the loops spelled out, bit for bit, on every Python version.
"""

import math
import random
import struct

import pytest

from pybp._kernels import reference as ref


def bits(values):
    return [struct.pack("<d", v) for v in values]


def plain_dot(u, v):
    s = 0.0
    for p, q in zip(u, v):
        s += p * q
    return s


def test_dot_is_not_compensated():
    # A compensated sum (builtin sum() from Python 3.12 on, with a float
    # start) gives 2.0 here; the plain left-to-right sum loses both 1.0s.
    u = [1.0, 1e100, 1.0, -1e100]
    assert bits([ref.dot(u, [1.0] * 4)]) == bits([0.0])
    u = [1e16, 1.0, 1.0]
    assert bits([ref.dot(u, [1.0] * 3)]) == bits([plain_dot(u, [1.0] * 3)])
    assert type(ref.dot([2.0], [3.0])) is float


def canonical_bits(values):
    """bits(), with every NaN as float('nan').

    When two NaNs meet in an addition, IEEE 754 leaves open which one comes
    out, and CPython's code paths (the interpreter's +, float.__add__, the
    builtin sum) do not all pick the same one; only a NaN's sign and payload
    can differ that way.
    """
    return bits([math.nan if math.isnan(v) else v for v in values])


def test_dot_matches_the_loop_with_special_values():
    rng = random.Random(3)
    pool = [0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e308, -1e308,
            math.inf, -math.inf, math.nan, 0.1, 3.0]
    for _ in range(2000):
        n = rng.randint(1, 6)
        u = [rng.choice(pool) for _ in range(n)]
        v = [rng.choice(pool) for _ in range(n)]
        assert canonical_bits([ref.dot(u, v)]) == canonical_bits([plain_dot(u, v)])


def spelled_out(acc, lo, terms, first):
    """acc[lo + j*n + k] += u[j]*v[k], one term after the other, as C does."""
    acc = list(acc)
    for t, (u, v) in enumerate(terms):
        n = len(v)
        for j, uj in enumerate(u):
            for k, vk in enumerate(v):
                p = lo + j * n + k
                s = 0.0 if (first and t == 0) else acc[p]
                acc[p] = s + uj * vk
    return acc


@pytest.mark.parametrize("count", [1, 2, 3, 4])
@pytest.mark.parametrize("first", [True, False])
def test_add_outer_matches_one_term_at_a_time(count, first):
    rng = random.Random(count * 2 + first)
    pool = [0.0, -0.0, 1.0, -2.5, 5e-324, -1e-300, 1e300, -1e300,
            math.inf, -math.inf, math.nan, 0.1, 7.0]
    n_out, n_in, lo = 3, 5, 2
    size = lo + n_out * n_in + 1
    for _ in range(50):
        terms = [([rng.choice(pool) for _ in range(n_out)],
                  [rng.choice(pool) for _ in range(n_in)]) for _ in range(count)]
        if first:
            acc = [0.0] * size
        else:
            acc = [rng.choice(pool) for _ in range(size)]
        want = spelled_out(acc, lo, terms, first)
        got = list(acc)
        ref.add_outer(got, lo, terms, first)
        assert bits(got) == bits(want)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 9])
def test_batch_kernels_equal_one_backprop_after_the_other(count):
    import pybp
    from pybp.network import init_params
    from pybp.spec import NetSpec

    spec = NetSpec([6, 5, 4, 3], ["tanh", "relu", "sigmoid"], "quadratic")
    params = init_params(spec, count)
    rng = random.Random(count)
    x = [[rng.choice([0.0, -0.0, rng.gauss(0, 2)]) for _ in range(6)]
         for _ in range(count)]
    y = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(count)]
    data = pybp.Dataset(x, y)
    acc = [0.0] * spec.nparams
    total = 0.0
    for i in range(count):
        total += ref.backprop(spec, params, data.input(i), data.target(i, 3),
                              acc, i == 0)
    got = [0.0] * spec.nparams
    got_total = ref.add_batch(spec, ref.as_floats(params), data, range(count),
                              got, 0.0)
    assert bits(got) == bits(acc)
    assert bits([got_total]) == bits([total])
