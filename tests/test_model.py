"""Tests of pybp.model (model files) and of its agreement with the C reader."""

import math
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib
from array import array
from pathlib import Path

import pytest

from pybp import model
from pybp.model import ModelFormatError, dumps, loads

CSRC = Path(__file__).parents[1] / "csrc"

SIZES = (3, 4, 2)
ACTS = ("tanh", "sigmoid")
COST = "cross-entropy"
NPARAMS = 4 * 4 + 2 * 5


def random_params(n, seed=1):
    """Doubles with arbitrary bit patterns (all finite), not just nice ones."""
    rng = random.Random(seed)
    out = array("d")
    while len(out) < n:
        (v,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(v):
            out.append(v)
    out[0], out[1] = -0.0, 5e-324  # a negative zero and the smallest subnormal
    return out


def sample(seed=1):
    return dumps(SIZES, ACTS, COST, random_params(NPARAMS, seed))


def reseal(body):
    """A file image with a correct checksum for `body` (everything but it)."""
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)


def craft(version=1, sizes=SIZES, acts=(2, 1), cost=2, count=None, params=None):
    """A file image built field by field, any field possibly wrong."""
    n = len(sizes)
    if count is None:
        count = sum(sizes[i] * (sizes[i - 1] + 1) for i in range(1, n))
    if params is None:
        params = [0.5] * count
    body = (b"PYBPNET\x00" + struct.pack("<III", version, n, cost)
            + struct.pack("<%dI" % n, *sizes)
            + struct.pack("<%dI" % len(acts), *acts)
            + struct.pack("<Q", count) + struct.pack("<%dd" % len(params), *params))
    return reseal(body)


# --- round trip -------------------------------------------------------------

def test_round_trip_bit_exact():
    params = random_params(NPARAMS)
    data = dumps(SIZES, ACTS, COST, params)
    sizes, acts, cost, back = loads(data)
    assert sizes == SIZES and acts == ACTS and cost == COST
    assert isinstance(back, array) and back.typecode == "d"
    assert back.tobytes() == params.tobytes()
    assert len(data) == 28 + 8 * len(SIZES) + 8 * NPARAMS


def test_layout_is_as_documented():
    data = dumps([2, 1], ["identity"], "quadratic", [1.0, -2.0, 0.25])
    assert data[:8] == b"PYBPNET\x00"
    assert struct.unpack_from("<IIII", data, 8) == (1, 2, 1, 2)  # version..n_0
    assert struct.unpack_from("<IIQ", data, 24) == (1, 4, 3)    # n_1, act, P
    assert struct.unpack_from("<3d", data, 40) == (1.0, -2.0, 0.25)
    assert struct.unpack_from("<I", data, 64)[0] == zlib.crc32(data[:64])
    assert len(data) == 68


def test_accepts_lists_and_buffers():
    params = [float(i) for i in range(NPARAMS)]
    a = dumps(SIZES, ACTS, COST, params)
    b = dumps(list(SIZES), list(ACTS), COST, memoryview(array("d", params)))
    assert a == b


@pytest.mark.parametrize("acts, cost", [
    (("relu", "softmax"), "log-likelihood"),
    (("identity", "identity"), "quadratic"),
    (("sigmoid", "tanh"), "quadratic"),
])
def test_every_allowed_combination_round_trips(acts, cost):
    params = random_params(NPARAMS, seed=7)
    assert loads(dumps(SIZES, acts, cost, params))[1:3] == (acts, cost)


@pytest.mark.parametrize("args, problem", [
    (((3,), (), "quadratic"), "2 to 64 layers"),
    (((3, 0, 2), ACTS, COST), "layer sizes"),
    (((3, 4, 2), ("tanh",), COST), "need 2 activations"),
    (((3, 4, 2), ("tanh", "swish"), COST), "unknown activation"),
    (((3, 4, 2), ACTS, "hinge"), "unknown cost"),
    (((3, 4, 2), ("softmax", "sigmoid"), COST),
     "softmax is only allowed on the output layer, not layer 1"),
    (((3, 4, 2), ("tanh", "softmax"), "quadratic"), "quadratic"),
    (((3, 4, 2), ("tanh", "tanh"), "cross-entropy"), "sigmoid outputs"),
    (((3, 4, 2), ACTS, "log-likelihood"), "softmax outputs"),
])
def test_dumps_rejects_bad_networks(args, problem):
    with pytest.raises(ValueError, match=problem):
        dumps(*args, [0.0] * NPARAMS)


def test_dumps_rejects_bad_params():
    with pytest.raises(ValueError, match="need 26 parameters, got 25"):
        dumps(SIZES, ACTS, COST, [0.0] * 25)
    with pytest.raises(ValueError, match="parameter 3 is nan"):
        dumps(SIZES, ACTS, COST, [0.0] * 3 + [math.nan] + [0.0] * 22)


