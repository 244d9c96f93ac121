"""The house rules, read from the source (CONTRIBUTING.md describes them).

- only pybp/network.py (numbers) and pybp/backends.py (facts and settings)
  import the kernel package pybp._kernels;
- only the command line (pybp/cli/) prints;
- files are written only through pybp/files.py;
- only pybp/spec.py computes offsets into the flat parameter layout;
- the codes and limits in pybp/spec.py are csrc/pybp.h's, and there is one
  version number.
"""

import ast
import importlib.metadata
import os
import re

import pytest

import pybp
from pybp import spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "pybp")
HEADER = os.path.join(ROOT, "csrc", "pybp.h")

if not os.path.isdir(PACKAGE) or not os.path.exists(HEADER):  # pragma: no cover
    pytest.skip("needs the source tree", allow_module_level=True)


def modules():
    """(dotted name, path, syntax tree) of every module of the package."""
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                if rel.endswith(".__init__"):
                    rel = rel[:-len(".__init__")]
                with open(path, encoding="utf-8") as f:
                    yield rel, path, ast.parse(f.read(), path)


def is_package(module):
    return os.path.isdir(os.path.join(ROOT, *module.split(".")))


def rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


def test_module_names_resolve():
    # The import walk below is only as good as its name resolution.
    names = {m for m, _, _ in modules()}
    assert {"pybp", "pybp.network", "pybp._kernels", "pybp._kernels.reference",
            "pybp.spec", "pybp.files"} <= names


def test_only_network_and_backends_import_the_kernels():
    # seeding.py draws the initial parameters with the reference's own log.
    allowed = {"pybp/network.py", "pybp/backends.py", "pybp/seeding.py"}
    offenders = []
    for module, path, tree in modules():
        if module.startswith("pybp._kernels"):
            continue
        pkg = module if is_package(module) else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base) + ("." + node.module if node.module else "")
                else:
                    target = node.module or ""
                names = [target] + [target + "." + a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n == "pybp._kernels" or n.startswith("pybp._kernels.") for n in names) \
                    and rel(path) not in allowed:
                offenders.append("%s:%d" % (rel(path), node.lineno))
    assert offenders == []


def _in_cli(path):
    r = rel(path)
    return r.startswith("pybp/cli/") or r == "pybp/cli.py"


def test_only_the_command_line_prints():
    offenders = []
    for _, path, tree in modules():
        if _in_cli(path):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "print":
                offenders.append("%s:%d print()" % (rel(path), node.lineno))
            if isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr") \
                    and isinstance(node.value, ast.Name) and node.value.id == "sys":
                offenders.append("%s:%d sys.%s" % (rel(path), node.lineno, node.attr))
    assert offenders == []


def _is_os(node):
    return isinstance(node, ast.Name) and node.id == "os"


def _writes(node):
    """Why a call writes (or removes) a file, or None."""
    func = node.func
    if isinstance(func, ast.Name) and func.id == "open" or \
            isinstance(func, ast.Attribute) and func.attr in ("open", "fdopen"):
        modes = node.args[1:2] + [k.value for k in node.keywords
                                  if k.arg in ("mode", "flags")]
        for mode in modes:
            if isinstance(mode, ast.Constant) and isinstance(mode.value, str) \
                    and set(mode.value) & set("wax+"):
                return "open for writing"
            if ("O_WRONLY" in ast.dump(mode) or "O_RDWR" in ast.dump(mode)) \
                    and not (node.args and ast.unparse(node.args[0]) == "os.devnull"):
                return "os.open for writing"
    if isinstance(func, ast.Attribute):
        if func.attr in ("write_bytes", "write_text"):
            return func.attr
        if func.attr in ("replace", "rename", "remove", "unlink") and _is_os(func.value):
            return "os." + func.attr
    return None


def test_files_are_written_only_through_the_file_module():
    offenders = []
    for _, path, tree in modules():
        if rel(path) == "pybp/files.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                why = _writes(node)
                if why:
                    offenders.append("%s:%d %s" % (rel(path), node.lineno, why))
    assert offenders == []


