"""The PNG writer, first-layer weight images, and `pybp show`."""

import json
import struct
import zlib
from array import array

import pytest

import pybp
from pybp import png

from helpers import run


def decode_png(data):
    """(width, height, pixels) of an 8-bit grayscale PNG, checking every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, comp, filt, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1])
    assert (depth, colour, comp, filt, interlace) == (8, 0, 0, 0, 0)
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    assert len(raw) == height * (width + 1)
    rows = []
    for r in range(height):
        line = raw[r * (width + 1):(r + 1) * (width + 1)]
        assert line[0] == 0  # the writer uses filter type 0 only
        rows.append(line[1:])
    return width, height, b"".join(rows)


def test_png_round_trip():
    pixels = bytes(range(0, 240, 20))
    w, h, back = decode_png(png.png_bytes(4, 3, pixels))
    assert (w, h, back) == (4, 3, pixels)
    with pytest.raises(ValueError):
        png.png_bytes(4, 3, pixels[:-1])
    with pytest.raises(ValueError):
        png.png_bytes(0, 3, b"")


def test_png_readable_by_pil_if_installed(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pixels = bytes((7 * i) % 256 for i in range(5 * 9))
    png.write_png(str(tmp_path / "p.png"), 5, 9, pixels)
    with Image.open(str(tmp_path / "p.png")) as im:
        assert im.size == (5, 9) and im.mode == "L"
        assert im.tobytes() == pixels


def hand_made():
    """[4, 3, 2]: three first-layer neurons of 2x2 weights."""
    net = pybp.Network([4, 3, 2], seed=0, backend="python")
    w = [1.0, -1.0, 0.0, 0.5,       # neuron 0
         -2.0, -4.0, 4.0, 2.0,      # neuron 1
         0.0, 0.0, 0.0, 0.0]        # neuron 2: all zero
    net.params[:12] = array("d", w)
    return net


def tile(pixels, width, col, row, side):
    """The side x side pixels of grid cell (col, row)."""
    left, top = 1 + col * (side + 1), 1 + row * (side + 1)
    return [pixels[(top + r) * width + left:(top + r) * width + left + side]
            for r in range(side)]


def test_weights_symmetric():
    w, h, pixels = png.weights_image(hand_made())
    # 3 tiles -> a 2x2 grid of 2x2 tiles with 1-px separators all round
    assert (w, h) == (7, 7)
    assert tile(pixels, w, 0, 0, 2) == [bytes([255, 0]), bytes([128, 191])]
    assert tile(pixels, w, 1, 0, 2) == [bytes([64, 0]), bytes([255, 191])]
    assert tile(pixels, w, 0, 1, 2) == [bytes([128, 128])] * 2
    assert tile(pixels, w, 1, 1, 2) == [bytes([png.SEPARATOR] * 2)] * 2
    for r in (0, 3, 6):  # separator rows and columns
        assert pixels[r * w:(r + 1) * w] == bytes([png.SEPARATOR] * w)
        assert all(pixels[y * w + r] == png.SEPARATOR for y in range(h))


def test_weights_range_and_scale():
    w, h, pixels = png.weights_image(hand_made(), normalise="range", scale=3)
    assert (w, h) == (2 * (6 + 1) + 1, 2 * (6 + 1) + 1)
    t = tile(pixels, w, 0, 0, 6)
    # [1, -1, 0, 0.5] over [-1, 1]: 255, 0, 128, 191, each as 3x3 pixels
    assert t[:3] == [bytes([255] * 3 + [0] * 3)] * 3
    assert t[3:] == [bytes([128] * 3 + [191] * 3)] * 3
    t = tile(pixels, w, 1, 0, 6)  # [-2, -4, 4, 2] over [-4, 4]
    assert t[0] == bytes([64] * 3 + [0] * 3)
    assert t[5] == bytes([255] * 3 + [191] * 3)


def test_non_square_inputs_rejected():
    net = pybp.Network([5, 3, 2], seed=0, backend="python")
    with pytest.raises(ValueError, match="5 inputs, which is not a square"):
        png.weights_image(net)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            png.weights_image(hand_made(), scale=bad)
    with pytest.raises(ValueError):
        png.weights_image(hand_made(), normalise="log")


def test_mnist_sized_grid():
    net = pybp.Network([784, 30, 10], seed=0, backend="python")
    w, h, pixels = png.weights_image(net, scale=2)
    # 30 neurons: 6 columns, 5 rows of 56x56 tiles
    assert (w, h) == (6 * 57 + 1, 5 * 57 + 1)
    assert len(pixels) == w * h


# --- pybp show ------------------------------------------------------------------


def test_show_png(tmp_path):
    model = tmp_path / "m.pybp"
    hand_made().save(model)
    out_png = tmp_path / "w.png"
    status, out, err = run(["show", model, "--png", out_png, "--scale", 2])
    assert status == 0, err
    assert "3 first-layer neurons" in out and "11x11" in out
    w, h, pixels = decode_png(out_png.read_bytes())
    assert (w, h, pixels) == png.weights_image(pybp.load(model), scale=2)


def test_show_png_errors(tmp_path):
    model = tmp_path / "m.pybp"
    pybp.Network([5, 3, 2], seed=0, backend="python").save(model)
    status, _, err = run(["show", model, "--png", tmp_path / "w.png"])
    assert status == 1
    assert "not a square number" in err and "m.pybp" in err
    assert not (tmp_path / "w.png").exists()
    status, _, err = run(["show", model, "--png", tmp_path / "w.png",
                          "--scale", 0])
    assert status == 2
    status, _, err = run(["show", model, "--png", tmp_path / "none" / "w.png"])
    assert status == 2


def test_show_summary(tmp_path):
    model = tmp_path / "m.pybp"
    net = pybp.Network([4, 3, 2], ["relu", "softmax"], "log-likelihood",
                       seed=0, backend="python")
    net.save(model)
    status, out, err = run(["show", model])
    assert status == 0, err
    assert "sizes:       4-3-2" in out
    assert "activations: relu, softmax" in out
    assert "cost:        log-likelihood" in out
    assert "parameters:  23" in out
    lines = out.splitlines()
    table = lines[lines.index("") + 1:]
    assert table[0].split() == ["layer", "shape", "activation", "params", "|W|",
                                "rms(W)", "max|w|", "|b|"]
    assert table[1].split()[:4] == ["1", "4->3", "relu", "15"]
    assert table[2].split()[:4] == ["2", "3->2", "softmax", "8"]
    w1 = net.params[:12]
    assert float(table[1].split()[4]) == pytest.approx(
        sum(v * v for v in w1) ** 0.5, rel=1e-3)

    status, out, err = run(["show", model, "--json"])
    facts = json.loads(out)
    assert facts["parameters"] == 23 and facts["sizes"] == [4, 3, 2]
    assert facts["layers"][1]["bias_norm"] == pytest.approx(
        sum(v * v for v in net.params[21:23]) ** 0.5)


def test_show_missing_model(tmp_path):
    status, _, err = run(["show", tmp_path / "nope.pybp"])
    assert status == 1 and "nope.pybp" in err
