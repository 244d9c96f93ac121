"""Milliseconds per example of the pure-Python reference's gradient.

    python bench/bench_reference.py                   # this checkout
    python bench/bench_reference.py --against HEAD~1  # and an older reference

Times pybp/_kernels/reference.py (the Python backend) on a [784, 30, 10] network,
sigmoid layers, quadratic cost, inputs uniform in [0, 1) with random labels,
as `pybp bench gradient` draws them:

* one example:   gradient() of a single example (what Network.backprop runs):
                 feedforward, BP1-BP4 and the gradient as an array;
* batch of m:    gradient() of m examples, divided by m;
* sgd step:      one update_mini_batch-style step on m examples, divided by m
                 (the gradient plus the parameter update).

Each figure is the minimum over --repeat rounds (the machine may be shared:
the minimum is the least disturbed run).  With --against REV the reference of
that git revision is loaded too, timed in the same rounds (interleaved), and
checked to give the same bits.
"""

import argparse
import importlib.util
import os
import random
import subprocess
import sys
import tempfile
import time
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from pybp.dataset import Dataset  # noqa: E402
from pybp.network import Network  # noqa: E402

# Where the reference lives now, and where revisions before the kernel
# package kept it.
PLACES = ("pybp/_kernels/reference.py", "pybp/_reference.py")


def _source_at(rev):
    for place in PLACES:
        shown = subprocess.run(["git", "show", "%s:%s" % (rev, place)], cwd=ROOT,
                               capture_output=True, check=False)
        if shown.returncode == 0:
            return shown.stdout
    raise SystemExit("no reference module at revision %s (looked for %s)"
                     % (rev, ", ".join(PLACES)))


def load_reference(rev=None):
    """The reference module of the working tree, or of git revision rev."""
    path = os.path.join(ROOT, *PLACES[0].split("/"))
    name = "reference_worktree"
    if rev is not None:
        source = _source_at(rev)
        fd, path = tempfile.mkstemp(suffix=".py")
        with os.fdopen(fd, "wb") as f:
            f.write(source)
        name = "reference_" + rev.replace("~", "_").replace("^", "_")
    # A module of the kernel package, so that its relative imports (the
    # elementary functions) resolve, to this checkout's.
    spec = importlib.util.spec_from_file_location("pybp._kernels." + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if rev is not None:
        os.unlink(path)
    return module


def per_call(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="784,30,10")
    ap.add_argument("--batch", type=int, default=10, help="m (default 10)")
    ap.add_argument("--repeat", type=int, default=20, help="rounds (default 20)")
    ap.add_argument("--against", metavar="REV", action="append", default=[],
                    help="also time the reference of this git revision")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    m = args.batch

    net = Network(sizes, "sigmoid", "quadratic", seed=0, init="scaled",
                  backend="python")
    spec, params = net.spec, net.params
    rng = random.Random(0)
    n_in, n_out = sizes[0], sizes[-1]
    xs = array("d", (rng.random() for _ in range(m * n_in)))
    labels = array("i", (rng.randrange(n_out) for _ in range(m)))
    batch = Dataset(xs, labels=labels, n_inputs=n_in)
    one = Dataset(xs[:n_in], labels=labels[:1], n_inputs=n_in)

    versions = [("this tree", load_reference())]
    versions += [(rev, load_reference(rev)) for rev in args.against]
    want = [versions[0][1].gradient(spec, params, d).tobytes() for d in (one, batch)]
    for label, ref in versions[1:]:
        got = [ref.gradient(spec, params, d).tobytes() for d in (one, batch)]
        print("%s: %s bits as this tree" % (label, "same" if got == want else "DIFFERENT"))

    def step(ref):
        p = array("d", params)
        return lambda: ref.sgd_step(spec, p, batch, range(m), 3.0, 0.0, 50000, 0.0)

    cases = []
    for label, ref in versions:
        cases.append((label, "one example", 1,
                      lambda ref=ref: ref.gradient(spec, params, one)))
        cases.append((label, "batch of %d" % m, m,
                      lambda ref=ref: ref.gradient(spec, params, batch)))
        cases.append((label, "sgd step, m=%d" % m, m, step(ref)))
    calls = [max(1, int(0.05 / max(per_call(fn, 1), 1e-6))) for _, _, _, fn in cases]
    best = [float("inf")] * len(cases)
    for _ in range(args.repeat):
        for i, (_, _, _, fn) in enumerate(cases):
            best[i] = min(best[i], per_call(fn, calls[i]))

    print("pure-Python reference, sizes %s, Python %s, min of %d rounds"
          % (sizes, sys.version.split()[0], args.repeat))
    print("%-12s %-18s %s" % ("reference", "case", "ms per example"))
    for (label, what, examples, _), t in zip(cases, best):
        print("%-12s %-18s %.3f" % (label, what, t / examples * 1e3))


if __name__ == "__main__":
    main()
