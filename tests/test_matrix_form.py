"""The mini-batch gradient equals the mean of per-example backprop, bit for bit."""


from hypothesis import given, settings
from hypothesis import strategies as st

import pybp

from helpers import bits, datasets, networks


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.data())
def test_batch_gradient_is_sum_of_backprops_over_m(data):
    sizes, acts, cost, seed, init = data.draw(networks(max_size=15))
    ds = data.draw(datasets(sizes, cost, max_count=8))
    for backend in pybp.available_backends():
        net = pybp.Network(sizes, acts, cost, seed=seed, init=init, backend=backend)
        batch = net.gradient(ds)
        total = [0.0] * len(batch)
        for i in range(ds.count):
            y = ds.target(i, sizes[-1])
            nabla_b, nabla_w = net.backprop(ds.input(i), y)
            flat = []
            for rows, b in zip(nabla_w, nabla_b):
                for row in rows:
                    flat.extend(row)
                flat.extend(b)
            for p, g in enumerate(flat):
                total[p] += g
        assert bits(batch) == bits([s / ds.count for s in total])
