"""Learning curves as SVG: well-formed XML, one marker per epoch, atomic
rewrites during `pybp train --plot`, and (where a converter exists) a PNG."""

import importlib.util
import math
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from pybp import svg

from helpers import blobs, run, write_csv

NS = "{http://www.w3.org/2000/svg}"


def history(n, with_test=True):
    out = []
    for e in range(1, n + 1):
        rec = {"epoch": e, "cost": 0.2 * math.exp(-e / 3.0) + 0.01,
               "seconds": 0.1}
        if with_test:
            rec.update(correct=800 + 15 * e, total=1000)
        out.append(rec)
    return out


def points(root, series):
    return [c for c in root.iter(NS + "circle")
            if c.get("class") == "point " + series]


def test_parses_with_one_point_per_epoch():
    root = ET.fromstring(svg.learning_curves(history(7), epochs=10,
                                             title="a <title> & more"))
    assert root.tag == NS + "svg"
    assert root.get("width") == str(svg.WIDTH)
    assert len(points(root, "cost")) == 7
    assert len(points(root, "accuracy")) == 7
    texts = [t.text for t in root.iter(NS + "text")]
    assert "a <title> & more" in texts          # escaped in the file
    assert "epoch" in texts
    assert "training cost" in texts and "test accuracy (%)" in texts
    assert "training cost (mean over the epoch)" in texts  # the legend
    assert any(t and t.startswith("epoch 7 of 10") for t in texts)
    # the epoch axis is fixed by the planned total: ticks up to 10
    assert "10" in texts
    # markers go up as the cost goes down (SVG y grows downwards)
    ys = [float(c.get("cy")) for c in points(root, "cost")]
    assert ys == sorted(ys)
    ys = [float(c.get("cy")) for c in points(root, "accuracy")]
    assert ys == sorted(ys, reverse=True)


def test_points_inside_their_panels():
    root = ET.fromstring(svg.learning_curves(history(5)))
    for series, (top, bottom) in zip(("cost", "accuracy"), svg.PANELS):
        for c in points(root, series):
            assert top <= float(c.get("cy")) <= bottom
            assert svg.LEFT <= float(c.get("cx")) <= svg.WIDTH - svg.RIGHT


def test_edge_cases_still_parse():
    for h in ([], history(1), history(3, with_test=False),
              [{"epoch": 1, "cost": math.inf, "correct": 5, "total": 10},
               {"epoch": 2, "cost": math.nan, "correct": 10, "total": 10},
               {"epoch": 3, "cost": 0.5, "correct": 10, "total": 10}]):
        root = ET.fromstring(svg.learning_curves(h, epochs=3))
        finite = [r for r in h if math.isfinite(r["cost"])]
        assert len(points(root, "cost")) == len(finite)
    root = ET.fromstring(svg.learning_curves(history(3, with_test=False)))
    assert "no test data" in [t.text for t in root.iter(NS + "text")]


@pytest.mark.parametrize("lo,hi", [(0.0123, 0.0876), (92.5, 95.1), (0, 30),
                                   (5.0, 5.0), (-3.0, 7.0), (1e-7, 3e-7)])
def test_nice_ticks(lo, hi):
    a, b, ticks = svg.nice_ticks(lo, hi, 6)
    assert a <= min(lo, hi) and b >= max(lo, hi)
    assert a == ticks[0] and b == ticks[-1]
    assert 2 <= len(ticks) <= 7
    steps = {round(y - x, 12) for x, y in zip(ticks, ticks[1:])}
    assert len(steps) == 1


def test_write_is_atomic_and_complete(tmp_path):
    path = tmp_path / "curves.svg"
    svg.write_learning_curves(str(path), history(2), epochs=5)
    svg.write_learning_curves(str(path), history(3), epochs=5)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.svg"]
    assert len(points(ET.parse(str(path)).getroot(), "cost")) == 3


def test_train_plot_rewritten_every_epoch(tmp_path, monkeypatch):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_csv(train, blobs(120, 1))
    write_csv(test, blobs(60, 2))
    plot = tmp_path / "curves.svg"
    seen = []
    real = svg.write_learning_curves

    def spy(path, hist, **kw):
        seen.append(len(hist))
        real(path, hist, **kw)
    monkeypatch.setattr(svg, "write_learning_curves", spy)
    status, out, err = run(["train", "--csv-train", train, "--csv-test", test,
                            "--epochs", 4, "--backend", "python",
                            "--plot", plot])
    assert status == 0, err
    assert seen == [0, 1, 2, 3, 4]  # at the start, then after each epoch
    root = ET.parse(str(plot)).getroot()
    assert len(points(root, "cost")) == 4
    assert len(points(root, "accuracy")) == 4
    title = next(root.iter(NS + "title")).text
    assert title.startswith("pybp train: 3-30-3, sigmoid, quadratic cost")


def test_train_plot_bad_path_fails_before_training(tmp_path):
    status, _, err = run(["train", "--plot", tmp_path / "no" / "c.svg"])
    assert status == 2
    assert "--plot" in err


def _converter():
    """A command turning SVG into PNG, or None."""
    if shutil.which("rsvg-convert"):
        return lambda src, dst: ["rsvg-convert", src, "-o", dst]
    convert = shutil.which("convert")
    if convert:
        try:
            version = subprocess.run([convert, "-version"], capture_output=True,
                                     text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            version = ""
        if "Version: ImageMagick" in version:
            return lambda src, dst: [convert, src, dst]
    return None


def test_renders_to_png(tmp_path):
    src, dst = tmp_path / "c.svg", tmp_path / "c.png"
    svg.write_learning_curves(str(src), history(6), epochs=8)
    command = _converter()
    if command is not None:
        subprocess.run(command(str(src), str(dst)), check=True,
                       capture_output=True, timeout=60)
    elif importlib.util.find_spec("cairosvg") is not None:
        import cairosvg
        cairosvg.svg2png(url=str(src), write_to=str(dst))
    else:
        pytest.skip("no SVG converter (rsvg-convert, ImageMagick, cairosvg)")
    data = dst.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (svg.WIDTH, svg.HEIGHT)
