"""The golden cases: small networks of every activation and cost with the
reference's outputs, cost, gradient, evaluation and trained parameters,
written as hex-float text any language can read (tests/golden/README.md
describes the format), for other implementations' test suites and for
pybp's own platform matrix.

    pybp golden -o DIR                    # write them (the command line)
    python tests/golden/make_golden.py    # regenerate the repository's copy

Every number in the files is computed by the pure-Python reference backend
(pybp._kernels.reference, through Network.kernels), so they are what
"correct" means, written down once in a form any language can read (the
format is in README.md beside this file).  The parameters, inputs, targets
and permutations come from random.Random(seed) through exact operations
only (random() is k / 2^53; subtracting 0.5 and scaling by a power of two
round nothing), so they are the same numbers wherever this script runs.
exp, log and tanh are pybp's own, so the expected results are the same
wherever this runs.

Running it twice writes the same bytes.  Regenerating is a deliberate act:
do it when the numbers change on purpose (CONTRIBUTING.md's rules), and
commit the new files with the change that made them.

This module is also the reader of the format for tests/test_golden.py
(read_case, read_manifest, results_text).
"""

import hashlib
import io
import json
import os
import random
from array import array
from typing import Any, Dict

from .dataset import Dataset
from .files import save_file
from .network import Network
from .spec import nparams

# name, seed, sizes, activations, cost, count, targets, mini-batch size,
# lmbda, n (None: count), inputs ("float" or "u8").
# targets: "dense" (rows in [0, 1)), "binary" (0.0, 1.0 and fractions, for
# cross-entropy), "onehot" (dense one-hot rows), "labels" (class indices).
CASES = [
    ("sigmoid_quadratic", 101, [3, 4, 2], ["sigmoid", "sigmoid"], "quadratic",
     5, "dense", 2, 0.0, None, "float"),
    ("tanh_softmax_loglik", 102, [4, 5, 3], ["tanh", "softmax"], "log-likelihood",
     6, "labels", 4, 1.5, 60, "float"),
    ("relu_sigmoid_crossentropy", 103, [3, 6, 4, 2], ["relu", "relu", "sigmoid"],
     "cross-entropy", 7, "binary", 3, 0.25, 20, "float"),
    ("identity_quadratic_width1", 104, [2, 3, 1], ["identity", "identity"],
     "quadratic", 4, "dense", 4, 0.0, None, "float"),
    ("batch1_width1", 105, [5, 1, 3], ["sigmoid", "tanh"], "quadratic",
     1, "dense", 1, 0.5, 10, "float"),
    ("deep_mixed", 106, [6, 8, 7, 5, 4], ["tanh", "relu", "identity", "softmax"],
     "log-likelihood", 9, "onehot", 4, 0.0, None, "float"),
    # Wide enough for every vector width and its tail, u8 inputs, and
    # mini-batches large enough for two worker threads.
    ("wide_u8_threads", 107, [17, 9, 5], ["relu", "sigmoid"], "cross-entropy",
     40, "labels", 32, 1.0, 40, "u8"),
    # Edge cases (TWEAKS below makes them so).
    ("all_width1", 108, [1, 1, 1], ["sigmoid", "sigmoid"], "cross-entropy",
     3, "binary", 2, 0.0, None, "float"),
    ("relu_zero", 109, [3, 4, 2], ["relu", "identity"], "quadratic",
     4, "dense", 4, 0.0, None, "float"),
    ("sigmoid_saturated", 110, [3, 4, 2], ["sigmoid", "sigmoid"], "cross-entropy",
     4, "binary", 2, 0.0, None, "float"),
    ("sigmoid_saturated_quadratic", 111, [3, 4, 2], ["sigmoid", "sigmoid"],
     "quadratic", 4, "dense", 2, 0.0, None, "float"),
    ("softmax_large_logits", 112, [3, 4, 5], ["identity", "softmax"],
     "log-likelihood", 4, "labels", 4, 0.0, None, "float"),
]


def _zero_unit(spec, params):
    """Hidden unit 0 gets zero weights and bias: z is exactly 0 for every
    example (+0.0 or -0.0 by the signs of its inputs), where ReLU's
    derivative is taken as 0."""
    layer = spec.layers()[0]
    for i in range(layer.w, layer.w + layer.n_in):
        params[i] = 0.0
    params[layer.b] = 0.0


def _saturate(spec, params):
    """Every parameter times 2^7 (exact): |z| up to about 400, so sigmoid
    rounds to 1.0 or to values near the bottom of the range, and sigma'
    underflows; a cost written through a^L instead of z breaks here."""
    for i in range(len(params)):
        params[i] *= 128.0


def _large_logits(spec, params):
    """The output biases plus 2^10 and its weights times 2^4: logits near
    1000, where exp overflows unless the largest logit is taken out first.
    (b + 1024 rounds, but as IEEE 754 addition does on every platform.)"""
    layer = spec.layers()[-1]
    for i in range(layer.w, layer.b):
        params[i] *= 16.0
    for i in range(layer.b, layer.end):
        params[i] += 1024.0


