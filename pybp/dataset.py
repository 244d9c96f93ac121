"""Dataset: examples held in memory, compactly, in the form the C core reads
directly (pybp.data reads them from files).

Inputs are one flat buffer: float64 or float32 values, or uint8 bytes with
a divisor (the input value is ``byte / divisor``, e.g. pixels / 255.0).
Targets are one flat float64 buffer of n_outputs values per example, or int32 class
labels standing for one-hot vectors.  Buffers that already have the right
format (``array('d')``, ``bytes``, numpy arrays, ...) are kept as they are,
not copied; lists are packed once.
"""

import math
from array import array
from typing import Any

from ._arrays import native_code, to_array

__all__ = ["Dataset", "as_dataset"]


FLOAT32_MAX = 3.4028234663852886e38
_INT_FORMATS = set("bBhHiIlLqQ")


def _finite_sum(values):
    """True if the values are all finite (a cheap test first: their sum)."""
    return math.isfinite(sum(values)) or all(map(math.isfinite, values))


def _is_buffer(obj):
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def _buffer_kind(mv):
    """"d" or "f" for a float64 or float32 buffer, else None."""
    code = native_code(mv)
    return code if code in ("d", "f") else None


def _float_view(obj, what, kinds="d"):
    """A read-only 1-D memoryview of obj's numbers: a buffer of one of
    ``kinds`` ("d" float64, "f" float32) is kept as it is, a float32 buffer
    where only float64 is taken is widened (exactly), a list is packed."""
    if _is_buffer(obj):
        mv = memoryview(obj)
        kind = _buffer_kind(mv)
        if kind is None:
            raise TypeError("%s: expected a float64 or float32 buffer, got "
                            "format %r" % (what, mv.format))
        if not mv.c_contiguous:
            raise ValueError("%s: buffer is not contiguous" % what)
        flat = mv.cast("B").cast(kind)
        if kind not in kinds:
            return memoryview(to_array("d", flat))
        return flat
    try:
        packed = array("d", obj)
    except TypeError:
        raise TypeError("%s: expected numbers, got %r" % (what, obj)) from None
    return memoryview(packed)


def _check_finite(mv, what):
    if not all(map(math.isfinite, mv)):
        for i, v in enumerate(mv):
            if not math.isfinite(v):
                raise ValueError("%s: value %d is %r (not finite)" % (what, i, v))


def _rows(obj, what):
    """Flatten a sequence of equal-length rows of numbers; returns (flat, width)."""
    flat = array("d")
    width = None
    for i, row in enumerate(obj):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise TypeError("%s: row %d is not a sequence of numbers" % (what, i))
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise ValueError("%s: row %d has %d values, row 0 has %d"
                             % (what, i, len(row), width))
        try:
            flat.extend(to_array("d", row))
        except TypeError:
            raise TypeError("%s: row %d holds something that is not a number"
                            % (what, i)) from None
    return flat, (width or 0)


