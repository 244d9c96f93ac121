"""Tests of pybp.data: IDX files, MNIST and CSV loading."""

import gzip
import math
import struct
from array import array
from pathlib import Path

import pytest

from pybp import data
from pybp.data import DataError, read_idx

from helpers import MNIST, idx_bytes


def write(path, content, compress=False):
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


# --- IDX --------------------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True])
def test_idx_valid(tmp_path, compress):
    payload = bytes(range(24))
    f = write(tmp_path / "a.idx", idx_bytes((2, 3, 4), payload), compress)
    got = read_idx(f)
    assert got.dims == (2, 3, 4)
    assert got.data == payload and isinstance(got.data, bytearray)


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    # A plain file named .gz, and a gzipped one with no .gz suffix.
    plain = write(tmp_path / "plain.gz", idx_bytes((3,), b"\x01\x02\x03"))
    packed = write(tmp_path / "packed", idx_bytes((3,), b"\x04\x05\x06"), True)
    assert read_idx(plain).data == b"\x01\x02\x03"
    assert read_idx(packed).data == b"\x04\x05\x06"


def test_idx_wider_types_are_big_endian(tmp_path):
    f = write(tmp_path / "i", idx_bytes((2,), struct.pack(">ii", -2, 70000), 0x0C))
    assert list(read_idx(f).data) == [-2, 70000]
    f = write(tmp_path / "d", idx_bytes((1,), struct.pack(">d", 0.25), 0x0E))
    assert list(read_idx(f).data) == [0.25]


@pytest.mark.parametrize("compress", [False, True])
def test_idx_truncated_data(tmp_path, compress):
    f = write(tmp_path / "t10k-images.gz",
              idx_bytes((10, 28, 28), bytes(1200)), compress)
    with pytest.raises(DataError) as e:
        read_idx(f)
    msg = str(e.value)
    assert "t10k-images.gz" in msg and "truncated" in msg
    assert "10x28x28 = 7840 bytes" in msg and "file has 1200" in msg


@pytest.mark.parametrize("compress", [False, True])
def test_idx_trailing_bytes(tmp_path, compress):
    f = write(tmp_path / "x", idx_bytes((4,), bytes(7)), compress)
    with pytest.raises(DataError, match="3 unexpected bytes"):
        read_idx(f)


@pytest.mark.parametrize("content", [b"", b"\x00", b"\x00\x00\x08",
                                     b"\x00\x00\x08\x02\x00\x00\x00\x01"])
def test_idx_truncated_header(tmp_path, content):
    with pytest.raises(DataError, match="truncated"):
        read_idx(write(tmp_path / "h", content))


