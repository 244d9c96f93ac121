"""A minimal PNG writer, and first-layer weights drawn as a grid of images.

    from pybp.png import png_bytes, weights_image, write_weights_png
    write_weights_png(net, "weights.png", scale=4)

``png_bytes`` encodes 8-bit grayscale images with the standard library only
(zlib for the compression and the CRCs, struct for the chunks).

``weights_image`` draws each first-layer neuron's incoming weights as a
square tile (784 inputs: 28 x 28, in input order, row by row), tiles in a
grid separated by 1-pixel black lines.  Each tile is scaled on its own
(the neurons' weight magnitudes differ a lot), in one of two ways:

* ``symmetric`` (the default): 0 is mid-gray (128), the neuron's largest
  |w| is white if positive and black if negative; the sign of a weight can
  be read off its shade, and compared across tiles;
* ``range``: the neuron's smallest weight is black, its largest white.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import TYPE_CHECKING, List, Sequence, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

__all__ = ["png_bytes", "write_png", "weights_image", "write_weights_png",
           "square_side", "NORMALISATIONS", "SEPARATOR"]

NORMALISATIONS = ("symmetric", "range")
SEPARATOR = 0  # the grid lines' gray level (black)

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    # The CRC covers the chunk type and data, not the length.
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(width: int, height: int, pixels: bytes) -> bytes:
    """An 8-bit grayscale PNG of `height` rows of `width` bytes each."""
    if width < 1 or height < 1:
        raise ValueError("a PNG needs at least one pixel, got %dx%d"
                         % (width, height))
    if len(pixels) != width * height:
        raise ValueError("%dx%d pixels need %d bytes, got %d"
                         % (width, height, width * height, len(pixels)))
    # Each scanline starts with its filter type; 0 (none) keeps this simple.
    raw = b"".join(b"\x00" + pixels[r * width:(r + 1) * width]
                   for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def write_png(path: str, width: int, height: int, pixels: bytes) -> None:
    """Write png_bytes(...) to `path` atomically."""
    from .files import save_file
    save_file(path, png_bytes(width, height, pixels))


def square_side(n: int) -> int:
    """The side of an n-pixel square image; ValueError if n is not a square."""
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError("the first layer has %d inputs, which is not a square "
                         "number, so its weights cannot be drawn as square "
                         "images (%d x %d = %d, %d x %d = %d)"
                         % (n, side, side, side * side, side + 1, side + 1,
                            (side + 1) ** 2))
    return side


def _levels(w: Sequence[float], normalise: str) -> List[int]:
    """A neuron's weights as gray levels 0 .. 255."""
    if normalise == "symmetric":
        m = max(abs(v) for v in w)
        if m == 0.0:
            return [128] * len(w)
        return [min(255, max(0, int(math.floor(127.5 + 127.5 * v / m + 0.5))))
                for v in w]
    lo, hi = min(w), max(w)
    if hi == lo:
        return [128] * len(w)
    return [min(255, max(0, int(math.floor(255.0 * (v - lo) / (hi - lo) + 0.5))))
            for v in w]


def grid_shape(count: int) -> Tuple[int, int]:
    """(columns, rows) of a near-square grid holding `count` tiles."""
    cols = math.ceil(math.sqrt(count))
    return cols, math.ceil(count / cols)


# The width `pybp show --png` aims at without --scale: a person can read it.
READABLE_WIDTH = 600


def readable_scale(net: "Network") -> int:
    """The smallest scale (1 to 8) that makes the weights image of `net` at
    least READABLE_WIDTH pixels wide."""
    side = square_side(net.sizes[0])
    cols, _ = grid_shape(net.sizes[1])
    need = math.ceil((READABLE_WIDTH - 1 - cols) / (cols * side))
    return max(1, min(8, need))


# Beyond these an image is no use to look at, and its bytes would not fit
# in memory (PNG itself allows 2**31 - 1 a side).
MAX_SIDE = 1 << 16
MAX_PIXELS = 1 << 28


def weights_image(net: "Network", *, scale: int = 1,
                  normalise: str = "symmetric",
                  columns: int = 0) -> Tuple[int, int, bytes]:
    """(width, height, pixels) of the grid of first-layer weight images.

    Each of the n_1 tiles is side*scale pixels square (side = sqrt(n_0));
    tiles are in neuron order, left to right then top to bottom, with a
    1-pixel SEPARATOR line between them and around the grid; grid cells
    past the last neuron stay SEPARATOR-coloured.  `columns` = 0 picks a
    near-square grid.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError("scale must be an integer >= 1, got %r" % (scale,))
    if normalise not in NORMALISATIONS:
        raise ValueError("normalise must be one of %s, got %r"
                         % (", ".join(NORMALISATIONS), normalise))
    n_in, n_out = net.sizes[0], net.sizes[1]
    side = square_side(n_in)
    if columns:
        cols, rows = columns, math.ceil(n_out / columns)
    else:
        cols, rows = grid_shape(n_out)
    tile = side * scale
    width = cols * (tile + 1) + 1
    height = rows * (tile + 1) + 1
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ValueError("the image would be %dx%d pixels, more than pybp draws "
                         "(at most %d a side and %d in all); choose a smaller "
                         "scale" % (width, height, MAX_SIDE, MAX_PIXELS))
    canvas = bytearray([SEPARATOR]) * (width * height)
    params = net.params
    for j in range(n_out):
        levels = _levels(params[j * n_in:(j + 1) * n_in], normalise)
        left = 1 + (j % cols) * (tile + 1)
        top = 1 + (j // cols) * (tile + 1)
        for r in range(side):
            # One image row, each pixel repeated `scale` times, then the
            # whole row repeated `scale` times.
            row = bytes(v for v in levels[r * side:(r + 1) * side]
                        for _ in range(scale))
            for dy in range(scale):
                at = (top + r * scale + dy) * width + left
                canvas[at:at + tile] = row
    return width, height, bytes(canvas)


def write_weights_png(net: "Network", path: str, *, scale: int = 1,
                      normalise: str = "symmetric", columns: int = 0) -> Tuple[int, int]:
    """Write weights_image(...) as a PNG file; returns (width, height)."""
    width, height, pixels = weights_image(net, scale=scale, normalise=normalise,
                                          columns=columns)
    write_png(path, width, height, pixels)
    return width, height