TWEAKS = {"relu_zero": _zero_unit, "sigmoid_saturated": _saturate,
          "sigmoid_saturated_quadratic": _saturate,
          "softmax_large_logits": _large_logits}

DIVISOR = 255.0
# The JSON files' "version": raised when their layout changes.
FORMAT_VERSION = 1


def hexf(v):
    """A float as text: Python's float.hex (C prints the same form itself)."""
    return float(v).hex()


def line(name, values, kind="float"):
    values = list(values)
    if kind == "float":
        words = [hexf(v) for v in values]
    else:
        words = [str(v) for v in values]
    return "%s %d %s\n" % (name, len(values), " ".join(words))


def uniform(rng, scale):
    """(random() - 0.5) * scale, scale a power of two: exact operations only."""
    return (rng.random() - 0.5) * scale


def make_case(name, seed, sizes, activations, cost, count, targets, mbs, lmbda,
              n, inputs):
    rng = random.Random(seed)
    net = Network.from_params(sizes, activations, cost, [0.0] * nparams(sizes),
                              backend="python")
    spec, k = net.spec, net.kernels
    params = array("d", [uniform(rng, 2.0) for _ in range(spec.nparams)])
    n_in, n_out = sizes[0], sizes[-1]
    if inputs == "u8":
        x_u8 = [rng.randrange(256) for _ in range(count * n_in)]
    else:
        x = [uniform(rng, 2.0) for _ in range(count * n_in)]
    labels = y = None
    if targets == "labels":
        labels = [rng.randrange(n_out) for _ in range(count)]
    elif targets == "onehot":
        y = []
        for _ in range(count):
            hot = rng.randrange(n_out)
            y += [1.0 if j == hot else 0.0 for j in range(n_out)]
    elif targets == "binary":
        y = [rng.choice([0.0, 1.0, rng.random()]) for _ in range(count * n_out)]
    else:
        y = [rng.random() for _ in range(count * n_out)]
    perm = list(range(count))
    rng.shuffle(perm)
    eta = 0.5 + rng.random()  # in [0.5, 1.5), exact
    n = count if n is None else n
    if name in TWEAKS:
        TWEAKS[name](spec, params)

    xin: Any
    if inputs == "u8":
        xin = bytes(x_u8)
        kw = {"n_inputs": n_in, "divisor": DIVISOR}
    else:
        xin = array("d", x)
        kw = {"n_inputs": n_in}
    if labels is not None:
        data = Dataset(xin, labels=labels, **kw)
    else:
        ys = [y[i * n_out:(i + 1) * n_out] for i in range(count)]
        data = Dataset(xin, ys, **kw)

    head = ["# pybp golden case (tests/golden/README.md); written by "
            "make_golden.py, do not edit\n",
            "case 1 %s\n" % name,
            line("sizes", sizes, "int"),
            line("activations", activations, "word"),
            line("cost", [cost], "word"),
            line("count", [count], "int"),
            line("params", params)]
    if inputs == "u8":
        head += [line("x_u8", x_u8, "int"), line("divisor", [DIVISOR])]
    else:
        head += [line("x", x)]
    head += [line("labels", labels, "int") if labels is not None else line("y", y),
             line("eta", [eta]), line("lmbda", [lmbda]), line("n", [n], "int"),
             line("mini_batch_size", [mbs], "int"), line("perm", perm, "int")]

    out = k.forward_outputs(spec, params, data)
    total = k.cost_total(spec, params, data, 0.0)
    grad = k.gradient(spec, params, data)
    correct = k.evaluate(spec, params, data)
    updated = array("d", params)
    k.update_mini_batch(spec, updated, data, eta, lmbda, n)
    trained = array("d", params)
    epoch_cost = k.sgd_epoch(spec, trained, data, perm, mbs, eta, lmbda, n, 0.0)
    expected = [line("out", out), line("cost_total", [total]),
                line("gradient", grad), line("correct", [correct], "int"),
                line("update", updated), line("epoch", trained),
                line("epoch_cost", [epoch_cost])]
    text = "".join(head) + "expected 0\n" + "".join(expected)

    # The same case as JSON, with every traced quantity besides.
    net = Network.from_params(sizes, activations, cost, params, backend="python")
    t = net.trace(data)
    hx = _hex_rows
    doc: Dict[str, Any] = {
        "format": "pybp-golden", "version": FORMAT_VERSION, "case": name,
        "sizes": list(sizes), "activations": list(activations), "cost": cost,
        "count": count, "params": hx(params)}
    if inputs == "u8":
        doc["x_u8"] = [x_u8[i * n_in:(i + 1) * n_in] for i in range(count)]
        doc["divisor"] = hexf(DIVISOR)
    else:
        doc["x"] = [hx(x[i * n_in:(i + 1) * n_in]) for i in range(count)]
    if labels is not None:
        doc["labels"] = labels
    else:
        doc["y"] = [hx(y[i * n_out:(i + 1) * n_out]) for i in range(count)]
    doc.update({"eta": hexf(eta), "lmbda": hexf(lmbda), "n": n,
                "mini_batch_size": mbs, "perm": perm})
    L = len(sizes) - 1
    doc["trace"] = {q: [[hx(row) for row in t[l][q]] for l in range(1, L + 1)]
                    for q in ("z", "a", "delta")}
    doc["trace"]["grad_w"] = [[hx(row) for row in t[l]["grad_w"]]
                              for l in range(1, L + 1)]
    doc["trace"]["grad_b"] = [hx(t[l]["grad_b"]) for l in range(1, L + 1)]
    doc["expected"] = {
        "out": [hx(out[i * n_out:(i + 1) * n_out]) for i in range(count)],
        "cost": hexf(t.cost), "cost_total": hexf(total), "gradient": hx(grad),
        "correct": correct, "update": hx(updated), "epoch": hx(trained),
        "epoch_cost": hexf(epoch_cost)}
    return text, json.dumps(doc, indent=1) + "\n"


