"""Export a network as one self-contained C99 header: parameters and inference.

    from pybp.export_c import export_c
    text = export_c(net, name="mnist")        # the C source, as a string
    write_c(net, "mnist.h", name="mnist")     # written atomically

The generated file calls no library function and allocates nothing.  Its
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


# pybp's own exp, log and tanh: the text between the "pybp elementary" markers
# of csrc/pybp_elementary.h, verbatim (tests/test_export_c.py checks it), so
# an exported model needs no libm and gets pybp's bits on every platform.
ELEMENTARY_C = """\
static inline double pybp__from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t pybp__to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* 2^k for -1022 <= k <= 1023. */
static inline double pybp__pow2(int k)
{
    return pybp__from_bits((uint64_t)(k + 1023) << 52);
}

/* 1.5 * 2^52: (x + SHIFT) - SHIFT is x rounded to the nearest integer. */
#define PYBP__SHIFT 6755399441055744.0
/* ln 2 = LN2_HI + LN2_LO; k * LN2_HI is exact for |k| < 2^21. */
#define PYBP__LN2_HI 6.93147180369123816490e-01
#define PYBP__LN2_LO 1.90821492927058770002e-10
#define PYBP__INV_LN2 1.44269504088896338700e+00

/* exp's polynomial in r (rr = r * r), one term at a time; the vector exp
 * of the C core's kernels computes the same expression. */
#define PYBP__EXP_POLY(r, rr)                                            \\
    ((r) - (rr) * (1.66666666666666019037e-01                            \\
                 + (rr) * (-2.77777777770155933842e-03                   \\
                 + (rr) * (6.61375632143793436117e-05                    \\
                 + (rr) * (-1.65339022054652515390e-06                   \\
                 + (rr) * 4.13813679705723846039e-08)))))

/* e^x: x = k*ln2 + r, e^x = 2^k * e^r. */
static inline double pybp__exp(double x)
{
    double kd, hi, lo, r, rr, c, y;
    int k;
    if (x != x)
        return x;
    if (x > 7.09782712893383973096e+02)
        return INFINITY;
    if (x < -7.45133219101941108420e+02)
        return 0.0;
    kd = x * PYBP__INV_LN2 + PYBP__SHIFT - PYBP__SHIFT;
    hi = x - kd * PYBP__LN2_HI;
    lo = kd * PYBP__LN2_LO;
    r = hi - lo;
    rr = r * r;
    c = PYBP__EXP_POLY(r, rr);
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    k = (int)kd;
    if (k >= -1021) {
        if (k <= 1023)
            return y * pybp__pow2(k);
        return y * 2.0 * pybp__pow2(1023);
    }
    return y * pybp__pow2(k + 54) * pybp__pow2(-54);
}

/* Natural logarithm: x = 2^e * m, sqrt(1/2) <= m < sqrt(2), f = m - 1. */
static inline double pybp__log(double x)
{
    uint64_t u;
    int e;
    double m, f, s, z, w, t1, t2, R, hfsq, dk;
    if (x > 0.0) {
        if (x > 1.7976931348623157e+308)
            return x;
        u = pybp__to_bits(x);
        e = (int)(u >> 52);
        if (e == 0) {                      /* subnormal: scale by 2^54 */
            u = pybp__to_bits(x * pybp__pow2(54));
            e = (int)(u >> 52) - 54;
        }
        e = e - 1022;
        m = pybp__from_bits((u & 0x000fffffffffffffULL)
                            | 0x3fe0000000000000ULL);   /* 0.5 <= m < 1 */
        if (m < 0.7071067811865476) {
            m = m + m;
            e = e - 1;
        }
        f = m - 1.0;
        s = f / (2.0 + f);
        z = s * s;
        w = z * z;
        t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01
                + w * 1.531383769920937332e-01));
        t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
                + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
        R = t2 + t1;
        hfsq = 0.5 * f * f;
        dk = (double)e;
        return dk * PYBP__LN2_HI
            - ((hfsq - (s * (hfsq + R) + dk * PYBP__LN2_LO)) - f);
    }
    if (x == 0.0)
        return -INFINITY;
    if (x != x)
        return x;
    return NAN;
}

