"""What a newcomer meets beside the README's two commands: a source tree
imported without its extension says so, and the suite run there fails
rather than skipping the C backend; editing a C header rebuilds the
extension; the extension knows the sources it was built from."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pybp

ROOT = Path(__file__).resolve().parents[1]
needs_checkout = pytest.mark.skipif(not (ROOT / "csrc" / "pybp.h").exists(),
                                    reason="needs the source tree")


def bare_checkout(tmp_path):
    """A copy of the source tree as a fresh clone has it: no extension."""
    tree = tmp_path / "clone"
    shutil.copytree(ROOT / "pybp", tree / "pybp",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__",
                                                  "_pybp_c.c", "*.o"))
    shutil.copytree(ROOT / "csrc", tree / "csrc",
                    ignore=shutil.ignore_patterns("*.o", "*.a", "test_pybp", "test_f32",
                                                  "test_model"))
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy(ROOT / name, tree / name)
    return tree


def checkout_builder():
    """This checkout's build_ffi module (the installed one has no csrc/)."""
    import importlib.util
    path = ROOT / "pybp" / "_kernels" / "build_ffi.py"
    spec = importlib.util.spec_from_file_location("checkout_build_ffi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_in(tree, args, **env):
    full = dict(os.environ)
    full.pop("PYTHONPATH", None)
    full.pop("PYBP_BACKEND", None)
    full.update(env)
    return subprocess.run([sys.executable] + args, cwd=str(tree), env=full,
                          capture_output=True, text=True, timeout=300)


@needs_checkout
def test_a_source_tree_without_its_extension_says_so(tmp_path):
    tree = bare_checkout(tmp_path)
    proc = run_in(tree, ["-c", "import pybp; print(pybp.backend, pybp.__file__)"])
    assert proc.returncode == 0, proc.stderr
    backend, where = proc.stdout.split()
    assert backend == "python" and where.startswith(str(tree))
    assert "imported from the source tree %s" % tree in proc.stderr
    assert "pip install -e ." in proc.stderr and "another directory" in proc.stderr
    # asked for by name, no warning
    quiet = run_in(tree, ["-c", "import pybp"], PYBP_BACKEND="python")
    assert quiet.returncode == 0 and quiet.stderr == ""
    # demanded, an ImportError with the same hint
    demanded = run_in(tree, ["-c", "import pybp"], PYBP_BACKEND="c")
    assert demanded.returncode == 1 and "pip install -e ." in demanded.stderr


@needs_checkout
def test_the_suite_fails_without_the_c_backend_unless_python_is_asked(tmp_path):
    tree = bare_checkout(tmp_path)
    (tree / "tests").mkdir()
    for name in ("conftest.py", "helpers.py"):
        shutil.copy(ROOT / "tests" / name, tree / "tests" / name)
    (tree / "tests" / "test_one.py").write_text(
        "def test_reference(backend):\n    assert backend in ('python', 'c')\n")
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    failed = run_in(tree, args)
    assert failed.returncode == 1
    assert "has no C backend" in failed.stdout + failed.stderr
    passed = run_in(tree, args, PYBP_BACKEND="python")
    assert passed.returncode == 0, passed.stdout
    assert "1 passed, 1 skipped" in passed.stdout


@needs_checkout
def test_the_extension_depends_on_every_header():
    pytest.importorskip("cffi")
    build_ffi = checkout_builder()
    kwargs = build_ffi.make_builder()._assigned_source[3]
    depends = {os.path.basename(p) for p in kwargs["depends"]}
    headers = {p.name for p in (ROOT / "csrc").glob("*.h")}
    assert {"pybp.h", "pybp_impl.h", "pybp_kernels.h", "pybp_threads.h"} <= depends
    assert headers == depends


@needs_checkout
def test_the_extension_knows_its_sources(c_backend, tmp_path):
    from pybp._kernels import build_ffi, ccore
    if os.path.dirname(pybp.__file__) != str(ROOT / "pybp"):
        pytest.skip("the pybp under test is installed, not this checkout")
    assert ccore.build_digest() == build_ffi.source_digest()
    copy = tmp_path / "csrc"
    shutil.copytree(ROOT / "csrc", copy, ignore=shutil.ignore_patterns("*.o", "*.a"))
    (copy / "pybp_net.h").write_text((copy / "pybp_net.h").read_text() + "/* edited */\n")
    assert build_ffi.source_digest(str(copy)) != ccore.build_digest()


@needs_checkout
def test_train_and_info_say_why_the_c_backend_is_missing(tmp_path):
    tree = bare_checkout(tmp_path)
    rows = "".join("%d,%d,%d\n" % (i % 2, i % 3, i % 2) for i in range(20))
    (tree / "d.csv").write_text(rows)
    train = run_in(tree, ["-m", "pybp", "train", "--csv-train", "d.csv", "--csv-test",
                          "d.csv", "--epochs", "1"])
    assert train.returncode == 0, train.stderr
    first = train.stdout.splitlines()[0]
    assert first.startswith("pybp train: backend python (the C backend is unavailable: "
                            "pybp is imported from the source tree")
    info = run_in(tree, ["-m", "pybp", "info"])
    assert "C backend:" in info.stdout and "unavailable: pybp is imported from the " \
        "source tree" in info.stdout
    # asked for, the Python backend needs no excuse
    asked = run_in(tree, ["-m", "pybp", "train", "--csv-train", "d.csv", "--csv-test",
                          "d.csv", "--epochs", "1"], PYBP_BACKEND="python")
    assert asked.stdout.startswith("pybp train: backend python, sizes")
