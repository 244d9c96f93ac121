"""numpy interop: buffers are shared, never copied (skipped without numpy)."""

import pytest

import pybp

np = pytest.importorskip("numpy")


def test_params_view_shares_memory(backend):
    net = pybp.Network([4, 3, 2], seed=1, backend=backend)
    view = np.frombuffer(net.params, dtype=np.float64)
    assert view.shape == (len(net.params),)
    view[0] = 42.0
    assert net.params[0] == 42.0
    w1 = np.asarray(net.weights[0])
    assert w1.shape == (3, 4) and np.shares_memory(w1, view)


def test_dataset_keeps_numpy_buffers(backend):
    x = np.linspace(0.0, 1.0, 5 * 4).reshape(5, 4)
    y = np.eye(2)[[0, 1, 1, 0, 1]]
    ds = pybp.Dataset(x.reshape(-1), y.reshape(-1), n_inputs=4)
    assert np.shares_memory(np.asarray(ds.x), x)
    assert np.shares_memory(np.asarray(ds.y), y)
    net = pybp.Network([4, 3, 2], seed=2, backend=backend)
    before = net.cost(ds)
    x[0, 0] = 5.0                       # the dataset sees the change: no copy
    assert net.cost(ds) != before


def test_uint8_pixels_with_divisor(backend):
    pixels = np.arange(2 * 6, dtype=np.uint8) * 20
    ds = pybp.Dataset(pixels, labels=[0, 1], n_inputs=6, divisor=255.0)
    assert np.shares_memory(np.asarray(ds.x_u8), pixels)
    as_float = pybp.Dataset((pixels / 255.0).tolist(), labels=[0, 1], n_inputs=6)
    net = pybp.Network([6, 2], seed=3, backend=backend)
    assert net.outputs(ds) == net.outputs(as_float)


def test_non_contiguous_and_wrong_dtype_are_refused():
    x = np.zeros((4, 6))
    with pytest.raises(ValueError, match="not contiguous"):
        pybp.Dataset(x[:, ::2], n_inputs=3)
    with pytest.raises(TypeError, match="float64 or float32"):
        pybp.Dataset(np.zeros(8, dtype=np.float16), n_inputs=4)
    with pytest.raises(TypeError, match="float64 or float32"):
        pybp.Dataset(np.zeros(8, dtype=np.int64), n_inputs=4)