/* e^x - 1 for finite |x| <= 64 (what tanh needs). */
static inline double pybp__expm1_reduced(double x)
{
    double kd, hi, lo, r, c, hfx, hxs, r1, t, e, y, two_k;
    int k;
    kd = x * PYBP__INV_LN2 + PYBP__SHIFT - PYBP__SHIFT;
    hi = x - kd * PYBP__LN2_HI;
    lo = kd * PYBP__LN2_LO;
    r = hi - lo;
    c = (hi - r) - lo;
    k = (int)kd;
    hfx = 0.5 * r;
    hxs = r * hfx;
    r1 = 1.0 + hxs * (-3.33333333333331316428e-02
            + hxs * (1.58730158725481460165e-03
            + hxs * (-7.93650757867487942473e-05
            + hxs * (4.00821782732936239552e-06
            + hxs * -2.01099218183624371326e-07))));
    t = 3.0 - r1 * hfx;
    e = hxs * ((r1 - t) / (6.0 - r * t));
    if (k == 0)
        return r - (r * e - hxs);
    e = r * (e - c) - c;
    e = e - hxs;
    if (k == -1)
        return 0.5 * (r - e) - 0.5;
    if (k == 1) {
        if (r < -0.25)
            return -2.0 * (e - (r + 0.5));
        return 1.0 + 2.0 * (r - e);
    }
    two_k = pybp__pow2(k);
    if (k <= -2 || k > 56) {
        y = 1.0 - (e - r);
        return y * two_k - 1.0;
    }
    if (k < 20) {
        y = (1.0 - pybp__pow2(-k)) - (e - r);
        return y * two_k;
    }
    y = r - (e + pybp__pow2(-k));
    y = y + 1.0;
    return y * two_k;
}

/* tanh: x + x*(z*T(z)) (Taylor, x^3 .. x^39) below 0.55, else
 * 1 - 2/(expm1(2|x|) + 2); odd. */
static inline double pybp__tanh(double x)
{
    static const double T[19] = {
        -0.3333333333333333, 0.13333333333333333, -0.05396825396825397,
        0.021869488536155203, -0.008863235529902197, 0.003592128036572481,
        -0.0014558343870513183, 0.000590027440945586, -0.00023912911424355248,
        9.691537956929451e-05, -3.927832388331683e-05, 1.5918905069328964e-05,
        -6.451689215655431e-06, 2.6147711512907546e-06, -1.0597268320104654e-06,
        4.294911078273806e-07, -1.7406618963571648e-07, 7.054636946400968e-08,
        -2.859136662305254e-08
    };
    double a, z, p, y, t;
    int i;
    if (x != x)
        return x;
    a = x < 0.0 ? -x : x;
    if (a < 0.55) {
        if (a < 3.725290298461914e-09)
            return x;
        z = x * x;
        p = T[18];
        for (i = 17; i >= 0; i--)
            p = T[i] + z * p;
        return x + x * (z * p);
    }
    if (a >= 22.0) {
        y = 1.0;
    } else {
        t = pybp__expm1_reduced(a + a);
        y = 1.0 - 2.0 / (t + 2.0);
    }
    return x < 0.0 ? -y : y;
}
"""


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
        lines.append("        %s[j] = pybp__tanh(s + %s[j]);" % (dst, b))
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
            "            %s[j] = pybp__exp(%s[j] - top);" % (dst, dst),
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
        " * Nothing is allocated, and no libm function is called: exp and tanh",
        " * are pybp's own (below), the same bits on every platform.",
        " *",
        " * Exactness: the operations are pybp's (docs/exactness.md): each weighted",
        " * sum starts at 0.0 and adds w*a in ascending order, then the bias.",
        " * Compile WITHOUT floating-point contraction or fast-math, e.g.",
        " *     cc -std=c99 -O2 -ffp-contract=off prog.c -lm",
        " * (GCC ignores the FP_CONTRACT pragma below; on 32-bit x86 also add",
        " * -msse2 -mfpmath=sse).  Built so, the outputs are bit for bit those of",
        " * pybp's Network.feedforward, on any platform.",
        " */",
        "#ifndef %s_H_INCLUDED" % P,
        "#define %s_H_INCLUDED" % P,
        "",
        "#include <math.h>   /* INFINITY and NAN */",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        "/* No fused multiply-add.  GCC ignores (and warns about) the standard",
        "   pragma: there -ffp-contract=off does this work. */",
        "#if defined(_MSC_VER) && !defined(__clang__)",
        "#pragma fp_contract(off)",
        "#elif !defined(__GNUC__) || defined(__clang__)",
        "#pragma STDC FP_CONTRACT OFF",
        "#endif",
        "",
        "/* pybp's exp, log and tanh (pybp/_kernels/elementary.py); shared by",
        "   every exported model and csrc/pybp_elementary.h in one program. */",
        "#ifndef PYBP_ELEMENTARY_H_INCLUDED",
        "#define PYBP_ELEMENTARY_H_INCLUDED",
    ] + ELEMENTARY_C.rstrip("\n").split("\n") + [
        "#endif /* PYBP_ELEMENTARY_H_INCLUDED */",
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
            "        return 1.0 / (1.0 + pybp__exp(-z));",
            "    e = pybp__exp(z);",
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
