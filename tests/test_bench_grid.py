"""bench/grid.py --quick runs to the end and prints its tables.

A smoke test of the benchmark script (not of any number it measures): the
peers that are not installed are skipped by the script itself, with a note.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import pybp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRID = os.path.join(ROOT, "bench", "grid.py")

pytestmark = [
    pytest.mark.skipif(not os.path.exists(GRID), reason="needs the source tree"),
    pytest.mark.skipif("c" not in pybp.available_backends(), reason="needs the C backend"),
]


def has(module):
    return importlib.util.find_spec(module) is not None


def test_quick_grid(mnist_dir, tmp_path):
    raw = tmp_path / "grid.json"
    run = subprocess.run(
        [sys.executable, GRID, "--quick", "--batches", "10", "--examples", "100",
         "--data", str(mnist_dir), "--markdown", "--json", str(raw)],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    for text in ("Training [784, 30, 10]", "best peer/pybp", "GFLOP/s", "nz %peak",
                 "GFLOP/s needed (nonzero inputs)", "latency",
                 "batch ", "whole run", "Markdown:", "| m | dtype | threads |"):
        assert text in out, text
    report = json.loads(raw.read_text())
    cells = report["cells"]
    assert [(c["m"], c["dtype"]) for c in cells] == [(10, "float64"), (10, "float32")]
    for cell in cells:
        assert cell["examples"] == 100
        assert len(cell["raw"]["pybp/1"]) == len(cell["raw"]["pybp/2"]) == 2
        assert all(t > 0 for t in cell["raw"]["pybp/1"])
        # MNIST's zero pixels: the flops actually needed are fewer than dense
        # layers' (784-30-10: the first layer holds 98% of the terms).
        assert 0.1 < cell["nonzero"] < 0.3
        for row in cell["rows"]:
            assert 0.15 < row["gflops_nonzero"] / row["gflops"] < 0.4
    if has("numpy"):
        # A ratio to the fastest peer, with its range, on each thread count.
        assert re.search(r"\d+\.\d\dx (numpy|torch|sklearn) \[\d+\.\d\d-\d+\.\d\d\]", out)
        assert all(r["best"] for c in cells for r in c["rows"])
        assert "matmul" in out
    else:
        assert "numpy is not installed" in out
    for peer in ("torch", "sklearn"):
        if not has(peer):
            assert "%s: not installed, skipped" % peer in out


def test_the_c_core_epoch_benchmark_builds_and_runs(tmp_path):
    """bench/epoch_c.c, built as its header says, trains and reports an
    epoch in both dtypes (a smoke test: the figures are not checked)."""
    import shutil
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    exe = str(tmp_path / "epoch_c")
    csrc = os.path.join(ROOT, "csrc")
    subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    "-ffp-contract=off", "-fno-fast-math", "-I" + csrc,
                    os.path.join(ROOT, "bench", "epoch_c.c")]
                   + [os.path.join(csrc, f) for f in ("pybp.c", "pybp_f32.c", "pybp_net.c")]
                   + ["-lm", "-pthread", "-o", exe], check=True, timeout=300)
    for dtype in ("float64", "float32"):
        run = subprocess.run([exe, "20,9,3", "7", dtype, "50", "2", "1"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert re.fullmatch(r"20,9,3 m=7 %s threads=2: [0-9.]+ s per 50,000-example "
                            r"epoch, [0-9.]+ GFLOP/s needed\n" % dtype, run.stdout), run.stdout
    bad = subprocess.run([exe, "20", "7", "float64"], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_the_c_core_ab_benchmark_alternates_two_builds():
    """bench/ab_c.py builds epoch_c for two trees (here the same one twice),
    runs them in alternation and reports both and their ratio (a smoke test:
    the figures are not checked, only that they are there and positive)."""
    import shutil
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    script = os.path.join(ROOT, "bench", "ab_c.py")
    run = subprocess.run([sys.executable, script, ROOT, ROOT, "--pairs", "2",
                          "--cflags=-O1", "--", "20,9,3", "7", "float32", "50"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "epoch_c 20,9,3 7 float32 50 0, 2 pairs alternated"
    for name, line in zip("AB", lines[1:3]):
        found = re.match(r"  %s .* median ([0-9.]+) s  min ([0-9.]+) s" % name, line)
        assert found and 0 < float(found.group(2)) <= float(found.group(1)), line
    found = re.fullmatch(r"  B/A median ([0-9.]+)  range ([0-9.]+)-([0-9.]+)  "
                         r"\(below 1: B is faster\)", lines[3])
    assert found and 0 < float(found.group(2)) <= float(found.group(1)) \
        <= float(found.group(3)), lines[3]
    bad = subprocess.run([sys.executable, script, ROOT, ROOT],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "usage" in bad.stderr
