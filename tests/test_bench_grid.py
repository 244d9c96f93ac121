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
    for text in ("Training [784, 30, 10]", "best peer/pybp", "GFLOP/s", "latency",
                 "batch ", "whole run", "Markdown:", "| m | dtype | threads |"):
        assert text in out, text
    report = json.loads(raw.read_text())
    cells = report["cells"]
    assert [(c["m"], c["dtype"]) for c in cells] == [(10, "float64"), (10, "float32")]
    for cell in cells:
        assert cell["examples"] == 100
        assert len(cell["raw"]["pybp/1"]) == len(cell["raw"]["pybp/2"]) == 2
        assert all(t > 0 for t in cell["raw"]["pybp/1"])
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
