"""pybp export-c: the generated C computes exactly Network.feedforward's bits.

Every model is compiled (strict warnings as errors, -ffp-contract=off) into
one driver that reads raw float64 inputs on stdin and writes each example's
outputs, then the returned class, as raw float64 on stdout; the bytes are
compared with net.feedforward's.  Skipped without a C compiler `cc`.
"""

import os
import random
import re
import shutil
import subprocess
import sys
from array import array

import pytest

import pybp
from pybp import export_c as ex
from pybp._kernels.reference import argmax
from pybp.data import load_mnist

from helpers import error_lines, pybp_subprocess

CC = shutil.which("cc")
needs_cc = pytest.mark.skipif(CC is None or sys.platform == "win32",
                              reason="no C compiler `cc`")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2",
          "-ffp-contract=off"]

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUT_COST = (("sigmoid", "quadratic"), ("tanh", "quadratic"),
               ("relu", "quadratic"), ("identity", "quadratic"),
               ("sigmoid", "cross-entropy"), ("softmax", "log-likelihood"))


def _models():
    """(id, sizes, activations, cost) of every model of the shared driver."""
    models = []
    for h in HIDDEN:
        for out, cost in OUTPUT_COST:
            models.append(("%s-%s-%s" % (h, out, cost), [5, 7, 4], [h, out], cost))
    models.append(("four-layers", [6, 9, 7, 5, 3],
                   ["sigmoid", "tanh", "relu", "softmax"], "log-likelihood"))
    models.append(("four-layers-identity", [3, 4, 8, 2, 5],
                   ["relu", "identity", "sigmoid", "tanh"], "quadratic"))
    models.append(("one-layer", [5, 4], ["softmax"], "log-likelihood"))
    models.append(("one-output", [4, 6, 1], ["tanh", "sigmoid"], "cross-entropy"))
    return models


MODELS = _models()
STATIC = "static-scratch"  # exported with a tiny STACK_LIMIT


def _driver(prefixes, n_in_max, n_out_max, scratch_max):
    includes = "\n".join('#include "%s.h"' % p for p in prefixes)
    table = ",\n".join("    {%s_feedforward, %s_feedforward_r, %s_N_INPUTS, "
                       "%s_N_OUTPUTS}" % (p, p, p.upper(), p.upper())
                       for p in prefixes)
    return r"""#include <stdio.h>
#include <stdlib.h>
%s

struct model {
    int (*ff)(const double *, double *);
    int (*ffr)(const double *, double *, double *);
    int n_in, n_out;
};
static const struct model models[] = {
%s
};

/* argv[1]: which model.  stdin: raw doubles, n_in per example.
   stdout: per example the n_out outputs and the returned class, as raw
   doubles.  Odd examples go through _feedforward_r. */
int main(int argc, char **argv)
{
    static double x[%d], out[%d], scratch[%d];
    const struct model *m;
    unsigned long n = 0;
    if (argc != 2)
        return 2;
    m = &models[atoi(argv[1])];
    while (fread(x, sizeof(double), (size_t)m->n_in, stdin) == (size_t)m->n_in) {
        double cls = (n %% 2) ? m->ffr(x, out, scratch) : m->ff(x, out);
        fwrite(out, sizeof(double), (size_t)m->n_out, stdout);
        fwrite(&cls, sizeof(double), 1, stdout);
        n++;
    }
    return ferror(stdin) || ferror(stdout);
}
""" % (includes, table, n_in_max, n_out_max, scratch_max + 1)


def _compilers():
    """cc, and clang too if it is another compiler: both must get the bits."""
    found = {}
    for name in ("cc", "clang"):
        path = shutil.which(name)
        if path is not None:
            found.setdefault(os.path.realpath(path), path)
    return list(found.values())


