"""Data files: reading MNIST's IDX files and simple CSV files into Datasets
(pybp.dataset holds the examples in memory), standard library only.

    training, validation, test = load_mnist()        # finds data/mnist
    data = load_csv("iris.csv")                      # features..., label

MNIST stays compact: pixels are slices of one ``bytes`` object (read by the
C core as uint8 with divisor 255.0) and labels are ``array('i')``, so the
70,000 images take about 55 MB rather than the gigabytes a list of Python
floats would.
"""

import codecs
import csv
import errno
import gzip
import math
import os
import re
import struct
import sys
import zlib
from array import array
from collections import namedtuple
from pathlib import Path

from pybp.dataset import Dataset
from pybp.files import named_os_error, read_upto

__all__ = ["DataError", "MnistNotFoundError", "IdxData", "read_idx", "is_idx",
           "read_idx_inputs", "load_mnist", "find_mnist", "mnist_user_dir",
           "load_csv", "read_csv_inputs"]


class DataError(ValueError):
    """A data file is malformed, or data sets do not fit together."""


class MnistNotFoundError(DataError, FileNotFoundError):
    """The MNIST files are not where pybp looked (also a FileNotFoundError).

    Its text has several lines: the places looked at, one a line, and what
    to do.  ``places`` lists those directories."""

    places: list = []


IdxData = namedtuple("IdxData", "dims data")
IdxData.__doc__ = """An IDX file's contents: `dims` (a tuple of sizes) and
`data`: a ``bytearray`` for unsigned bytes (type 0x08), otherwise an
``array`` in native byte order."""

# IDX type code -> (array typecode, item size in the file).
_IDX_TYPES = {0x08: ("B", 1), 0x09: ("b", 1), 0x0B: ("h", 2), 0x0C: ("i", 4),
              0x0D: ("f", 4), 0x0E: ("d", 8)}
_MAX_IDX_BYTES = 1 << 34  # 16 GiB: far above any IDX file anyone uses
_CHUNK = 1 << 20


def _describe(dims):
    return "x".join(str(d) for d in dims)


_read_up_to = read_upto  # chunk by chunk: a lying header costs no memory


def _count_rest(f):
    """How many bytes are left (read and discarded, chunk by chunk)."""
    n = 0
    while True:
        part = f.read(_CHUNK)
        if not part:
            return n
        n += len(part)


def _read_idx_stream(f, name, expect=None):
    head = _read_up_to(f, 4)
    if len(head) < 4:
        raise DataError("%s: truncated: %d bytes, an IDX header needs at "
                        "least 4" % (name, len(head)))
    if head[0] != 0 or head[1] != 0:
        raise DataError("%s: not an IDX file (it should start with two zero "
                        "bytes, found %02x %02x)" % (name, head[0], head[1]))
    code, ndim = head[2], head[3]
    if code not in _IDX_TYPES:
        raise DataError("%s: unsupported IDX type code 0x%02x (pybp reads "
                        "0x08 unsigned byte, 0x09 signed byte, 0x0b int16, "
                        "0x0c int32, 0x0d float32, 0x0e float64)"
                        % (name, code))
    if ndim == 0:
        raise DataError("%s: the IDX header gives no dimensions" % name)
    raw = _read_up_to(f, 4 * ndim)
    if len(raw) < 4 * ndim:
        raise DataError("%s: truncated header: %d dimensions need %d bytes of "
                        "sizes, file has %d" % (name, ndim, 4 * ndim, len(raw)))
    dims = struct.unpack(">%dI" % ndim, raw)
    if 0 in dims:
        raise DataError("%s: dimension %d is zero (%s)"
                        % (name, dims.index(0), _describe(dims)))
    typecode, itemsize = _IDX_TYPES[code]
    nbytes = itemsize
    for d in dims:
        nbytes *= d
    if nbytes > _MAX_IDX_BYTES:
        raise DataError("%s: the header's sizes %s (%d bytes) are implausibly "
                        "large" % (name, _describe(dims), nbytes))
    if expect is not None:
        # Before a byte of data is read or decompressed: a header that
        # declares gigabytes the caller has no use for costs nothing.
        problem = expect(dims, code)
        if problem:
            raise DataError("%s: %s" % (name, problem))
    data = _read_up_to(f, nbytes)
    what = "%s = %d bytes of data" % (_describe(dims), nbytes)
    if len(data) < nbytes:
        raise DataError("%s: truncated: header says %s, file has %d"
                        % (name, what, len(data)))
    extra = _count_rest(f)
    if extra:
        raise DataError("%s: %d unexpected bytes after the data (header says "
                        "%s)" % (name, extra, what))
    if typecode == "B":
        return IdxData(dims, data)  # the bytearray read, not a copy
    values = array(typecode)
    if values.itemsize != itemsize:  # pragma: no cover - exotic platforms
        raise DataError("%s: IDX type 0x%02x is not supported on this platform"
                        % (name, code))
    values.frombytes(data)
    if sys.byteorder == "little" and itemsize > 1:
        values.byteswap()  # IDX numbers are big-endian
    return IdxData(dims, values)