def _hex_rows(values):
    return [hexf(v) for v in values]


# --- reading -------------------------------------------------------------------


def read_case(path):
    """A case file as {name: [words]}, plus "expected_text": the expected
    lines as written (what test_golden.c prints for the case)."""
    with open(path, encoding="ascii", newline="") as f:
        text = f.read()
    fields: Dict[str, Any] = {}
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        words = ln.split(" ")
        name, count, values = words[0], int(words[1]), words[2:]
        if len(values) != count:
            raise ValueError("%s: %s says %d values, has %d"
                             % (path, name, count, len(values)))
        fields[name] = values
    fields["expected_text"] = text.split("expected 0\n", 1)[1]
    return fields


def floats(words):
    return [float.fromhex(w) for w in words]


def read_manifest(directory):
    """[(case name, sha256 of its file)], and the digest of the results."""
    cases, results = [], None
    with open(os.path.join(directory, "MANIFEST"), encoding="ascii") as f:
        for ln in f:
            words = ln.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "case":
                cases.append((words[1], words[2]))
            elif words[0] == "results":
                results = words[1]
    return cases, results


def results_text(texts):
    """What test_golden.c writes with -o: per case, in MANIFEST order, a
    "case 1 NAME" line and the case's expected lines."""
    return "".join("case 1 %s\n%s" % (name, text) for name, text in texts)


def sha256(text):
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def write(directory, npy=False):
    """Write every case (NAME.txt and NAME.json) and the MANIFEST into
    directory; returns how many cases.  The same bytes every time (and on
    every platform).  npy=True also writes NAME/*.npy (needs numpy)."""
    manifest = ["# pybp golden cases (README.md): case NAME SHA256-of-NAME.txt;\n",
                "# json NAME SHA256-of-NAME.json;\n",
                "# results: SHA256 of test_golden -o's output, the expected\n",
                "# lines of every case in this order.\n"]
    texts = []
    for case in CASES:
        text, doc = make_case(*case)
        name = case[0]
        save_file(os.path.join(directory, name + ".txt"), text.encode("ascii"))
        save_file(os.path.join(directory, name + ".json"), doc.encode("ascii"))
        if npy:
            write_npy(os.path.join(directory, name), json.loads(doc))
        manifest.append("case %s %s\n" % (name, sha256(text)))
        manifest.append("json %s %s\n" % (name, sha256(doc)))
        texts.append((name, text.split("expected 0\n", 1)[1]))
    manifest.append("results %s\n" % sha256(results_text(texts)))
    save_file(os.path.join(directory, "MANIFEST"), "".join(manifest).encode("ascii"))
    return len(CASES)


def write_npy(directory, doc):
    """One .npy file per array of a case's JSON document (float64, or int64
    for labels, x_u8 as uint8): params.npy, x.npy, y.npy or labels.npy,
    z_1.npy .. and the same for a, delta, grad_w, grad_b, and out.npy,
    gradient.npy, update.npy, epoch.npy."""
    import numpy as np  # only here: the text and JSON files need no numpy

    from .files import make_directory
    make_directory(directory)

    def put(name, value, dtype="f8"):
        if dtype == "f8":
            arr = np.array(_from_hex(value), dtype=np.float64)
        else:
            arr = np.array(value, dtype=dtype)
        buf = io.BytesIO()
        np.save(buf, arr)
        save_file(os.path.join(directory, name + ".npy"), buf.getvalue())

    put("params", doc["params"])
    if "x" in doc:
        put("x", doc["x"])
    else:
        put("x_u8", doc["x_u8"], "u1")
    if "labels" in doc:
        put("labels", doc["labels"], "i8")
    else:
        put("y", doc["y"])
    for q, layers in doc["trace"].items():
        for l, value in enumerate(layers, start=1):
            put("%s_%d" % (q, l), value)
    for key in ("out", "gradient", "update", "epoch"):
        put(key, doc["expected"][key])


def _from_hex(value):
    """Nested lists of hex-float strings as nested lists of floats."""
    if isinstance(value, str):
        return float.fromhex(value)
    return [_from_hex(v) for v in value]
