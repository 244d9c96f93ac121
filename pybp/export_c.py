"""Export a network as one self-contained C99 header: parameters and inference.

    from pybp.export_c import export_c
    text = export_c(net, name="mnist")        # the C source, as a string
    write_c(net, "mnist.h", name="mnist")     # written atomically

The generated file needs nothing but libm and allocates nothing.  Its
feedforward performs the float64 operations of pybp's reference in the same
order (docs/exactness.md), so compiled without contraction into fused
multiply-adds (-ffp-contract=off, no -ffast-math) it returns the same bits as
``Network.feedforward`` on the same platform.  Parameters are written as C99
hexadecimal floating constants (``float.hex``), which are exact.
"""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

from .spec import layer_offsets

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

__all__ = ["export_c", "write_c", "check_name", "STACK_LIMIT"]

# Scratch up to this many doubles (128 KiB) lives on the stack of
# <name>_feedforward; more than that goes to a static array instead, which
# makes that one function non-reentrant (<name>_feedforward_r never is).
STACK_LIMIT = 16384

_C_KEYWORDS = frozenset("""auto break case char const continue default do
double else enum extern float for goto if inline int long register restrict
return short signed sizeof static struct switch typedef union unsigned void
volatile while""".split())

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

_PER_LINE = 3  # hex constants per line: lines stay under 80 columns