_SIZE = re.compile(r"(n|m|n_\w+|prev|\w*sizes\[.+\])")


def _offset_arithmetic(tree):
    """Lines computing n * (m + 1) of layer sizes: a layer's parameter count."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            inner = node.right
            if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Add) \
                    and isinstance(inner.right, ast.Constant) and inner.right.value == 1 \
                    and _SIZE.fullmatch(ast.unparse(node.left)) \
                    and _SIZE.fullmatch(ast.unparse(inner.left)):
                yield node.lineno


def test_only_spec_computes_the_layout():
    offenders = []
    for _, path, tree in modules():
        if rel(path) == "pybp/spec.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ("layer_offsets", "nparams",
                                                                   "layers"):
                offenders.append("%s:%d def %s" % (rel(path), node.lineno, node.name))
        offenders += ["%s:%d n * (m + 1)" % (rel(path), line)
                      for line in _offset_arithmetic(tree)]
    assert offenders == []


def test_the_rule_checks_can_fail():
    # Each check above must see what it forbids.
    tree = ast.parse("import os\nopen(p, 'wb')\nos.replace(a, b)\nx = n_out * (n_in + 1)\n"
                     "print(x)\nrow = v[i * n:(i + 1) * n]\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert [_writes(c) for c in calls] == ["open for writing", "os.replace", None]
    assert list(_offset_arithmetic(tree)) == [4]
    assert _writes(ast.parse("open(p)").body[0].value) is None
    assert _writes(ast.parse("os.open(os.devnull, os.O_WRONLY)").body[0].value) is None
    assert _writes(ast.parse("s.replace('a', 'b')").body[0].value) is None


# --- constants and the version ------------------------------------------------


def header_defines():
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    return {name: int(value) for name, value
            in re.findall(r"^#define (PYBP_[A-Z0-9_]+)\s+(\d+)\b", text, re.M)}


def test_codes_and_limits_are_the_headers():
    d = header_defines()
    assert spec.ACTIVATION_CODES == {name: d["PYBP_" + name.upper()]
                                     for name in spec.ACTIVATIONS}
    assert spec.COST_CODES == {name: d["PYBP_" + name.upper().replace("-", "_")]
                               for name in spec.COSTS}
    assert spec.MAX_LAYERS == d["PYBP_MAX_LAYERS"]
    assert spec.MAX_THREADS == d["PYBP_MAX_THREADS"]


def test_codes_and_limits_in_the_compiled_library(c_backend):
    from pybp._kernels._pybp_c import lib
    for name, code in spec.ACTIVATION_CODES.items():
        assert getattr(lib, "PYBP_" + name.upper()) == code
    for name, code in spec.COST_CODES.items():
        assert getattr(lib, "PYBP_" + name.upper().replace("-", "_")) == code
    assert lib.PYBP_MAX_LAYERS == spec.MAX_LAYERS
    assert lib.PYBP_MAX_THREADS == spec.MAX_THREADS


def c_source_version():
    with open(HEADER, encoding="utf-8") as f:
        m = re.search(r'^#define PYBP_VERSION "([^"]+)"', f.read(), re.M)
    assert m, "PYBP_VERSION not found in csrc/pybp.h"
    return m.group(1)


def test_one_version_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+", pybp.__version__)
    assert c_source_version() == pybp.__version__
    assert importlib.metadata.version("pybp") == pybp.__version__
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        project = re.search(r"^\[project\]\n(.*?)^\[", f.read(), re.M | re.S).group(1)
    assert not re.search(r"^version\s*=", project, re.M), \
        "pyproject.toml must read the version from pybp.__version__"
    assert re.search(r'^dynamic = \[.*"version"', project, re.M)


def test_the_compiled_library_has_the_version(c_backend):
    from pybp import backends
    assert backends.c_facts()["c_version"] == pybp.__version__
