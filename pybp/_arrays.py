"""Copying numbers into an ``array.array`` the same way on every Python.

``array(typecode, x)`` means different things for a buffer ``x``: CPython
converts a memoryview's or a numpy array's numbers one by one (only bytes
and bytearray are taken as raw bytes), while PyPy takes the raw bytes of
any buffer other than another array.  On PyPy, ``array("d", memoryview of
float32)`` is half as many made-up doubles and ``array("i", labels)`` a
quarter as many labels.  ``to_array`` gives CPython's meaning everywhere.
"""

import sys
from array import array
from typing import Any

__all__ = ["to_array", "native_code"]

# Formats that are the native element type of an array typecode: native
# ("d", "@d", "=d" for standard sizes in native order) and, on a
# little-endian machine, little-endian (numpy writes "<d").
_PREFIXES = ("", "@", "=") + (("<",) if sys.byteorder == "little" else (">",))


def native_code(mv: memoryview) -> str:
    """The typecode whose items are laid out as mv's, or "" when none is
    (another byte order, or a format array has no typecode for)."""
    fmt = mv.format
    code = fmt[-1:]
    if fmt[:-1] not in _PREFIXES or code not in "bBhHiIlLqQfd":
        return ""
    # Sizes: "=" and "<" are standard sizes, which an array's may not be.
    if array(code).itemsize != mv.itemsize:
        return ""
    return code


def to_array(typecode: str, values: Any) -> array:
    """A new array(typecode) of values' numbers, converted one by one as
    CPython's array(typecode, values) does (bytes and bytearray are raw
    bytes there, and here).

    A contiguous buffer of that very element type is copied as bytes,
    which is the same numbers, faster.
    """
    if isinstance(values, (list, tuple, array, bytes, bytearray)):
        return array(typecode, values)
    try:
        mv = memoryview(values)
    except TypeError:  # not a buffer: an iterable of numbers
        return array(typecode, values)
    if mv.ndim == 1 and mv.c_contiguous and native_code(mv) == typecode:
        out = array(typecode)
        out.frombytes(mv.cast("B"))
        return out
    # An iterator is converted item by item by every array(): PyPy's reads
    # a buffer's bytes only when given the buffer itself.
    return array(typecode, iter(values))