def test_idx_wrong_magic(tmp_path):
    f = write(tmp_path / "m", b"\x01\x00\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(f)
    f = write(tmp_path / "text.gz", b"hello, this is not gzip at all")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(f)


def test_idx_unsupported_type(tmp_path):
    f = write(tmp_path / "t", idx_bytes((1,), b"\x00", code=0x0A))
    with pytest.raises(DataError, match="unsupported IDX type code 0x0a"):
        read_idx(f)


def test_idx_zero_dimensions(tmp_path):
    with pytest.raises(DataError, match="no dimensions"):
        read_idx(write(tmp_path / "z", b"\x00\x00\x08\x00"))
    with pytest.raises(DataError, match="dimension 1 is zero"):
        read_idx(write(tmp_path / "z2", idx_bytes((5, 0), b"")))


def test_idx_absurd_size(tmp_path):
    f = write(tmp_path / "big", idx_bytes((2**32 - 1, 2**32 - 1), b""), True)
    with pytest.raises(DataError, match="implausibly large"):
        read_idx(f)


def test_idx_corrupt_gzip(tmp_path):
    packed = bytearray(gzip.compress(idx_bytes((100,), bytes(range(100)))))
    f = write(tmp_path / "cut.gz", bytes(packed[:len(packed) // 2]))
    with pytest.raises(DataError, match="gzip"):
        read_idx(f)
    packed[-8] ^= 0xFF  # the CRC in the gzip trailer
    f = write(tmp_path / "crc.gz", bytes(packed))
    with pytest.raises(DataError, match="gzip"):
        read_idx(f)


def test_idx_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing-here")
    with pytest.raises(IsADirectoryError, match="directory"):
        read_idx(tmp_path)


# --- MNIST ------------------------------------------------------------------

def fake_mnist(directory, n_train=10003, n_test=3, labels=None, size=28):
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = idx_bytes((n, size, size), bytes(n * size * size))
        lab = labels if labels is not None and prefix == "train" else bytes(n)
        write(directory / ("%s-images-idx3-ubyte.gz" % prefix), images, True)
        write(directory / ("%s-labels-idx1-ubyte" % prefix),
              idx_bytes((len(lab),), lab))
    return directory


@pytest.fixture(scope="module")
def mnist():
    if not MNIST.is_dir():
        pytest.skip("MNIST is not in %s" % MNIST)
    return data.load_mnist(MNIST)


def test_mnist_counts(mnist):
    training, validation, test = mnist
    assert (len(training), len(validation), len(test)) == (50000, 10000, 10000)
    for d in mnist:
        assert d.n_inputs == 784 and d.divisor == 255.0
        assert len(d.labels) == len(d)
        assert min(d.labels) >= 0 and max(d.labels) <= 9


def test_mnist_first_examples(mnist):
    training, validation, test = mnist
    assert training.labels[0] == 5
    assert test.labels[0] == 7
    x = training.input(0)
    assert len(x) == 784 and min(x) == 0.0 and max(x) == 1.0
    assert all(0.0 <= v <= 1.0 for v in x)


def test_mnist_is_compact(mnist):
    training, validation, _ = mnist
    # Pixels are views of the file's bytes, labels are int32 arrays.
    assert isinstance(training.x_u8, memoryview)
    assert isinstance(training.x_u8.obj, bytearray)  # read once, not copied
    assert training.x_u8.obj is validation.x_u8.obj
    assert training.x is None
    assert isinstance(training.labels, array) and training.labels.typecode == "i"
    assert max(training.x_u8) == 255


def test_mnist_fake_split(tmp_path):
    labels = bytes(i % 10 for i in range(10003))
    d = fake_mnist(tmp_path / "m", labels=labels)
    training, validation, test = data.load_mnist(d)
    assert (len(training), len(validation), len(test)) == (3, 10000, 3)
    assert list(training.labels) == [0, 1, 2]
    assert validation.labels[0] == 3


def test_mnist_bad_label(tmp_path):
    labels = bytes(10002) + b"\x0a"
    d = fake_mnist(tmp_path / "m", labels=labels)
    with pytest.raises(DataError, match="label 10 is not a digit"):
        data.load_mnist(d)


def test_mnist_count_mismatch(tmp_path):
    d = fake_mnist(tmp_path / "m", labels=bytes(10002))
    with pytest.raises(DataError, match="10003 images but .* 10002 labels"):
        data.load_mnist(d)


def test_mnist_wrong_image_size(tmp_path):
    d = fake_mnist(tmp_path / "m", n_train=10001, size=27)
    with pytest.raises(DataError, match="28x28"):
        data.load_mnist(d)


def test_mnist_missing(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        data.load_mnist(tmp_path / "nowhere")
    assert isinstance(e.value, DataError)
    msg = str(e.value)
    assert "nowhere" in msg and "no such directory" in msg
    assert "train-images-idx3-ubyte" in msg and "pybp data mnist" in msg
    d = fake_mnist(tmp_path / "m")
    (d / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(data.MnistNotFoundError, match="missing t10k-labels"):
        data.find_mnist(d)


def test_find_mnist_order(tmp_path, monkeypatch):
    explicit = fake_mnist(tmp_path / "explicit", n_train=1, n_test=1)
    env = fake_mnist(tmp_path / "env", n_train=1, n_test=1)
    cwd = fake_mnist(tmp_path / "cwd" / "data" / "mnist", n_train=1, n_test=1)
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("PYBP_DATA", str(env))
    assert data.find_mnist(explicit) == str(explicit)
    assert data.find_mnist() == str(env)
    monkeypatch.delenv("PYBP_DATA")
    assert Path(data.find_mnist()) == cwd
    # A set PYBP_DATA is taken at its word, not silently skipped.
    monkeypatch.setenv("PYBP_DATA", str(tmp_path / "typo"))
    with pytest.raises(FileNotFoundError, match="typo"):
        data.find_mnist()


def test_find_mnist_source_checkout(tmp_path, monkeypatch):
    if not MNIST.is_dir():
        pytest.skip("MNIST is not in %s" % MNIST)
    checkout = Path(__file__).resolve().parents[1]
    if Path(data.__file__).resolve().parents[1] != checkout:
        pytest.skip("pybp is imported from an installed copy, not the checkout")
    monkeypatch.delenv("PYBP_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Path(data.find_mnist()).resolve() == MNIST.resolve()


# --- CSV --------------------------------------------------------------------

def csv_file(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_good(tmp_path):
    d = data.load_csv(csv_file(tmp_path, "1,2.5,0\n-3,4e-2,2\n\n5, 6 ,1\n"))
    assert (len(d), d.n_inputs) == (3, 2)
    assert list(d.x) == [1.0, 2.5, -3.0, 0.04, 5.0, 6.0]
    assert list(d.labels) == [0, 2, 1]
    assert d.x.format == "d"


def test_csv_header_detection(tmp_path):
    d = data.load_csv(csv_file(tmp_path, "\ufeffa,b,label\n1,2,1\n3,4,0\n"))
    assert len(d) == 2 and list(d.labels) == [1, 0]
    # A numeric header row is only skipped when asked.
    path = csv_file(tmp_path, "1,2,3\n4,5,1\n")
    assert len(data.load_csv(path)) == 2
    assert len(data.load_csv(path, has_header=True)) == 1
    with pytest.raises(DataError, match="line 1"):
        data.load_csv(csv_file(tmp_path, "x,y,z\n1,2,0\n"), has_header=False)


def test_csv_label_written_as_float(tmp_path):
    d = data.load_csv(csv_file(tmp_path, "1,2,3.0\n"))
    assert list(d.labels) == [3]


@pytest.mark.parametrize("text, problem", [
    ("1,2,0\n3,1\n", "line 2: expected 3 fields, found 2"),
    ("1,2,0\n3,oops,1\n", "line 2, field 2: 'oops' is not a number"),
    ("1,nan,0\n", "line 1, field 2: 'nan' is not a finite number"),
    ("1,2,0\n1,-inf,0\n", "line 2, field 2: '-inf' is not a finite number"),
    ("1,2,1.5\n", "line 1: label '1.5' is not an integer"),
    ("1,2,x\n", "label 'x' is not an integer class index"),  # a data row, not a header
    ("a,b,c\n1,2,x\n", "line 2: label 'x' is not an integer"),
    ("1,2,-1\n", "line 1: label -1 is negative"),
    ("1,2,inf\n", "label 'inf' is not an integer"),
    ("1,2,3\n", "label 3 is not below the number of classes, 3"),
    ("5\n", "line 1: a row needs at least one feature and a label"),
    ("", "no data rows"),
    ("\n\n", "no data rows"),
    ("a,b,label\n", "no data rows after the header row"),
])
def test_csv_errors(tmp_path, text, problem):
    path = csv_file(tmp_path, text, "bad.csv")
    with pytest.raises(DataError) as e:
        data.load_csv(path, n_classes=3)
    assert "bad.csv" in str(e.value)
    assert problem in str(e.value)


def test_csv_inputs_for_prediction(tmp_path):
    d = data.read_csv_inputs(csv_file(tmp_path, "f1,f2\n0.5,1\n2,3\n"))
    assert (len(d), d.n_inputs) == (2, 2)
    assert d.y is None and d.labels is None
    d = data.read_csv_inputs(csv_file(tmp_path, "0.5,1,2\n2,3,0\n"),
                             has_labels=True)
    assert d.n_inputs == 2 and list(d.labels) == [2, 0]


def test_csv_missing_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.load_csv(tmp_path / "none.csv")
    with pytest.raises(IsADirectoryError):
        data.load_csv(tmp_path)


def test_csv_values_are_exact(tmp_path):
    # Parsing goes through float(), which rounds correctly.
    d = data.load_csv(csv_file(tmp_path, "0.1,%r,0\n" % math.pi))
    assert list(d.x) == [0.1, math.pi]
