"""Two networks trained at once in two Python threads (C backend, GIL released)
end exactly as when trained one after the other."""

import threading

import pybp


def make_data(n=300):
    xs = [[((i * 7 + k * 3) % 17) / 17.0 for k in range(12)] for i in range(n)]
    return pybp.Dataset(xs, labels=[i % 4 for i in range(n)])


def train(net, data):
    net.sgd(data, 3, 5, 0.5)


def test_two_threads_give_sequential_results(c_backend):
    data = make_data()
    seq = [pybp.Network([12, 9, 4], seed=s, backend="c") for s in (1, 2)]
    par = [net.copy() for net in seq]
    for net in seq:
        train(net, data)
    threads = [threading.Thread(target=train, args=(net, data)) for net in par]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(seq, par):
        assert bytes(a.params) == bytes(b.params)
    assert bytes(par[0].params) != bytes(par[1].params)


def test_worker_threads_give_one_thread_bits(c_backend):
    data = make_data(400)
    one = pybp.Network([12, 40, 4], seed=3, backend="c", threads=1)
    two = one.copy()
    two.threads = 2
    one.sgd(data, 2, 100, 0.5)
    two.sgd(data, 2, 100, 0.5)
    assert bytes(one.params) == bytes(two.params)


def test_threads_setting_is_checked():
    import pytest
    with pytest.raises(ValueError, match="threads must be in 1 .. 64"):
        pybp.Network([2, 2], backend="python", threads=0)
    with pytest.raises(TypeError, match="threads must be an integer"):
        pybp.Network([2, 2], backend="python", threads=1.5)


def test_outputs_and_evaluate_on_threads_give_one_thread_bits(c_backend):
    """With threads, outputs, predict and evaluate of many examples run
    contiguous shares of them on as many threads: the same outputs, bit for
    bit, and the same counts, for every kind of input and both dtypes
    (counts that split unevenly, and one too small to split)."""
    import random
    from array import array

    from pybp._kernels import ccore
    rng = random.Random(8)
    n0 = 20
    for count in (1001, 700, 300):
        labels = [rng.randrange(5) for _ in range(count)]
        u8 = bytes(rng.randrange(256) for _ in range(count * n0))
        floats = array("d", (rng.gauss(0.0, 1.0) for _ in range(count * n0)))
        kinds = [pybp.Dataset(u8, labels=labels, n_inputs=n0, divisor=255.0),
                 pybp.Dataset(floats, labels=labels, n_inputs=n0),
                 pybp.Dataset(floats, n_inputs=n0, targets=array(
                     "d", (float(labels[i] == j) for i in range(count) for j in range(5))))]
        for dtype in ("float64", "float32"):
            one = pybp.Network([n0, 33, 5], seed=count, backend="c", dtype=dtype, threads=1)
            for threads in (2, 3):
                many = one.copy()
                many.threads = threads
                size = count * 5 * one.params.itemsize
                for ds in kinds:
                    got = array(one.params.typecode, bytes(size))
                    want = array(one.params.typecode, bytes(size))
                    assert bytes(many.outputs(ds, out=got)) == bytes(one.outputs(ds, out=want))
                    assert many.outputs(ds) == one.outputs(ds)
                    assert many.predict(ds) == one.predict(ds)
                    assert many.evaluate(ds) == one.evaluate(ds)
        assert len(ccore._parts(count, 3)) == max(1, min(3, count // ccore.SPLIT_MIN))
    assert ccore._parts(1001, 2) == [(0, 500), (500, 1001)]


def test_an_error_on_a_worker_thread_reaches_the_caller(c_backend):
    """A C call that fails on one share raises on the calling thread (the
    other shares' calls end first)."""
    from pybp._kernels import ccore
    data = make_data(1200)
    net = pybp.Network([12, 9, 4], seed=1, backend="c", threads=2)
    calls = []

    def failing(lo, hi):
        calls.append((lo, hi))
        if lo > 0:
            raise ValueError("share %d..%d" % (lo, hi))
        return 1
    try:
        ccore._on_threads(failing, ccore._parts(1200, 2))
    except ValueError as exc:
        assert str(exc) == "share 600..1200"
    else:
        raise AssertionError("no error")
    assert sorted(calls) == [(0, 600), (600, 1200)]
    assert net.evaluate(data) == pybp.Network([12, 9, 4], seed=1, backend="c").evaluate(data)