def read_idx(path, expect=None):
    """Read an IDX file, plain or gzip-compressed (recognised by content).

    Returns ``IdxData(dims, data)``.  Raises DataError naming the file and
    the problem if the header or the length is wrong, FileNotFoundError if
    there is no such file.  expect(dims, type_code), if given, sees the
    header before any data is read and returns why it does not fit the
    caller (a string, raised as DataError) or None.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected an "
                                "IDX file", name)
    with open(name, "rb") as raw:
        try:
            magic = raw.read(2)
            raw.seek(0)
            if magic != b"\x1f\x8b":
                return _read_idx_stream(raw, name, expect)
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                    return _read_idx_stream(f, name, expect)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise DataError("%s: corrupt gzip data (%s)"
                                % (name, exc)) from None
        except OSError as exc:  # a failed read names no file
            raise named_os_error(exc, name) from None


def is_idx(path):
    """Whether a file looks like IDX: its first two bytes are zero, after
    gunzipping when it is gzip-compressed.

    A file that starts like gzip but cannot be unpacked counts as IDX, so
    that read_idx reports the damage.  Raises OSError (e.g.
    FileNotFoundError) when the file cannot be opened.
    """
    with open(path, "rb") as f:
        head = f.read(2)
        if head == b"\x1f\x8b":
            f.seek(0)
            try:
                with gzip.GzipFile(fileobj=f) as g:
                    head = g.read(2)
            except (OSError, EOFError):
                return True
    return head == b"\x00\x00"


def read_idx_inputs(path, n_inputs):
    """A Dataset of inputs only (for prediction) from an IDX file of images.

    The file must hold unsigned bytes (type 0x08), read as byte / 255: a
    list of examples of n_inputs values each (dims count x ..., whose
    product after the first is n_inputs, e.g. 10000x28x28 for 784), or a
    single example without a count dimension (e.g. 28x28).  Anything else
    raises DataError.
    """
    def images(dims, code):
        # Checked on the header, before the data is read.
        if code != 0x08:
            return "only unsigned-byte (type 0x08) IDX images are supported"
        per = 1
        for d in dims[1:]:
            per *= d
        total = per * dims[0]
        if not ((len(dims) > 1 and per == n_inputs) or total == n_inputs):
            return (f"holds {_describe(dims)} values, which is not a list of "
                    f"examples of the model's {n_inputs} inputs")
        return None
    idx = read_idx(path, expect=images)
    return Dataset(idx.data, n_inputs=n_inputs, divisor=255.0)


# --- MNIST ------------------------------------------------------------------

_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_VALIDATION_SIZE = 10000


def _user_data_dir(platform, environ, home):
    """The per-user data directory of pybp by the platform's convention."""
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    elif platform == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        # The XDG base directory rules: a relative $XDG_DATA_HOME is ignored.
        base = environ.get("XDG_DATA_HOME", "")
        if not os.path.isabs(base):
            base = os.path.join(home, ".local", "share")
    return os.path.join(base, "pybp")


def mnist_user_dir():
    r"""Where MNIST goes for this user when no directory is named:
    $XDG_DATA_HOME/pybp/mnist or ~/.local/share/pybp/mnist on Linux and
    other Unix systems, ~/Library/Application Support/pybp/mnist on macOS,
    %LOCALAPPDATA%\pybp\mnist on Windows.  `pybp data mnist` downloads
    there and find_mnist looks there last."""
    return os.path.join(_user_data_dir(sys.platform, os.environ,
                                       os.path.expanduser("~")), "mnist")