# --- rejection --------------------------------------------------------------

def test_every_truncation_is_rejected():
    data = sample()
    for n in range(len(data)):
        with pytest.raises(ModelFormatError) as e:
            loads(data[:n])
        assert "truncated" in str(e.value) or "empty" in str(e.value), n


def test_trailing_bytes_rejected():
    with pytest.raises(ModelFormatError, match="1 unexpected bytes"):
        loads(sample() + b"\x00")


def test_every_corrupted_byte_is_rejected():
    data = sample()
    for i in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= mask
            with pytest.raises(ModelFormatError):
                loads(bytes(bad))


def test_checksum_mismatch_message():
    bad = bytearray(sample())
    bad[-20] ^= 0x10  # inside the parameters
    with pytest.raises(ModelFormatError, match="checksum mismatch"):
        loads(bytes(bad), source="net.pybp")


def test_wrong_magic():
    with pytest.raises(ModelFormatError, match="not a pybp model file"):
        loads(b"GIF89a" + bytes(100))
    with pytest.raises(ModelFormatError, match="not a pybp model file"):
        loads(b"PYB!")


@pytest.mark.parametrize("version", [0, 2, 0xFFFFFFFF])
def test_unsupported_version(version):
    with pytest.raises(ModelFormatError, match="version %d" % version):
        loads(craft(version=version))


def test_craft_matches_dumps():
    assert craft(params=[0.5] * NPARAMS) == dumps(SIZES, ACTS, COST,
                                                  [0.5] * NPARAMS)


@pytest.mark.parametrize("kwargs, problem", [
    (dict(sizes=(3,), acts=()), "bad layer count 1"),
    (dict(sizes=(1,) * 65, acts=(1,) * 64, cost=1), "bad layer count 65"),
    (dict(sizes=(3, 0, 2)), "layer 1 has size 0"),
    (dict(acts=(2, 9)), "unknown activation code 9 for layer 2"),
    (dict(acts=(0, 1)), "unknown activation code 0 for layer 1"),
    (dict(acts=(5, 1)), "softmax is only allowed on the output layer, not layer 1"),
    (dict(cost=0), "unknown cost code 0"),
    (dict(cost=3), "log-likelihood cost needs softmax"),
    (dict(acts=(2, 5), cost=1), "softmax outputs go with the log-likelihood cost, not quadratic"),
    (dict(count=25), "parameter count 25 does not match"),
    (dict(count=26 + 2**61, params=[0.5] * 26), "does not match"),
])
def test_malformed_headers(kwargs, problem):
    with pytest.raises(ModelFormatError, match=problem):
        loads(craft(**kwargs))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_params_rejected(bad):
    params = [0.5] * NPARAMS
    params[7] = bad
    with pytest.raises(ModelFormatError, match="parameter 7 is .*not finite"):
        loads(craft(params=params))


def test_huge_declared_size_is_truncation():
    # Consistent sizes whose parameters would fill exabytes.
    big = 2**32 - 1
    data = craft(sizes=(big, big), acts=(4,), cost=1,
                 count=big * (big + 1), params=[])
    with pytest.raises(ModelFormatError, match="truncated"):
        loads(data)


# --- files ------------------------------------------------------------------

def test_save_and_load_file(tmp_path):
    data = sample()
    path = tmp_path / "net.pybp"
    model.save_file(path, data)
    assert path.read_bytes() == data
    assert model.load_file(path)[3].tobytes() == loads(data)[3].tobytes()
    model.save_file(str(path), sample(seed=2))  # replaces an existing file
    assert path.read_bytes() == sample(seed=2)
    assert os.listdir(tmp_path) == ["net.pybp"]


