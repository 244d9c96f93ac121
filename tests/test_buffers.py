"""Buffers of numbers mean the same on every Python implementation.

CPython's array(typecode, buffer) converts the buffer's numbers one by one;
PyPy's copies its raw bytes (for any buffer but another array), and cffi on
PyPy copies a slice of a cast memoryview instead of sharing it.  These
tests pin down pybp's meaning, which is CPython's, on whatever runs them.
"""

import struct
from array import array

import pytest

import pybp
from pybp._arrays import native_code, to_array

F32 = [0.5, -1.25, 3.0, 1e-3]  # 1e-3 is not a float32: rounded on the way in


def f32(values):
    return array("f", values)


@pytest.mark.parametrize("values", [
    memoryview(array("f", F32)),
    memoryview(array("d", F32)),
    memoryview(array("i", [1, -2, 3])),
    memoryview(array("B", [0, 200, 255])),
    memoryview(array("d", F32)).cast("B").cast("d")[1:3],  # a slice of a cast
    memoryview(array("f", F32))[::2],                      # not contiguous
])
@pytest.mark.parametrize("typecode", ["d", "f", "q"])
def test_to_array_converts_number_by_number(values, typecode):
    numbers = values.tolist()
    if typecode == "q" and not all(isinstance(v, int) for v in numbers):
        with pytest.raises(TypeError):
            to_array(typecode, values)
        return
    out = to_array(typecode, values)
    assert out.typecode == typecode
    assert out.tolist() == array(typecode, numbers).tolist()


def test_to_array_copies_and_keeps_the_meaning_of_bytes():
    source = array("d", F32)
    out = to_array("d", memoryview(source))
    out[0] = 9.0
    assert source[0] == 0.5                       # a copy, not a view
    raw = struct.pack("=2d", 1.5, 2.5)
    assert to_array("d", raw).tolist() == [1.5, 2.5]  # bytes are raw bytes
    assert to_array("d", bytearray(raw)).tolist() == [1.5, 2.5]
    assert to_array("d", (x / 2 for x in range(3))).tolist() == [0.0, 0.5, 1.0]


def test_native_code():
    assert native_code(memoryview(array("d"))) == "d"
    assert native_code(memoryview(b"")) == "B"
    assert native_code(memoryview(array("d", [1.0])).cast("B").cast("f")) == "f"
    assert native_code(memoryview(b"12345678").cast("B").cast("d")) == "d"


def test_numpy_byte_orders():
    np = pytest.importorskip("numpy")
    native = np.array(F32, dtype=np.float64)
    swapped = native.astype(native.dtype.newbyteorder())
    assert native_code(memoryview(native)) == "d"
    assert native_code(memoryview(swapped)) == ""
    assert to_array("d", swapped).tolist() == to_array("d", native).tolist() == F32
    assert to_array("f", native).tolist() == f32(F32).tolist()


def test_float64_dataset_made_float32_holds_the_same_numbers():
    ds = pybp.Dataset(array("d", F32 * 3), labels=[0, 1, 0], n_inputs=4)
    as32 = ds.inputs_as("float32")
    assert as32.input_type == "float32" and len(as32.x_f32) == 12
    assert as32.x_f32.tolist() == f32(F32 * 3).tolist()
    back = as32.inputs_as("float64")
    assert back.x.tolist() == f32(F32 * 3).tolist()


def test_float32_buffers_are_widened_number_by_number():
    ds = pybp.Dataset(memoryview(f32(F32 * 2)), f32([1.0, 0.0, 0.0, 1.0]), n_inputs=4)
    assert ds.input_type == "float32" and ds.count == 2
    assert ds.y.format == "d" and ds.y.tolist() == [1.0, 0.0, 0.0, 1.0]
    rows = pybp.Dataset([memoryview(f32(F32)), memoryview(f32(F32[::-1]))], [[1.0], [0.0]])
    assert rows.x.tolist() == f32(F32).tolist() + f32(F32[::-1]).tolist()


@pytest.mark.parametrize("code", ["B", "b", "h", "i", "l", "q"])
def test_labels_from_integer_buffers(code):
    labels = array(code, [3, 0, 2, 1, 2])
    ds = pybp.Dataset([[0.0]] * 5, labels=memoryview(labels))
    assert ds.labels.tolist() == [3, 0, 2, 1, 2]


def test_params_from_buffers_of_other_types():
    net = pybp.Network([4, 3, 2], seed=0)
    values = [k / 16.0 for k in range(len(net.params))]
    for given in (memoryview(f32(values)), memoryview(array("d", values)), f32(values)):
        net.params = array("d", [0.0]) * len(values)
        net.params = given
        assert net.params.tolist() == values
    assert net.feedforward(memoryview(f32(F32))) == net.feedforward(f32(F32).tolist())


def test_params_from_numpy_float32():
    np = pytest.importorskip("numpy")
    net = pybp.Network([4, 3, 2], seed=0)
    values = np.arange(len(net.params), dtype=np.float32) / 16
    net.params = values
    assert net.params.tolist() == values.tolist()


def test_model_writer_takes_float32_buffers():
    from pybp import model
    net = pybp.Network([4, 3, 2], seed=0)
    values = f32(net.params)
    wide = model.dumps(net.sizes, net.activations, net.cost_name, array("d", values))
    assert model.dumps(net.sizes, net.activations, net.cost_name,
                       memoryview(values)) == wide


def test_subsets_give_the_c_core_their_first_rows(backend):
    """The C core reads a subset from the uncut buffer it came from: the
    same numbers as a dataset made of just those rows."""
    rows = [[(i * 7 + j) % 11 / 10.0 for j in range(3)] for i in range(40)]
    labels = [i % 2 for i in range(40)]
    flat = array("d", [v for row in rows for v in row])
    cast = memoryview(flat).cast("B").cast("d")  # its subsets are cast slices
    pixels = bytes(int(v * 100) for v in flat)
    net = pybp.Network([3, 4, 2], seed=1, backend=backend)
    for whole, alone in (
            (pybp.Dataset(cast, labels=labels, n_inputs=3),
             pybp.Dataset(rows[:25], labels=labels[:25])),
            (pybp.Dataset(memoryview(pixels), labels=labels, n_inputs=3, divisor=100.0),
             pybp.Dataset(pixels[:75], labels=labels[:25], n_inputs=3, divisor=100.0))):
        part = whole.subset(25)
        assert len(part._whole_buffers()[0] or part._whole_buffers()[2]) == 120
        assert net.outputs(part) == net.outputs(alone)
        assert net.cost(part) == net.cost(alone)
        assert bytes(net.gradient(part)) == bytes(net.gradient(alone))
        assert net.evaluate(part) == net.evaluate(alone)
        twin = net.copy()
        twin.sgd(part, 2, 5, 0.5)
        other = net.copy()
        other.sgd(alone, 2, 5, 0.5)
        assert bytes(twin.params) == bytes(other.params)
