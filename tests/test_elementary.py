"""pybp's own exp, log and tanh (pybp/_kernels/elementary.py, csrc/pybp_elementary.h).

(a) the reference and the C core give the same bits, on every special value and
a few hundred thousand other arguments; (b) the special values C99 Annex F
asks for; (c) the error, against decimal at 50 digits, is within the bounds
docs/exactness.md states (bench/ulp_error.py measures them on 10^7 arguments).
The C functions are reached through the C API (pybp_exp, pybp_log, pybp_tanh
and their float versions, declared in csrc/pybp.h).
"""

import decimal
import math
import random
import struct

import pytest

from pybp._kernels import elementary as E

INF, NAN = math.inf, math.nan
DBL_MAX = 1.7976931348623157e308
TINY = 5e-324
MIN_NORMAL = 2.2250738585072014e-308

SPECIAL = [0.0, -0.0, INF, -INF, NAN, TINY, -TINY, MIN_NORMAL, -MIN_NORMAL,
           DBL_MAX, -DBL_MAX, 1.0, -1.0, 0.5, -0.5, 2.0, 0.55, -0.55, 22.0, -22.0,
           2.0 ** -28, -2.0 ** -28, 2.0 ** -29, 0.7071067811865476, 1.4142135623730951,
           709.782712893384, 709.7827128933839, 709.78, -745.1332191019411,
           -745.1332191019412, -745.0, -708.3964185322641, -708.4, -1074 * 0.6931471805599453,
           0.34657359027997264, -0.34657359027997264, 0.3465735902799727]


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def same(a, b):
    return bits(a) == bits(b) or (a != a and b != b)


def arguments(count, seed=20240):
    rng = random.Random(seed)
    out = list(SPECIAL)
    for x in SPECIAL:
        if math.isfinite(x) and x != 0.0:
            out += [math.nextafter(x, INF), math.nextafter(x, -INF)]
    for _ in range(count):
        out.append(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
        out.append(rng.uniform(-746.0, 710.0))
        out.append(rng.uniform(-23.0, 23.0))
        out.append(rng.uniform(-1.0, 1.0) * 2.0 ** -rng.randint(0, 60))
    return out


@pytest.fixture(scope="module")
def lib():
    c = pytest.importorskip("pybp._kernels._pybp_c")
    return c.lib


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
def test_c_gives_the_references_bits(lib, name):
    f, g = getattr(E, name), getattr(lib, "pybp_" + name)
    bad = [x for x in arguments(60000) if not same(f(x), g(x))]
    assert bad == []


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
def test_float_versions_are_the_double_ones_rounded(lib, name):
    f, g = getattr(E, name), getattr(lib, "pybp_" + name + "f")
    rng = random.Random(3)
    for _ in range(20000):
        x = struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0]
        want = struct.unpack("<f", struct.pack("<f", f(x)))[0] \
            if abs(f(x)) < 3.4028235677973366e38 or not math.isfinite(f(x)) else None
        got = g(x)
        if want is None:  # rounds to float's infinity
            assert got == math.copysign(INF, f(x))
        else:
            assert same(got, want), x


def test_annex_f_special_values():
    assert E.exp(0.0) == 1.0 and E.exp(-0.0) == 1.0
    assert E.exp(INF) == INF and bits(E.exp(-INF)) == bits(0.0)
    assert E.exp(710.0) == INF and E.exp(709.78) < INF
    assert bits(E.exp(-746.0)) == bits(0.0)
    assert E.exp(-745.0) == TINY                       # gradual underflow
    assert 0.0 < E.exp(-720.0) < MIN_NORMAL
    assert bits(E.log(1.0)) == bits(0.0)
    assert E.log(0.0) == -INF and E.log(-0.0) == -INF
    assert E.log(INF) == INF
    assert math.isnan(E.log(-1.0)) and math.isnan(E.log(-INF)) and math.isnan(E.log(-TINY))
    assert E.log(TINY) == -744.4400719213812
    assert bits(E.tanh(0.0)) == bits(0.0) and bits(E.tanh(-0.0)) == bits(-0.0)
    assert E.tanh(INF) == 1.0 and E.tanh(-INF) == -1.0
    assert E.tanh(TINY) == TINY and E.tanh(-TINY) == -TINY
    assert E.tanh(30.0) == 1.0 and E.tanh(-30.0) == -1.0
    for f in (E.exp, E.log, E.tanh):
        assert math.isnan(f(NAN))
    rng = random.Random(9)
    for _ in range(2000):                               # tanh is odd, exactly
        x = rng.uniform(-25.0, 25.0)
        assert bits(E.tanh(-x)) == bits(-E.tanh(x))


def _ulps(got, exact):
    """|got - exact| in units of the last place of the double nearest exact."""
    near = float(exact)
    if near == 0.0:
        unit = TINY
    else:
        e = math.frexp(abs(near))[1]
        unit = 2.0 ** max(e - 53, -1074)
    return float(abs(decimal.Decimal(got) - exact) / decimal.Decimal(unit))


def exact_tanh(x):
    x = decimal.Decimal(x)
    if abs(x) < decimal.Decimal("1e-7"):
        return x - x ** 3 / 3 + 2 * x ** 5 / 15 - 17 * x ** 7 / 315
    e = (2 * x).exp()
    return (e - 1) / (e + 1)


# Bounds in ulps: measured maxima (docs/exactness.md) rounded up.
BOUNDS = {"exp": 0.9, "log": 0.9, "tanh": 1.5}


def test_error_against_decimal():
    ctx = decimal.Context(prec=50)
    rng = random.Random(77)
    samples = {
        "exp": ([rng.uniform(-745.0, 709.7) for _ in range(1500)]
                + [rng.uniform(-0.35, 0.35) for _ in range(500)],
                lambda x: ctx.exp(decimal.Decimal(x))),
        "log": ([math.ldexp(rng.random() + 0.5, rng.randint(-1074, 1023)) for _ in range(1500)]
                + [rng.uniform(0.7, 1.42) for _ in range(500)],
                lambda x: ctx.ln(decimal.Decimal(x))),
        "tanh": ([rng.uniform(-23.0, 23.0) for _ in range(1000)]
                 + [rng.uniform(-1.1, 1.1) for _ in range(1000)],
                 None),
    }
    with decimal.localcontext(ctx):
        for name, (xs, exact) in samples.items():
            f = getattr(E, name)
            worst = max(_ulps(f(x), exact(x) if exact else exact_tanh(x))
                        for x in xs if x > 0.0 or name != "log")
            assert worst <= BOUNDS[name], (name, worst)