class Dataset:
    """A set of examples: inputs, and optionally targets or labels.

    Dataset(inputs, targets=None, *, labels=None, n_inputs=None, divisor=None)

    inputs
        a list of rows (each a sequence of numbers), or one flat buffer of
        count * n_inputs values (then ``n_inputs`` is required): float64 or
        float32, or uint8 bytes when ``divisor`` is given.
    targets
        a list of rows, or a flat float64 buffer of count * n_outputs values
        (float32 is taken too, and widened to float64).
    labels
        instead of targets: one class index per example (one-hot targets).
    """

    __slots__ = ("count", "n_inputs", "x", "x_f32", "x_u8", "divisor", "y",
                 "n_outputs", "labels", "_table", "_whole", "_sealed")

    # Memoryviews or None: exactly one of x, x_f32 and x_u8 holds the inputs
    # (x_u8 with its divisor), and y or labels the targets, if any.
    x: Any
    x_f32: Any
    x_u8: Any
    divisor: Any
    y: Any
    n_outputs: Any
    labels: Any

    def __setattr__(self, name, value):
        # Read-only once made: the C core reads count * n_inputs values from
        # the buffers, so a count changed behind their back would read past
        # their ends.
        if getattr(self, "_sealed", False):
            raise AttributeError("a Dataset is read-only; make a new one "
                                 "(or a smaller one with subset())")
        object.__setattr__(self, name, value)

    def _seal(self):
        object.__setattr__(self, "_sealed", True)
        return self

    def __init__(self, inputs, targets=None, *, labels=None, n_inputs=None,
                 divisor=None):
        if targets is not None and labels is not None:
            raise ValueError("give targets or labels, not both")
        self.x = self.x_f32 = self.x_u8 = self.y = self.labels = None
        self.divisor = None
        self._table = self._whole = None
        if divisor is not None:
            self._init_u8(inputs, n_inputs, divisor)
        elif n_inputs is not None or _is_buffer(inputs):
            if n_inputs is None:
                raise ValueError("a flat input buffer needs n_inputs")
            x = _float_view(inputs, "inputs", kinds="df")
            if x.format == "f":
                self.x_f32 = x
            else:
                self.x = x
            self._set_count(len(x), n_inputs)
        else:
            if isinstance(inputs, (str, bytes)):
                raise TypeError("inputs: expected rows of numbers")
            if len(inputs) == 0:
                raise ValueError("inputs: no examples")
            flat, width = _rows(inputs, "inputs")
            self.x = memoryview(flat)
            self._set_count(len(flat), width, rows=len(inputs))
        if self.x is not None or self.x_f32 is not None:
            _check_finite(self._floats(), "inputs")
        self.n_outputs = None
        if targets is not None:
            self._init_targets(targets)
        elif labels is not None:
            self._init_labels(labels)
        self._seal()

    def _set_count(self, length, width, rows=None):
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError("inputs: need at least one value per example")
        if length % width:
            raise ValueError("inputs: %d values is not a whole number of "
                             "examples of %d" % (length, width))
        self.n_inputs = width
        self.count = length // width if rows is None else rows
        if self.count < 1:
            raise ValueError("inputs: no examples")

    def _init_u8(self, inputs, n_inputs, divisor):
        if isinstance(divisor, bool) or not isinstance(divisor, (int, float)) \
                or not math.isfinite(divisor) or divisor <= 0:
            raise ValueError("divisor must be a finite number > 0, got %r"
                             % (divisor,))
        if not 255.0 / divisor <= FLOAT32_MAX:
            raise ValueError("divisor %r is too small: 255 / divisor must be "
                             "within float32's range (at most %g)"
                             % (divisor, FLOAT32_MAX))
        if n_inputs is None:
            raise ValueError("uint8 inputs need n_inputs")
        if not _is_buffer(inputs):
            raise TypeError("with a divisor, inputs must be a uint8 buffer "
                            "(bytes, bytearray, array('B'), ...)")
        mv = memoryview(inputs)
        if mv.itemsize != 1 or mv.format not in ("B", "c", "<B", "=B"):
            raise TypeError("with a divisor, inputs must hold uint8, got "
                            "format %r" % mv.format)
        if not mv.c_contiguous:
            raise ValueError("inputs: buffer is not contiguous")
        self.x_u8 = mv.cast("B")
        self.divisor = float(divisor)
        self._set_count(len(self.x_u8), n_inputs)

    def _init_targets(self, targets):
        if _is_buffer(targets):
            y = _float_view(targets, "targets")
            if len(y) % self.count:
                raise ValueError("targets: %d values for %d examples"
                                 % (len(y), self.count))
            width = len(y) // self.count
        else:
            if isinstance(targets, (str, bytes)):
                raise TypeError("targets: expected rows of numbers")
            if len(targets) != self.count:
                raise ValueError("targets: %d rows for %d examples"
                                 % (len(targets), self.count))
            flat, width = _rows(targets, "targets")
            y = memoryview(flat)
        if width < 1:
            raise ValueError("targets: need at least one value per example")
        _check_finite(y, "targets")
        self.y = y
        self.n_outputs = width

    def _init_labels(self, labels):
        if isinstance(labels, (str, bool)):
            raise TypeError("labels: expected integers (class indices)")
        if _is_buffer(labels):
            # Element by element: array("i", bytes) would reinterpret the
            # raw bytes as int32, and a uint8 buffer is one class per byte.
            mv = memoryview(labels)
            if mv.format.lstrip("<=@") not in _INT_FORMATS:
                raise TypeError("labels: a buffer of integers is needed, got "
                                "format %r" % mv.format)
            if mv.ndim != 1:
                mv = mv.cast("B").cast(mv.format.lstrip("<=@"))  # type: ignore[call-overload]
            labels = mv.tolist()
        elif isinstance(labels, (list, tuple)) and any(type(v) is bool for v in labels):
            raise TypeError("labels: booleans are not class indices")
        try:
            packed = array("i", labels)
        except OverflowError:
            raise ValueError("labels: a label is out of range (class indices "
                             "go from 0 to 2**31-1)") from None
        except TypeError:
            raise TypeError("labels: expected integers (class indices)") from None
        if len(packed) != self.count:
            raise ValueError("labels: %d labels for %d examples"
                             % (len(packed), self.count))
        if packed.itemsize != 4:  # pragma: no cover - exotic platforms
            raise RuntimeError("array('i') is not 32-bit here")
        for i, v in enumerate(packed):
            if v < 0:
                raise ValueError("labels: label %d is negative (%d)" % (i, v))
        self.labels = packed

    def __len__(self):
        return self.count

    def _whole_buffers(self):
        """(x, x_f32, x_u8, y) as the uncut views of the Dataset these came
        from by subset() or inputs_as(), for the C core: each one's first
        items are the ones in this Dataset, and C reads only those.

        On PyPy, C cannot be given the memory of a slice of a cast
        memoryview: cffi's from_buffer copies it, item by item, on every call.
        The views a Dataset is made with are never such slices; its subsets'
        are."""
        if self._whole is not None:
            return self._whole
        return self.x, self.x_f32, self.x_u8, self.y

    def _floats(self):
        """The float inputs, float64 or float32 (None for uint8)."""
        return self.x if self.x is not None else self.x_f32

    @property
    def input_type(self):
        """How the inputs are held: "float64", "float32" or "uint8"."""
        return ("uint8" if self.x_u8 is not None else
                "float32" if self.x_f32 is not None else "float64")

    def inputs_as(self, kind):
        """This dataset with float inputs in `kind` ("float64"/"float32").

        The C core reads inputs of its own element type in place; a float
        dataset of the other type gets a converted copy of its inputs (exact
        from float32 to float64, rounded the other way).  uint8 inputs, and
        inputs already of that type, are shared as they are.
        """
        if self.x_u8 is not None or kind == self.input_type:
            return self
        if kind == "float32":
            x, x_f32 = None, memoryview(to_array("f", self.x))
            if not _finite_sum(x_f32):
                bad = next(i for i, v in enumerate(x_f32) if not math.isfinite(v))
                raise ValueError("inputs: value %r (example %d) is beyond float32's "
                                 "range (about 3.4e38)" % (self.x[bad], bad // self.n_inputs))
        else:
            x, x_f32 = memoryview(to_array("d", self.x_f32)), None
        return self._copy_with(self.count, x=x, x_f32=x_f32)

    def __repr__(self):
        kind = ("uint8/%g" % self.divisor if self.x_u8 is not None
                else self.input_type)
        tgt = ("labels" if self.labels is not None else
               "targets[%d]" % self.n_outputs if self.y is not None else "none")
        return "Dataset(count=%d, n_inputs=%d, inputs=%s, targets=%s)" % (
            self.count, self.n_inputs, kind, tgt)

    # --- per-example access, used by the pure-Python kernels ---------------

    def input(self, i):
        """Example i's input vector (x = byte / divisor for uint8 inputs)."""
        n = self.n_inputs
        x = self._floats()
        if x is not None:
            return x[i * n:(i + 1) * n].tolist()
        table = self._table
        if table is None:
            d = self.divisor
            table = [b / d for b in range(256)]
            object.__setattr__(self, "_table", table)  # a cache, not a change
        return [table[b] for b in self.x_u8[i * n:(i + 1) * n]]

    def target(self, i, n_outputs):
        """Example i's target vector (one-hot for labels)."""
        if self.y is not None:
            return self.y[i * n_outputs:(i + 1) * n_outputs].tolist()
        if self.labels is not None:
            v = [0.0] * n_outputs
            v[self.labels[i]] = 1.0
            return v
        raise ValueError("this dataset has no targets")

    def target_class(self, i):
        """Example i's class: its label, or the first largest target entry."""
        if self.labels is not None:
            return self.labels[i]
        if self.y is None:
            raise ValueError("this dataset has no targets")
        n = self.n_outputs
        row = self.y[i * n:(i + 1) * n]
        best = 0
        for j in range(1, n):
            if row[j] > row[best]:
                best = j
        return best

    def subset(self, count):
        """The first `count` examples, sharing memory with this dataset."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("subset size must be a positive integer")
        return self._copy_with(min(count, self.count))

    def _copy_with(self, count, **inputs):
        """The first `count` examples, sharing every buffer (or taking the
        inputs given as x=..., x_f32=...)."""
        new = object.__new__(Dataset)
        new.count = count
        new.n_inputs = self.n_inputs
        n = self.n_inputs
        x = inputs.get("x", self.x)
        x_f32 = inputs.get("x_f32", self.x_f32)
        new.x = None if x is None else x[:count * n]
        new.x_f32 = None if x_f32 is None else x_f32[:count * n]
        new.x_u8 = None if self.x_u8 is None else self.x_u8[:count * n]
        new.divisor = self.divisor
        new.n_outputs = self.n_outputs
        new.y = None if self.y is None else self.y[:count * self.n_outputs]
        new.labels = None if self.labels is None else self.labels[:count]
        new._table = self._table
        whole = self._whole_buffers()
        new._whole = (x if "x" in inputs else whole[0],
                      x_f32 if "x_f32" in inputs else whole[1], whole[2], whole[3])
        return new._seal()


def as_dataset(data, what="data"):
    """Accept a Dataset, a pair (xs, ys) of row lists, or a list of (x, y) pairs."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        xs, ys = data
        return _from_rows(xs, ys, what)
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("%s: no examples" % what)
        first = data[0]
        if not (isinstance(first, (list, tuple)) and len(first) == 2
                and hasattr(first[0], "__len__")
                and not isinstance(first[0], (str, bytes))):
            raise TypeError("%s: expected a Dataset, (xs, ys) or a list of "
                            "(x, y) pairs" % what)
        try:
            xs = [pair[0] for pair in data]
            ys = [pair[1] for pair in data]
        except (TypeError, IndexError, KeyError):
            raise TypeError("%s: expected a Dataset, (xs, ys) or a list of "
                            "(x, y) pairs" % what) from None
        return _from_rows(xs, ys, what)
    raise TypeError("%s: expected a Dataset, (xs, ys) or a list of (x, y) "
                    "pairs, got %s" % (what, type(data).__name__))


def _from_rows(xs, ys, what):
    if len(xs) == 0:
        raise ValueError("%s: no examples" % what)
    if len(ys) and all(isinstance(v, int) and not isinstance(v, bool) for v in ys):
        return Dataset(xs, labels=ys)
    return Dataset(xs, ys)