def test_save_uses_default_permissions(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    path = tmp_path / "net.pybp"
    model.save_file(path, sample())
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("broken", ["replace", "fsync"])
def test_failed_save_keeps_old_file(tmp_path, monkeypatch, broken):
    path = tmp_path / "net.pybp"
    old = sample(seed=1)
    model.save_file(path, old)

    def fail(*args, **kwargs):
        raise OSError("simulated failure")

    monkeypatch.setattr(model.os, broken, fail)
    with pytest.raises(OSError, match="simulated"):
        model.save_file(path, sample(seed=2))
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["net.pybp"]  # no temporary file left


def test_load_file_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.pybp"
    path.write_bytes(sample()[:50])
    with pytest.raises(ModelFormatError, match="broken.pybp: truncated"):
        model.load_file(path)
    with pytest.raises(FileNotFoundError):
        model.load_file(tmp_path / "missing.pybp")


def test_directory_path(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        model.load_file(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        model.save_file(tmp_path, sample())
    assert os.listdir(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="no such directory"):
        model.save_file(tmp_path / "nowhere" / "net.pybp", sample())


# --- the C implementation against this one -----------------------------------

C_TOOL = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "pybp.h"

/* model_tool IN OUT: read IN with pybp_model_read, print what it holds
 * (parameters as the hex of their bits), and write it back with
 * pybp_model_write to OUT. */
int main(int argc, char **argv)
{
    FILE *f;
    long n;
    unsigned char *buf, *out;
    size_t nl, np, i, *sizes, nbytes;
    int *acts, cost, st;
    double *params;
    pybp_net net;

    if (argc != 3 || (f = fopen(argv[1], "rb")) == NULL)
        return 2;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n ? (size_t)n : 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        return 2;
    fclose(f);
    st = pybp_model_info(buf, (size_t)n, &nl, &np);
    if (st != PYBP_OK) {
        printf("status %d\n", st);
        return 1;
    }
    sizes = malloc(nl * sizeof *sizes);
    acts = malloc(nl * sizeof *acts);
    params = malloc(np * sizeof *params);
    st = pybp_model_read(buf, (size_t)n, sizes, nl, acts, &cost, params, np);
    if (st != PYBP_OK) {
        printf("status %d\n", st);
        return 1;
    }
    printf("sizes");
    for (i = 0; i < nl; i++)
        printf(" %lu", (unsigned long)sizes[i]);
    printf("\nactivations");
    for (i = 0; i + 1 < nl; i++)
        printf(" %d", acts[i]);
    printf("\ncost %d\nparams", cost);
    for (i = 0; i < np; i++) {
        uint64_t u;
        memcpy(&u, &params[i], 8);
        printf(" %016llx", (unsigned long long)u);
    }
    printf("\n");
    net.nlayers = nl;
    net.sizes = sizes;
    net.activations = acts;
    net.cost = cost;
    if (pybp_model_size(&net, &nbytes) != PYBP_OK)
        return 3;
    out = malloc(nbytes);
    if (pybp_model_write(&net, params, np, out, nbytes) != PYBP_OK)
        return 3;
    f = fopen(argv[2], "wb");
    if (f == NULL || fwrite(out, 1, nbytes, f) != nbytes || fclose(f) != 0)
        return 2;
    return 0;
}
"""


@pytest.fixture(scope="module")
def c_tool(tmp_path_factory):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc or sys.platform == "win32":
        pytest.skip("no C compiler")
    if not (CSRC / "pybp_model.c").exists():
        pytest.skip("csrc/pybp_model.c not found")
    work = tmp_path_factory.mktemp("model_tool")
    src = work / "model_tool.c"
    src.write_text(C_TOOL)
    exe = work / "model_tool"
    subprocess.run([cc, "-std=c99", "-O1", "-I", str(CSRC), str(src),
                    str(CSRC / "pybp_model.c"), str(CSRC / "pybp_net.c"),
                    "-o", str(exe)], check=True)
    return exe


def run_tool(exe, path, out):
    proc = subprocess.run([str(exe), str(path), str(out)],
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("acts, cost", [
    (ACTS, COST), (("relu", "softmax"), "log-likelihood"),
    (("identity", "tanh"), "quadratic"),
])
def test_c_reads_and_writes_python_files_identically(c_tool, tmp_path, acts, cost):
    params = random_params(NPARAMS, seed=3)
    data = dumps(SIZES, acts, cost, params)
    src, out = tmp_path / "py.pybp", tmp_path / "c.pybp"
    src.write_bytes(data)
    rc, text = run_tool(c_tool, src, out)
    assert rc == 0, text
    lines = dict(line.split(" ", 1) for line in text.splitlines())
    assert lines["sizes"].split() == [str(n) for n in SIZES]
    assert lines["activations"].split() == [
        str(model.ACTIVATION_CODES[a]) for a in acts]
    assert lines["cost"] == str(model.COST_CODES[cost])
    hexes = ["%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
             for v in params]
    assert lines["params"].split() == hexes
    # The C writer produces the very same bytes, which Python reads back.
    assert out.read_bytes() == data
    assert loads(out.read_bytes())[3].tobytes() == params.tobytes()


def test_c_rejects_what_python_rejects(c_tool, tmp_path):
    data = sample()
    cases = [data[:-1], data + b"\x00", craft(version=2), craft(acts=(5, 1)),
             craft(params=[math.nan] + [0.5] * (NPARAMS - 1))]
    bad = bytearray(data)
    bad[40] ^= 0x04
    cases.append(bytes(bad))
    for i, case in enumerate(cases):
        with pytest.raises(ModelFormatError):
            loads(case)
        path = tmp_path / ("bad%d.pybp" % i)
        path.write_bytes(case)
        rc, text = run_tool(c_tool, path, tmp_path / "unused")
        assert rc == 1 and text.startswith("status "), (i, rc, text)