def check_name(name: str) -> str:
    """The prefix of every generated identifier; must be a plain C identifier."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError("--name %r: a C identifier is needed (a letter, then "
                         "letters, digits or _)" % (name,))
    if name in _C_KEYWORDS or keyword.iskeyword(name):
        raise ValueError("--name %r is a C keyword" % (name,))
    return name


def _array(ctype: str, values: Sequence[float]) -> List[str]:
    lines = ["static const double %s[%d] = {" % (ctype, len(values))]
    for i in range(0, len(values), _PER_LINE):
        chunk = values[i:i + _PER_LINE]
        lines.append("    " + ", ".join(float.hex(float(v)) for v in chunk) + ",")
    lines.append("};")
    return lines


def _layer_code(p: str, l: int, n_in: int, n_out: int, act: str,
                src: str, dst: str) -> List[str]:
    """C statements computing layer l from `src` into `dst`."""
    w, b = "%s_w%d" % (p, l), "%s_b%d" % (p, l)
    lines = [
        "    /* layer %d: %d -> %d, %s */" % (l, n_in, n_out, act),
        "    for (j = 0; j < %d; j++) {" % n_out,
        "        const double *row = %s + (size_t)j * %d;" % (w, n_in),
        "        double s = 0.0;",
        "        for (k = 0; k < %d; k++)" % n_in,
        "            s += row[k] * %s[k];" % src,
    ]
    if act == "sigmoid":
        lines.append("        %s[j] = %s_sigmoid(s + %s[j]);" % (dst, p, b))
    elif act == "tanh":
        lines.append("        %s[j] = tanh(s + %s[j]);" % (dst, b))
    elif act == "relu":
        lines += ["        s = s + %s[j];" % b,
                  "        %s[j] = s > 0.0 ? s : 0.0;" % dst]
    else:  # identity, and softmax's z (finished below)
        lines.append("        %s[j] = s + %s[j];" % (dst, b))
    lines.append("    }")
    if act == "softmax":
        lines += [
            "    {   /* softmax: the first largest z, exp(z - top), the sum in",
            "           ascending order, then one division each */",
            "        double top = %s[0], sum = 0.0;" % dst,
            "        for (j = 1; j < %d; j++)" % n_out,
            "            if (%s[j] > top)" % dst,
            "                top = %s[j];" % dst,
            "        for (j = 0; j < %d; j++)" % n_out,
            "            %s[j] = exp(%s[j] - top);" % (dst, dst),
            "        for (j = 0; j < %d; j++)" % n_out,
            "            sum += %s[j];" % dst,
            "        for (j = 0; j < %d; j++)" % n_out,
            "            %s[j] = %s[j] / sum;" % (dst, dst),
            "    }",
        ]
    return lines


def _spec_and_params(net) -> Tuple[Tuple[int, ...], Tuple[str, ...], str, Sequence[float]]:
    spec = net.spec
    return tuple(spec.sizes), tuple(spec.activations), spec.cost, net.params


def export_c(net: "Network", name: str = "model", *,
             source: Optional[str] = None) -> str:
    """The C99 source of a header holding `net`'s parameters and feedforward.

    `name` prefixes every identifier (``<name>_feedforward``, ``<NAME>_N_INPUTS``,
    ...); `source` (e.g. the model file's name) is mentioned in the header
    comment.
    """
    p = check_name(name)
    P = p.upper()
    sizes, acts, cost, params = _spec_and_params(net)
    L = len(sizes) - 1
    hidden = sizes[1:-1]
    width = max(hidden) if hidden else 0
    scratch = 2 * width if L > 2 else width  # ping-pong only from 3 layers on
    on_stack = scratch <= STACK_LIMIT
    from . import __version__

    shape = "-".join(map(str, sizes))
    out: List[str] = [
        "/* %s: a pybp network exported as C99 by pybp %s (export-c)."
        % (p, __version__),
        " *",
        " * Network: sizes %s; activations %s;" % (shape, ", ".join(acts)),
        " * trained with the %s cost." % cost,
    ]
    if source:
        # Printable ASCII only, and nothing that could end the comment.
        text = "".join(c if " " <= c <= "~" else "?" for c in source)
        out.append(" * Exported from: %s" % text.replace("*/", "* /"))
    out += [
        " *",
        " *   int %s_feedforward(const double *x, double *out);" % p,
        " *   int %s_feedforward_r(const double *x, double *out, double *scratch);" % p,
        " *",
        " * x holds %s_N_INPUTS inputs and out receives %s_N_OUTPUTS output"
        % (P, P),
        " * activations (x and out must not overlap).  Both functions return",
        " * the predicted class, the index of the first largest output (what",
        " * `pybp predict` prints).  _r works in the caller's scratch of",
        " * %s_SCRATCH doubles (%d here) and is reentrant;" % (P, scratch),
    ]
    if on_stack:
        out.append(" * %s_feedforward keeps its scratch on the stack, reentrant too."
                   % p)
    else:
        out += [" * %s_feedforward uses a static scratch array (too large for"
                % p,
                " * the stack), so it is NOT reentrant: with threads, use _r."]
    out += [
        " * Nothing is allocated; only libm is needed.",
        " *",
        " * Exactness: the operations are pybp's (docs/exactness.md): each weighted",
        " * sum starts at 0.0 and adds w*a in ascending order, then the bias.",
        " * Compile WITHOUT floating-point contraction or fast-math, e.g.",
        " *     cc -std=c99 -O2 -ffp-contract=off prog.c -lm",
        " * (GCC ignores the FP_CONTRACT pragma below; on 32-bit x86 also add",
        " * -msse2 -mfpmath=sse).  Built so, the outputs are bit for bit those of",
        " * pybp's Network.feedforward on the same platform and libm.",
        " */",
        "#ifndef %s_H_INCLUDED" % P,
        "#define %s_H_INCLUDED" % P,
        "",
        "#include <math.h>",
        "#include <stddef.h>",
        "",
        "/* No fused multiply-add.  GCC ignores (and warns about) the standard",
        "   pragma: there -ffp-contract=off does this work. */",
        "#if defined(_MSC_VER) && !defined(__clang__)",
        "#pragma fp_contract(off)",
        "#elif !defined(__GNUC__) || defined(__clang__)",
        "#pragma STDC FP_CONTRACT OFF",
        "#endif",
        "",
        "#define %s_N_INPUTS %d" % (P, sizes[0]),
        "#define %s_N_OUTPUTS %d" % (P, sizes[-1]),
        "#define %s_N_LAYERS %d /* input layer included */" % (P, len(sizes)),
        "#define %s_N_PARAMS %d" % (P, len(params)),
        "#define %s_SCRATCH %d /* doubles of scratch for _feedforward_r */"
        % (P, scratch),
        "#define %s_REENTRANT %d /* whether _feedforward is reentrant */"
        % (P, 1 if on_stack else 0),
        "",
    ]
    for l, (w_off, b_off) in enumerate(layer_offsets(sizes), start=1):
        n_in, n_out = sizes[l - 1], sizes[l]
        out.append("/* W^%d: %d rows of %d, row-major; b^%d: %d */"
                   % (l, n_out, n_in, l, n_out))
        out += _array("%s_w%d" % (p, l), params[w_off:b_off])
        out += _array("%s_b%d" % (p, l), params[b_off:b_off + n_out])
        out.append("")
    if "sigmoid" in acts:
        out += [
            "/* 1/(1+e^-z), branching on the sign of z so that exp never overflows */",
            "static inline double %s_sigmoid(double z)" % p,
            "{",
            "    double e;",
            "    if (z >= 0.0)",
            "        return 1.0 / (1.0 + exp(-z));",
            "    e = exp(z);",
            "    return e / (1.0 + e);",
            "}",
            "",
        ]

    # Layers alternate between two halves of the scratch; the last one writes
    # out directly, the first reads x directly.
    out += [
        "static inline int %s_feedforward_r(const double *x, double *out,"
        " double *scratch)" % p,
        "{",
        "    int j, k, best = 0;",
    ]
    if L == 1:
        out.append("    (void)scratch;")
    else:
        out.append("    double *h1 = scratch;")
    if L > 2:
        out.append("    double *h2 = scratch + %d;" % width)
    src = "x"
    for l in range(1, L + 1):
        if l == L:
            dst = "out"
        else:
            dst = "h1" if l % 2 == 1 else "h2"
        out += _layer_code(p, l, sizes[l - 1], sizes[l], acts[l - 1], src, dst)
        src = dst
    out += [
        "    /* the predicted class: the first largest output */",
        "    for (j = 1; j < %d; j++)" % sizes[-1],
        "        if (out[j] > out[best])",
        "            best = j;",
        "    return best;",
        "}",
        "",
        "static inline int %s_feedforward(const double *x, double *out)" % p,
        "{",
    ]
    if scratch == 0:
        out.append("    return %s_feedforward_r(x, out, NULL);" % p)
    elif on_stack:
        out += ["    double scratch[%d];" % scratch,
                "    return %s_feedforward_r(x, out, scratch);" % p]
    else:
        out += ["    static double scratch[%d]; /* not reentrant */" % scratch,
                "    return %s_feedforward_r(x, out, scratch);" % p]
    out += ["}", "", "#endif /* %s_H_INCLUDED */" % P, ""]
    return "\n".join(out)


def write_c(net: "Network", path: str, name: str = "model", *,
            source: Optional[str] = None) -> None:
    """Write export_c(net, name) to `path`, atomically."""
    from .files import save_file
    save_file(path, export_c(net, name, source=source).encode("ascii"))
