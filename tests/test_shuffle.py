"""An epoch's shuffle: both backends order the examples as
random.Random.shuffle does and leave the generator in the state it leaves.

The C backend shuffles in C (pybp/_kernels/build_ffi.py, SHUFFLE): the
Mersenne Twister and CPython's rejection sampling of each index, which
must give the very lists and states of random.shuffle, or training on the
two backends would see different mini-batches.
"""

import platform
import random

import pytest

import pybp
from pybp._kernels import reference

try:
    from pybp._kernels import ccore
except ImportError:  # no C backend
    ccore = None

BACKENDS = [reference] + ([ccore] if ccore is not None else [])


def random_shuffle(rng, n):
    """What random.shuffle makes of list(range(n)) with rng (advanced)."""
    want = list(range(n))
    rng.shuffle(want)
    return want


@pytest.mark.parametrize("kernels", BACKENDS, ids=lambda k: k.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 623, 624, 625, 1000, 50000, 65537])
def test_shuffled_is_random_shuffle(kernels, n):
    """The same list, the same state after, and so the same draws next, for
    sizes around the generator's 624-word refill and powers of two (where
    the rejection sampling of an index changes its bit count)."""
    for seed in ("pybp-shuffle:0", "pybp-shuffle:%d" % n, 12345):
        mine, theirs = random.Random(seed), random.Random(seed)
        assert kernels.shuffled(mine, n) == random_shuffle(theirs, n)
        assert mine.getstate() == theirs.getstate()
        assert mine.random() == theirs.random()


@pytest.mark.skipif(ccore is None, reason="no C backend")
@pytest.mark.skipif(platform.python_implementation() != "CPython",
                    reason="the C shuffle follows CPython's generator; elsewhere "
                           "shuffled() uses it only if its first-use check agrees")
@pytest.mark.parametrize("n", [2, 3, 624, 625, 50000, 65537])
def test_the_c_shuffle_itself(n):
    """The C function (not the Python fallback, which shuffled() takes if
    its check at first use fails): the lists and states of random.shuffle."""
    mine, theirs = random.Random(n), random.Random(n)
    assert ccore._shuffle_in_c(mine, n) == random_shuffle(theirs, n)
    assert mine.getstate() == theirs.getstate()


@pytest.mark.skipif(ccore is None, reason="no C backend")
def test_shuffled_continues_a_used_generator():
    """From a state in the middle of the 624 words (after other draws) and
    over several epochs in a row, as a Network's generator is used."""
    mine, theirs = random.Random(7), random.Random(7)
    for r in (mine, theirs):
        [r.random() for _ in range(311)]
    for size in (10, 3000, 777):
        assert ccore.shuffled(mine, size) == random_shuffle(theirs, size)
    assert mine.getstate() == theirs.getstate()


@pytest.mark.skipif(ccore is None, reason="no C backend")
def test_both_backends_train_on_the_same_order():
    """A C network and a reference network of the same seed end an epoch
    with the same bits and the same shuffle state."""
    rng = random.Random(3)
    count = 40
    ds = pybp.Dataset([[rng.random() for _ in range(4)] for _ in range(count)],
                      labels=[rng.randrange(3) for _ in range(count)])
    py = pybp.Network([4, 5, 3], seed=9, backend="python")
    c = pybp.Network([4, 5, 3], seed=9, backend="c")
    py.train_epoch(ds, 7, 0.5)
    c.train_epoch(ds, 7, 0.5)
    assert bytes(py.params) == bytes(c.params)
    assert py.shuffle_state == c.shuffle_state