def _checkout_mnist():
    """data/mnist of the source checkout pybp is imported from, or None when
    pybp is an installed copy (its parent directory is no checkout)."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "csrc").is_dir():
        return str(root / "data" / "mnist")
    return None


def _default_places():
    """Where find_mnist looks when neither a directory nor PYBP_DATA is
    given, in order, each place once."""
    places = [os.path.join(os.getcwd(), "data", "mnist"), _checkout_mnist(),
              mnist_user_dir()]
    seen, unique = set(), []
    for place in places:
        if place is None:
            continue
        key = os.path.normcase(os.path.realpath(place))
        if key not in seen:
            seen.add(key)
            unique.append(place)
    return unique


def _mnist_help(places, origin):
    """The text of MnistNotFoundError: a line per place looked at, then what
    to do.  origin: "explicit", "PYBP_DATA" or "default"."""
    lines = ["MNIST not found; pybp looked in:"]
    for place in places:
        lines.append("  %s%s: %s" % (place, " (PYBP_DATA)" if origin == "PYBP_DATA"
                                     else "", _what_is_missing(place)))
    if origin == "PYBP_DATA":
        lines.append("PYBP_DATA is set, so pybp looks nowhere else: correct "
                     "it, unset it, or pass --data DIR.")
        lines.append("To download MNIST there: pybp data mnist")
    elif origin == "explicit":
        lines.append("To download MNIST there: pybp data mnist %s"
                     % _shell_word(places[0]))
    else:
        lines.append("To download MNIST (into %s): pybp data mnist"
                     % mnist_user_dir())
        lines.append("Or give the directory holding it: --data DIR, or set "
                     "PYBP_DATA.")
    lines.append("MNIST is four files, each plain or .gz: "
                 + ", ".join(_MNIST_FILES) + ".")
    return "\n".join(lines)


def _shell_word(text):
    """text as one word of a shell command line (quoted when it has to be)."""
    if re.fullmatch(r"[\w@%+=:,./-]+", text, re.ASCII):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _mnist_path(directory, base):
    """The file for one of the four names, plain or .gz, or None."""
    for candidate in (base, base + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _what_is_missing(directory):
    if not os.path.exists(directory):
        return "no such directory"
    if not os.path.isdir(directory):
        return "not a directory"
    missing = [b for b in _MNIST_FILES if _mnist_path(directory, b) is None]
    return "missing " + ", ".join(missing)


def find_mnist(explicit=None):
    """The directory holding MNIST's four files.

    Looks at `explicit` if given, else $PYBP_DATA if set (either one is taken
    at its word: no fallback, so a typo is reported rather than papered
    over), else, in order, data/mnist in the current directory, data/mnist
    of the source checkout pybp is imported from, and the per-user
    directory `pybp data mnist` downloads into (mnist_user_dir()).

    Raises MnistNotFoundError, whose text has one line per place looked at
    and says how to get MNIST; its ``places`` are those directories.
    """
    if explicit is not None:
        places, origin = [os.fspath(explicit)], "explicit"
    elif os.environ.get("PYBP_DATA"):
        places, origin = [os.environ["PYBP_DATA"]], "PYBP_DATA"
    else:
        places, origin = _default_places(), "default"
    for place in places:
        if all(_mnist_path(place, b) for b in _MNIST_FILES):
            return place
    error = MnistNotFoundError(_mnist_help(places, origin))
    error.places = places
    raise error


def _mnist_pair(directory, images_base, labels_base):
    images_path = _mnist_path(directory, images_base)
    labels_path = _mnist_path(directory, labels_base)

    def label_list(dims, code):
        if len(dims) != 1 or code != 0x08:
            return "expected a list of unsigned-byte labels, found %s" % _describe(dims)
        return None
    labels = read_idx(labels_path, expect=label_list)

    def images_of_labels(dims, code):
        # The labels file says how many images there are: a header that
        # claims more is refused before its data is decompressed.
        if len(dims) != 3 or dims[1:] != (28, 28) or code != 0x08:
            return "expected unsigned-byte images of 28x28, found %s" % _describe(dims)
        if dims[0] != labels.dims[0]:
            return "%d images but %s has %d labels" % (dims[0], labels_path,
                                                       labels.dims[0])
        return None
    images = read_idx(images_path, expect=images_of_labels)
    if max(labels.data) > 9:
        raise DataError("%s: label %d is not a digit 0..9"
                        % (labels_path, max(labels.data)))
    return images.data, labels.data, images.dims[0]


def load_mnist(directory=None):
    """MNIST as (training, validation, test) Datasets.

    training is the first 50,000 training images, validation the last
    10,000, test the 10,000 t10k images.  Inputs are the pixel bytes with
    divisor 255.0; labels are the digits.  `directory` is resolved by
    find_mnist.
    """
    directory = find_mnist(directory)
    pixels, labels, n = _mnist_pair(directory, *_MNIST_FILES[:2])
    if n <= _VALIDATION_SIZE:
        raise DataError("%s: only %d training images; the last %d are the "
                        "validation set" % (_mnist_path(directory, _MNIST_FILES[0]),
                                            n, _VALIDATION_SIZE))
    test_pixels, test_labels, _ = _mnist_pair(directory, *_MNIST_FILES[2:])

    def dataset(pix, lab):
        # memoryview slices share the file's bytes; a uint8 buffer of
        # labels is one class per byte.
        return Dataset(pix, labels=lab, n_inputs=784, divisor=255.0)

    cut = n - _VALIDATION_SIZE
    pix, lab = memoryview(pixels), memoryview(labels)
    return (dataset(pix[:cut * 784], lab[:cut]),
            dataset(pix[cut * 784:], lab[cut:]),
            dataset(memoryview(test_pixels), memoryview(test_labels)))


# --- CSV --------------------------------------------------------------------

# Numbers as a CSV file writes them: ASCII decimal digits, an optional
# fraction and exponent (and nan/inf, refused later as not finite).
# float() alone would also take "1_0", fullwidth or Arabic-Indic digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                     r"|[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
# A class label: digits, or digits with a zero fraction ("3.0").
_LABEL = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


def _number(text):
    return float(text) if _NUMBER.fullmatch(text) else None


def _read_rows(path, has_header, skipped):
    """(line number, fields) of each non-blank data row.

    Appends the header row's line number to `skipped` if one is skipped.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected a CSV "
                                "file", name)
    with open(name, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        first = True
        try:
            for fields in reader:
                fields = [x.strip() for x in fields]
                if not any(fields):
                    continue
                if first:
                    first = False
                    header = has_header
                    if header is None:
                        # A header names its columns: no field of it is a
                        # number.  A data row with one bad field is an error.
                        header = all(_number(x) is None for x in fields)
                    if header:
                        skipped.append(reader.line_num)
                        continue
                yield reader.line_num, fields
        except csv.Error as exc:
            raise DataError("%s, line %d: %s" % (name, reader.line_num, exc)) \
                from None
        except UnicodeDecodeError:
            # The text layer decodes ahead of the csv reader: find the line.
            raise DataError("%s, line %d: not UTF-8 text (%s)"
                            % ((name,) + _undecodable(name))) from None
        except OSError as exc:  # a failed read names no file
            raise named_os_error(exc, name) from None


def _undecodable(name):
    """(line, what) of a file's first bytes that are not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(name, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the few bytes held back from the last chunk
                # (never a newline) followed by this chunk.
                line += exc.object.count(b"\n", 0, exc.start)
                return line, "byte 0x%02x: %s" % (exc.object[exc.start],
                                                  exc.reason)
            if not chunk:  # pragma: no cover - the text layer failed first
                return line, "undecodable bytes"
            line += chunk.count(b"\n")


def _parse_csv(path, has_header, with_labels, n_classes):
    name = os.fspath(path)
    inputs, labels = array("d"), array("i")
    width = None
    skipped: list = []
    for line, fields in _read_rows(path, has_header, skipped):
        where = "%s, line %d" % (name, line)
        if width is None:
            width = len(fields)
            if with_labels and width < 2:
                raise DataError("%s: a row needs at least one feature and a "
                                "label, found %d field" % (where, width))
        elif len(fields) != width:
            raise DataError("%s: expected %d fields, found %d"
                            % (where, width, len(fields)))
        features = fields[:-1] if with_labels else fields
        for column, text in enumerate(features, 1):
            value = _number(text)
            if value is None:
                raise DataError("%s, field %d: %r is not a number"
                                % (where, column, text))
            if not math.isfinite(value):
                raise DataError("%s, field %d: %r is not a finite number"
                                % (where, column, text))
            inputs.append(value)
        if with_labels:
            labels.append(_label(fields[-1], where, n_classes))
    if width is None:
        raise DataError("%s: no data rows%s" % (
            name, " after the header row" if skipped else ""))
    n_inputs = width - 1 if with_labels else width
    if with_labels:
        return Dataset(inputs, labels=labels, n_inputs=n_inputs)
    return Dataset(inputs, n_inputs=n_inputs)


def _label(text, where, n_classes):
    # "3" and "3.0" are both class 3 (spreadsheets write either); "1e9" is
    # not a class anyone numbers.
    if not _LABEL.fullmatch(text):
        raise DataError("%s: label %r is not an integer class index"
                        % (where, text))
    value = int(text.split(".")[0])
    if value < 0:
        raise DataError("%s: label %d is negative" % (where, value))
    if n_classes is not None and value >= n_classes:
        raise DataError("%s: label %d is not below the number of classes, %d"
                        % (where, value, n_classes))
    if value >= 2**31:
        raise DataError("%s: label %d is too large" % (where, value))
    return value


def load_csv(path, n_classes=None, has_header=None):
    """A labelled Dataset from a CSV file of rows "feature,...,feature,label".

    The label is a class index >= 0 (below n_classes when given).  A first
    row in which no field is a number is taken as a header when has_header is
    None (a first row with numbers and one bad field is an error).
    Errors raise DataError naming the file, the line and the problem.
    """
    return _parse_csv(path, has_header, True, n_classes)


def read_csv_inputs(path, has_header=None, has_labels=False):
    """A Dataset of inputs only, from rows of features (for prediction).

    With has_labels=True the last column is read as class labels, as in
    load_csv, and kept in the Dataset.
    """
    return _parse_csv(path, has_header, has_labels, None)