def _build(tmp, items, compiler=CC):
    """Write each (prefix, net, header text) to tmp/prefix.h; compile a driver."""
    for prefix, _, text in items:
        (tmp / ("%s.h" % prefix)).write_text(text)
    nets = [net for _, net, _ in items]
    src = tmp / "driver.c"
    src.write_text(_driver([p for p, _, _ in items],
                           max(n.sizes[0] for n in nets),
                           max(n.sizes[-1] for n in nets),
                           max(2 * max(n.sizes[1:-1] or [0]) for n in nets)))
    exe = tmp / ("driver-" + os.path.basename(compiler))
    subprocess.run([compiler] + CFLAGS + ["-I", str(tmp), str(src), "-o", str(exe),
                    "-lm"], check=True, capture_output=True, timeout=300)
    return exe


def _inputs(n_in, count, seed):
    """Inputs of many scales: small, ordinary, saturating, with exact zeros."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        scale = (0.01, 0.3, 1.0, 4.0, 40.0)[i % 5]
        rows.append([0.0 if rng.random() < 0.1 else rng.gauss(0.0, scale)
                     for _ in range(n_in)])
    return rows


def _run(exe, which, net, rows):
    """Compare the driver's bytes with net.feedforward's, example by example."""
    stdin = b"".join(array("d", r).tobytes() for r in rows)
    got = subprocess.run([str(exe), str(which)], input=stdin, check=True,
                         capture_output=True, timeout=300).stdout
    width = 8 * (net.sizes[-1] + 1)
    assert len(got) == width * len(rows)
    for i, x in enumerate(rows):
        a = net.feedforward(x)
        want = array("d", a + [float(argmax(a))]).tobytes()
        if got[i * width:(i + 1) * width] != want:
            have = array("d")
            have.frombytes(got[i * width:(i + 1) * width])
            pytest.fail("example %d: C gives %r, pybp %r"
                        % (i, have.tolist(), a + [float(argmax(a))]))


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if CC is None or sys.platform == "win32":
        pytest.skip("no C compiler `cc`")
    tmp = tmp_path_factory.mktemp("export_c")
    items = []
    for i, (_, sizes, acts, cost) in enumerate(MODELS):
        net = pybp.Network(sizes, acts, cost, seed=100 + i, backend="python")
        items.append(("m%d" % i, net, ex.export_c(net, "m%d" % i)))
    net = pybp.Network([4, 6, 5, 3], ["relu", "sigmoid", "softmax"],
                       "log-likelihood", seed=7, backend="python")
    old = ex.STACK_LIMIT
    ex.STACK_LIMIT = 4  # force the static-scratch variant
    try:
        text = ex.export_c(net, "stat")
    finally:
        ex.STACK_LIMIT = old
    assert "static double scratch[12]; /* not reentrant */" in text
    assert "#define STAT_REENTRANT 0" in text
    items.append(("stat", net, text))
    return ([_build(tmp, items, compiler) for compiler in _compilers()],
            [net for _, net, _ in items])


@needs_cc
@pytest.mark.parametrize("which", range(len(MODELS) + 1),
                         ids=[m[0] for m in MODELS] + [STATIC])
def test_bit_identical_to_feedforward(driver, which):
    exes, nets = driver
    net = nets[which]
    rows = _inputs(net.sizes[0], 150, seed=which)
    for exe in exes:
        _run(exe, which, net, rows)


@needs_cc
def test_mnist_model_bit_identical(c_backend, mnist_dir, tmp_path):
    """A briefly trained [784, 30, 10] on 300 MNIST test images."""
    training, _, test = load_mnist(mnist_dir)
    net = pybp.Network([784, 30, 10], seed=3, backend=c_backend)
    net.sgd(training.subset(3000), 1, 10, 3.0)
    exe = _build(tmp_path, [("mnist", net, ex.export_c(net, "mnist"))])
    _run(exe, 0, net, [test.input(i) for i in range(300)])


@needs_cc
def test_header_alone_compiles_cleanly(tmp_path):
    """Unused functions and arrays draw no warnings; two models coexist;
    the include guard allows a second #include."""
    a = pybp.Network([4, 3, 2], "sigmoid", seed=1, backend="python")
    b = pybp.Network([2, 2], "softmax", "log-likelihood", seed=2, backend="python")
    (tmp_path / "a.h").write_text(ex.export_c(a, "net_a"))
    (tmp_path / "b.h").write_text(ex.export_c(b, "net_b"))
    src = tmp_path / "t.c"
    src.write_text('#include "a.h"\n#include "a.h"\n#include "b.h"\n'
                   "int main(void) { return NET_A_N_INPUTS + NET_B_N_OUTPUTS"
                   " - 6; }\n")
    for compiler in filter(None, {CC, shutil.which("gcc"), shutil.which("clang")}):
        subprocess.run([compiler] + CFLAGS + ["-I", str(tmp_path), str(src), "-o",
                        str(tmp_path / "t"), "-lm"], check=True,
                       capture_output=True, timeout=120)
        assert subprocess.run([str(tmp_path / "t")]).returncode == 0


