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
