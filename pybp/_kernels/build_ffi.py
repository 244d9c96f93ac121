"""cffi builder for pybp._kernels._pybp_c (API mode, compiled by setup.py).

The cdef is read from csrc/pybp.h, between its two marker comments, so the
declarations Python sees are the header's own and cannot drift from it.
The extension also carries a digest of the C sources it was built from
(pybp_build_digest()), so that a checkout can tell when its extension is
stale; the headers are declared as dependencies, so that editing one
rebuilds it.  It is linked stripped on Linux (PYBP_KEEP_SYMBOLS=1 keeps
the symbols, for debuggers and sanitizers).
"""

import glob
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(os.path.dirname(os.path.dirname(HERE)), "csrc")
HEADER = os.path.join(CSRC, "pybp.h")
SOURCES = ["pybp.c", "pybp_f32.c", "pybp_net.c", "pybp_model.c"]

# Exactness (docs/exactness.md): no contraction into FMA, no fast-math.
CFLAGS = ["-std=c99", "-O3", "-ffp-contract=off", "-fno-fast-math"]


def read_cdef(path=HEADER):
    """The declarations between the cdef markers, with comments removed."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"/\* pybp cdef begin \*/(.*?)/\* pybp cdef end \*/", text, re.S)
    if m is None:
        raise RuntimeError("cdef markers not found in %s" % path)
    block = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return re.sub(r"//[^\n]*", "", block)


def source_digest(csrc=CSRC):
    """A digest of every C source and header in csrc (names and bytes)."""
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(csrc, "*.[ch]"))):
        if os.path.basename(path).startswith("test_"):
            continue  # the C tests are not part of the extension
        h.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def link_args():
    if sys.platform.startswith("linux") and not os.environ.get("PYBP_KEEP_SYMBOLS"):
        return ["-s"]
    return []


def compile_args():
    """The C compiler flags the extension is built with."""
    import platform
    if os.name == "nt":  # MSVC: precise mode neither contracts nor reorders
        return ["/fp:precise"]
    args = list(CFLAGS)
    machine = platform.machine().lower()
    if machine in ("i386", "i486", "i586", "i686", "x86"):
        args += ["-msse2", "-mfpmath=sse"]
    if machine == "s390x":  # float arithmetic in float (csrc/Makefile says why)
        args += ["-fexcess-precision=fast"]
    return args


# random.Random(...).shuffle of perm[0 .. n-1] (n < 2**31) from the
# generator's state (mt: its 624 words, *pos: its index, as getstate() has
# them), as CPython computes it: the Mersenne Twister MT19937's 32-bit
# outputs, getrandbits(k) = output >> (32 - k), and for i = n-1 .. 1 a swap
# of perm[i] with perm[j], j = getrandbits(bit length of i+1) redrawn
# until j <= i.  An epoch's shuffle takes 16 ms in Python at 50,000.
SHUFFLE = r"""
#include <stdint.h>
static uint32_t pybp_py_mt_next(uint32_t *mt, size_t *pos)
{
    uint32_t y;
    size_t k;
    if (*pos >= 624) {
        for (k = 0; k < 624; k++) {
            y = (mt[k] & 0x80000000u) | (mt[(k + 1) % 624] & 0x7fffffffu);
            mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        *pos = 0;
    }
    y = mt[(*pos)++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}
void pybp_py_shuffle(uint32_t *mt, size_t *pos, size_t *perm, size_t n)
{
    size_t i, j, t, bound;
    int bits;
    for (i = n - 1; i >= 1 && n > 1; i--) {
        bound = i + 1;
        for (bits = 0; (bound >> bits) != 0; bits++)
            ;
        do
            j = pybp_py_mt_next(mt, pos) >> (32 - bits);
        while (j >= bound);
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
"""


def make_builder():
    """The cffi builder of the extension (setup.py's cffi_modules names this
    function: cffi calls it, so importing this module, as a checkout's
    staleness check does, parses nothing and needs no pycparser)."""
    from cffi import FFI
    builder = FFI()
    builder.cdef(read_cdef() + "\nconst char *pybp_build_digest(void);\n"
                 "void pybp_py_narrow(const double *src, float *dst, size_t n);\n"
                 "int pybp_py_all_finite(const double *v, size_t n);\n"
                 "int pybp_py_all_finite_f32(const float *v, size_t n);\n"
                 "void pybp_py_shuffle(uint32_t *mt, size_t *pos, size_t *perm,"
                 " size_t n);\n")
    headers = sorted(glob.glob(os.path.join(CSRC, "*.h")))
    builder.set_source(
        "pybp._kernels._pybp_c",
        '#include "pybp.h"\n'
        'const char *pybp_build_digest(void) { return "%s"; }\n'
        # float32 feedforward's input: each double rounded to float as C's
        # conversion (and so array("f")) rounds it; a finite value beyond
        # float's range becomes inf, which pybp_infer_f32 then refuses.
        'void pybp_py_narrow(const double *src, float *dst, size_t n)\n'
        '{ size_t i; for (i = 0; i < n; i++) dst[i] = (float)src[i]; }\n'
        # all_finite: x - x is 0 for a finite x and NaN for inf and NaN.
        'int pybp_py_all_finite(const double *v, size_t n)\n'
        '{ size_t i; int bad = 0;\n'
        '  for (i = 0; i < n; i++) bad |= v[i] - v[i] != 0.0; return !bad; }\n'
        'int pybp_py_all_finite_f32(const float *v, size_t n)\n'
        '{ size_t i; int bad = 0;\n'
        '  for (i = 0; i < n; i++) bad |= v[i] - v[i] != 0.0f; return !bad; }\n'
        % source_digest() + SHUFFLE,
        sources=[os.path.relpath(os.path.join(CSRC, s)) for s in SOURCES],
        depends=[os.path.relpath(h) for h in headers],
        include_dirs=[os.path.relpath(CSRC)],
        extra_compile_args=compile_args(),
        extra_link_args=link_args(),
        libraries=[] if os.name == "nt" else ["m", "pthread"],
    )
    return builder


if __name__ == "__main__":
    assert os.path.exists(HEADER), "no csrc/ beside this package"
    make_builder().compile(verbose=True)