def test_parameters_written_exactly():
    """Every double, including -0.0 and subnormals, reads back as itself."""
    net = pybp.Network([3, 2, 2], "tanh", seed=5, backend="python")
    special = [-0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308,
               0.1, -1.0 / 3.0]
    p = net.params
    for i, v in enumerate(special):
        p[i] = v
    text = ex.export_c(net, "q")
    values = [float.fromhex(t) for t in re.findall(r"-?0x[0-9a-f.]+p[+-]\d+", text)]
    assert array("d", values).tobytes() == array("d", p).tobytes()
    assert "#pragma STDC FP_CONTRACT OFF" in text
    assert "-ffp-contract=off" in text
    assert "#define Q_N_PARAMS %d" % len(p) in text


def test_scratch_sizes():
    text = ex.export_c(pybp.Network([3, 2], seed=1, backend="python"), "s")
    assert "#define S_SCRATCH 0" in text and "NULL" in text
    text = ex.export_c(pybp.Network([3, 9, 2], seed=1, backend="python"), "s")
    assert "#define S_SCRATCH 9" in text
    text = ex.export_c(pybp.Network([3, 9, 4, 2], seed=1, backend="python"), "s")
    assert "#define S_SCRATCH 18" in text


@pytest.mark.parametrize("name", ["", "1net", "my-net", "int", "_x", "a b", None])
def test_bad_names(name):
    with pytest.raises(ValueError):
        ex.check_name(name)


def test_good_names():
    for name in ("model", "mnist_784", "A1"):
        assert ex.check_name(name) == name


# --- the command ---------------------------------------------------------------


def test_cli_export_c(tmp_path):
    net = pybp.Network([4, 3, 2], ["relu", "softmax"], "log-likelihood", seed=1,
                       backend="python")
    model = tmp_path / "m.pybp"
    net.save(model)
    out = tmp_path / "m.h"
    r = pybp_subprocess(["export-c", model, "-o", out, "--name", "tiny"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "wrote %s: tiny_feedforward for sizes 4-3-2\n" % out
    assert out.read_text() == ex.export_c(pybp.load(model), "tiny",
                                          source="m.pybp")
    r = pybp_subprocess(["export-c", model])  # to stdout, default name
    assert r.returncode == 0
    assert "static inline int model_feedforward(" in r.stdout
    r = pybp_subprocess(["export-c", model, "--name", "9lives", "-o", out])
    assert r.returncode == 2
    assert error_lines(r.stderr)[0].startswith("pybp: error: --name '9lives'")
    r = pybp_subprocess(["export-c", tmp_path / "missing.pybp", "-o", out])
    assert r.returncode == 1
    assert "missing.pybp" in error_lines(r.stderr)[0]


def test_elementary_text_is_the_c_cores():
    """export_c's exp/log/tanh are csrc/pybp_elementary.h's, character for character."""
    header = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "csrc", "pybp_elementary.h")
    if not os.path.exists(header):
        pytest.skip("no csrc/ beside the tests")
    with open(header, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"/\* pybp elementary begin \*/\n(.*?)/\* pybp elementary end \*/\n",
                  text, re.S)
    assert m is not None
    assert ex.ELEMENTARY_C == m.group(1)
    net = pybp.Network([2, 3, 2], ["tanh", "softmax"], "log-likelihood", seed=1,
                       backend="python")
    assert ex.ELEMENTARY_C in ex.export_c(net, name="m")
    assert not re.search(r"[^_](exp|tanh|log)\(", ex.ELEMENTARY_C)
