"""pybp against numpy, PyTorch and scikit-learn: training and inference grids.

    python bench/grid.py                       # the full grid (about 20 minutes)
    python bench/grid.py --quick               # a smoke test of a few seconds
    python bench/grid.py --nets 784,30,10 --batches 10,100 --repeat 3 --markdown

Training: every cell (network, mini-batch size m, precision) trains sigmoid
networks with the quadratic cost at eta 3.0 on MNIST's 50,000 training
images.  pybp and every peer run in this one process, on 1 and 2 threads,
interleaved: each repetition runs every implementation's epoch once, in an
order rotated from one repetition to the next, so that whatever else the
machine is doing falls on all of them alike.  An epoch is timed from the
outside as a whole: pybp's `net.train_epoch` with its shuffle, checks and
bookkeeping; each peer's epoch with its own shuffle.

Slow cells are bounded: every implementation of a cell trains on the same
prefix of the training set (`--examples`; by default chosen per cell from a
warm-up run so that one repetition of the cell takes about --cell-seconds),
and its times are scaled to seconds per 50,000-image epoch.

The report gives per cell the median and range of every implementation,
pybp's speed-up over the fastest peer on the same thread count (the peer's
time divided by pybp's, and its range over the repetitions), and pybp's
GFLOP/s (the flops of dense layers: 2 * n_l * n_(l-1) per layer for the
forward pass and for BP4, and for BP2 but on the first layer) against peaks
measured here: bench/peak.c (compiled now with the system compiler; a
multiply then an add, as pybp computes) and numpy's 1024 x 1024 product.
A second figure counts only the flops actually needed: about 80% of MNIST's
pixels are 0, and the first layer's terms with a zero input (which pybp's C
core leaves out) are not counted, so it is the one to hold against the peak.
Then one-image latency and 10,000-image batch inference.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from array import array
from contextlib import contextmanager, nullcontext

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import benchlib  # noqa: E402
import peers  # noqa: E402
from benchlib import EPOCH, interleaved, needed_flops_per_example, rotated  # noqa: E402

import pybp  # noqa: E402
from pybp import data as pdata  # noqa: E402

PEERS = ("numpy", "torch", "sklearn")
TITLES = {"pybp": "pybp", "numpy": "numpy", "torch": "PyTorch", "sklearn": "sklearn*"}
SKLEARN_NOTE = ("sklearn* is MLPClassifier(solver='sgd', activation='logistic', momentum=0, "
                "alpha=0, learning_rate='constant', learning_rate_init=3.0, nesterovs_momentum="
                "False, shuffle=True), one partial_fit per epoch: its output layer is softmax "
                "with the log-loss, not sigmoid with the quadratic cost (it offers no such "
                "output); shown because it is what many users reach for.")

FULL = {"nets": "784,30,10;784,100,10;784,256,128,10;784,1000,10",
        "batches": "1,10,100,1000", "dtypes": "float64,float32", "threads": "1,2",
        "peers": ",".join(PEERS), "repeat": 5, "examples": "auto", "cell_seconds": 4.0,
        "inference_nets": "784,30,10;784,1000,10"}
QUICK = {"nets": "784,30,10", "batches": "10,100", "dtypes": "float64,float32",
         "threads": "1,2", "peers": ",".join(PEERS), "repeat": 2, "examples": "300",
         "cell_seconds": 0.5, "inference_nets": "784,30,10"}


# --- the command line ----------------------------------------------------------


def parse_nets(text):
    """'784,30,10;784,100,10' or '784-30-10 784-100-10' (or ',' between
    nets written with '-'): a list of layer-size lists."""
    text = text.strip()
    if ";" in text or " " in text:
        parts = text.replace(";", " ").split()
    elif "-" in text:
        parts = text.split(",")
    else:
        parts = [text]
    nets = []
    for part in parts:
        try:
            sizes = [int(v) for v in part.replace("-", ",").split(",")]
        except ValueError:
            raise ValueError("not a network: %r (layer sizes like 784,30,10)" % part) from None
        if len(sizes) < 2 or sizes[0] != 784 or sizes[-1] != 10 or min(sizes) < 1:
            raise ValueError("an MNIST network goes from 784 inputs to 10 outputs: %r" % part)
        nets.append(sizes)
    return nets


def parse_ints(text, what, lo=1, hi=None):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError("%s: integers separated by commas, got %r" % (what, text)) from None
    if not values or min(values) < lo or (hi is not None and max(values) > hi):
        raise ValueError("%s: each in %d .. %s, got %r" % (what, lo, hi or "", text))
    return values


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[2:]))
    ap.add_argument("--nets", help="networks, e.g. '784,30,10;784,100,10' (default: %s)"
                    % FULL["nets"])
    ap.add_argument("--batches", help="mini-batch sizes (default %s)" % FULL["batches"])
    ap.add_argument("--dtypes", help="float64,float32 or one of them")
    ap.add_argument("--threads", help="thread counts (default 1,2)")
    ap.add_argument("--peers", help="any of numpy,torch,sklearn, or 'none' (default all)")
    ap.add_argument("--repeat", type=int, help="repetitions per cell (default 5)")
    ap.add_argument("--examples", help="examples per timed epoch: 'auto' (default: per "
                    "cell, from --cell-seconds), 'all' or a number; rounded down to a "
                    "multiple of m, at least m")
    ap.add_argument("--cell-seconds", type=float,
                    help="with --examples auto: the target time of one repetition of a "
                    "cell, all implementations together (default %g)" % FULL["cell_seconds"])
    ap.add_argument("--inference-nets", help="networks of the inference tables "
                    "(default %s; 'none' to skip them)" % FULL["inference_nets"])
    ap.add_argument("--no-train", action="store_true", help="skip the training grid")
    ap.add_argument("--quick", action="store_true",
                    help="a tiny run for a smoke test: %s" % ", ".join(
                        "%s %s" % (k, v) for k, v in QUICK.items()))
    ap.add_argument("--json", metavar="FILE", help="write every raw timing to FILE")
    ap.add_argument("--markdown", action="store_true",
                    help="end with the tables as Markdown, ready for the README")
    ap.add_argument("--data", help="the MNIST directory (default: pybp.data.find_mnist())")
    args = ap.parse_args(argv)
    base = QUICK if args.quick else FULL
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    try:
        args.nets = parse_nets(args.nets)
        args.batches = parse_ints(args.batches, "--batches", 1, EPOCH)
        args.threads = parse_ints(args.threads, "--threads", 1, 64)
        args.inference_nets = ([] if args.inference_nets.strip() == "none"
                               else parse_nets(args.inference_nets))
        args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
        if not args.dtypes or set(args.dtypes) - {"float64", "float32"}:
            raise ValueError("--dtypes: float64 and/or float32, got %r" % ",".join(args.dtypes))
        args.peers = [] if args.peers.strip() == "none" else \
            [p.strip() for p in args.peers.split(",") if p.strip()]
        if set(args.peers) - set(PEERS):
            raise ValueError("--peers: any of %s, got %r" % (",".join(PEERS), args.peers))
        if args.repeat < 1:
            raise ValueError("--repeat must be at least 1")
        if args.examples not in ("auto", "all"):
            try:
                args.examples = int(args.examples)
            except ValueError:
                raise ValueError("--examples: auto, all or a number, got %r"
                                 % args.examples) from None
            if not 1 <= args.examples <= EPOCH:
                raise ValueError("--examples must be in 1 .. %d" % EPOCH)
        if not args.cell_seconds > 0:
            raise ValueError("--cell-seconds must be positive")
    except ValueError as e:
        ap.error(str(e))
    return args


# --- the libraries and their threads --------------------------------------------


class Libs:
    """The peers that are installed (and asked for), with the notes on those
    that are not, and control over their thread pools."""

    def __init__(self, wanted):
        self.notes = []
        self.np = self.torch = self.mlp = self.tpc = self.controller = None
        self.versions = {}
        try:
            import numpy
            self.np = numpy
            self.versions["numpy"] = numpy.__version__
        except ImportError:
            pass
        if "torch" in wanted:
            try:
                import torch
                self.torch = torch
                self.versions["torch"] = torch.__version__
            except ImportError:
                self.notes.append("torch: not installed, skipped")
        if "sklearn" in wanted:
            try:
                import sklearn
                from sklearn.neural_network import MLPClassifier
                self.mlp = MLPClassifier
                self.versions["scikit-learn"] = sklearn.__version__
            except ImportError:
                self.notes.append("sklearn: not installed, skipped")
        if self.np is None:
            for name in wanted:
                self.notes.append("%s: numpy is not installed, skipped" % name)
            self.torch = self.mlp = None
        try:
            import threadpoolctl
            self.tpc = threadpoolctl
            self.versions["threadpoolctl"] = threadpoolctl.__version__
            # After every library is loaded, so that it sees all their pools.
            self.controller = threadpoolctl.ThreadpoolController()
        except ImportError:
            if self.np is not None:
                self.notes.append("threadpoolctl not installed: numpy's and sklearn's BLAS "
                                  "threads are not controlled (BLAS default), so their "
                                  "thread column is what the BLAS chose")
        self.peers = [p for p in wanted if {"numpy": self.np, "torch": self.torch,
                                             "sklearn": self.mlp}[p] is not None]

    @contextmanager
    def threads(self, n):
        """numpy's (and sklearn's) BLAS and torch on n threads."""
        ctx = self.controller.limit(limits=n) if self.controller else nullcontext()
        with ctx:
            if self.torch is not None:
                before = self.torch.get_num_threads()
                self.torch.set_num_threads(n)
            try:
                yield
            finally:
                if self.torch is not None:
                    self.torch.set_num_threads(before)

    def in_effect(self, n):
        """What the libraries report inside threads(n): the confirmation."""
        with self.threads(n):
            out = {"requested": n, "pools": []}
            if self.tpc is not None:
                for pool in self.tpc.threadpool_info():
                    out["pools"].append({"library": pool.get("internal_api"),
                                         "file": os.path.basename(pool.get("filepath", "")),
                                         "num_threads": pool.get("num_threads")})
            if self.torch is not None:
                out["torch.get_num_threads"] = self.torch.get_num_threads()
        return out

    def blas(self):
        if self.tpc is None:
            return []
        return ["%s %s (%s, %s)" % (p.get("internal_api"), p.get("version"),
                                    p.get("architecture", "?"),
                                    os.path.basename(p.get("filepath", "")))
                for p in self.tpc.threadpool_info() if p.get("user_api") == "blas"]


def confirm_threads(libs, counts, notes):
    """Each thread count's pools as reported inside the limit; a note for
    any pool that does not run the requested count."""
    report = {}
    for n in counts:
        got = libs.in_effect(n)
        report[n] = got
        for pool in got["pools"]:
            if pool["num_threads"] != n:
                notes.append("threads=%d: %s (%s) reports %s threads" % (
                    n, pool["library"], pool["file"], pool["num_threads"]))
        t = got.get("torch.get_num_threads")
        if t is not None and t != n:
            notes.append("threads=%d: torch.get_num_threads() is %d" % (n, t))
    return report


# --- timing -----------------------------------------------------------------------


class Impl:
    """One implementation in a cell: a name, a thread count, and
    runner(n) -> a callable that trains one epoch on the first n examples."""

    def __init__(self, name, threads, runner):
        self.name, self.threads, self.runner = name, threads, runner
        self.key = "%s/%d" % (name, threads)


def choose_examples(spec, m, probe_n, probe_seconds, budget):
    """Examples per timed epoch: a multiple of m in [m, EPOCH]."""
    if spec == "all":
        n = EPOCH
    elif spec == "auto":
        per_example = sum(probe_seconds) / probe_n
        n = int(budget / per_example) if per_example > 0 else EPOCH
        n = max(n, probe_n)
    else:
        n = spec
    n = min(n, EPOCH)
    return max(m, n - n % m)


def run_cell(impls, libs, m, reps, spec, budget):
    """Warm up every implementation on a small prefix (which also sets the
    prefix with --examples auto), then `reps` interleaved repetitions.
    Returns (examples, {key: [seconds per repetition]}, orders, failures)."""
    probe_n = m * -(-256 // m)
    if isinstance(spec, int):
        probe_n = min(probe_n, max(m, spec - spec % m))
    probe_n = min(probe_n, EPOCH)
    failures = {}
    probe = {}
    for impl in impls:
        try:
            fn = impl.runner(probe_n)
            with libs.threads(impl.threads):
                probe[impl.key] = benchlib.timed(fn)
        except Exception as e:  # a peer that cannot run this cell drops out of it
            failures[impl.key] = "%s: %s" % (type(e).__name__, e)
    impls = [i for i in impls if i.key not in failures]
    n = choose_examples(spec, m, probe_n, list(probe.values()), budget)
    raw = {i.key: [] for i in impls}
    orders = []
    for r in range(reps):
        order = rotated(impls, r)
        orders.append([i.key for i in order])
        for impl in order:
            if impl.key in failures:
                continue
            fn = impl.runner(n)
            try:
                with libs.threads(impl.threads):
                    raw[impl.key].append(benchlib.timed(fn))
            except Exception as e:
                failures[impl.key] = "%s: %s" % (type(e).__name__, e)
    raw = {k: v for k, v in raw.items() if k not in failures}
    return n, raw, orders, probe, failures


def spread(values):
    return statistics.median(values), min(values), max(values)


# --- the training grid ----------------------------------------------------------


class Data:
    """MNIST as pybp reads it, and as float arrays for the peers."""

    def __init__(self, directory, np):
        self.train, _, self.test = pdata.load_mnist(pdata.find_mnist(directory))
        self.np = np
        self._x = {}
        self._nz = {}
        if np is not None:
            self.labels = np.array(self.train.labels, dtype=np.int64)
            self.test_labels = np.array(self.test.labels, dtype=np.int64)

    def nonzero(self, n):
        """The fraction of nonzero inputs among the first n training images."""
        if n not in self._nz:
            k = n * self.train.n_inputs
            self._nz[n] = 1.0 - bytes(self.train.x_u8[:k]).count(0) / k
        return self._nz[n]

    def x(self, which, dtype):
        """Inputs / 255 as a float array of the given precision."""
        if (which, dtype) not in self._x:
            ds = self.train if which == "train" else self.test
            u8 = self.np.frombuffer(ds.x_u8, dtype=self.np.uint8).reshape(ds.count, -1)
            self._x[which, dtype] = (u8 / 255.0).astype(dtype)
        return self._x[which, dtype]


def pybp_arrays(np, net):
    """A network's W^l and b^l as numpy arrays of its precision."""
    return ([np.array(w) for w in net.weights], [np.array(b) for b in net.biases])


def make_impls(sizes, m, dtype, data, libs, thread_counts, base):
    impls = []
    train = data.train
    for t in thread_counts:
        net = base.copy()
        net.threads = t

        def pybp_runner(n, net=net):
            sub = train.subset(n)
            return lambda: net.train_epoch(sub, m, 3.0)
        impls.append(Impl("pybp", t, pybp_runner))
    if not libs.peers:
        return impls
    np = libs.np
    ws, bs = pybp_arrays(np, base)
    x = data.x("train", dtype)
    for t in thread_counts:
        for name in libs.peers:
            if name == "numpy":
                trainer = peers.NumpyTrainer(np, ws, bs, x, data.labels, m)
            elif name == "torch":
                with libs.threads(t):
                    trainer = peers.TorchTrainer(libs.torch, ws, bs, x, data.labels, m)
            else:
                with libs.threads(t):
                    trainer = peers.SklearnTrainer(np, libs.mlp, ws, bs, x, data.labels, m)
            impls.append(Impl(name, t, trainer.runner))
    return impls


def summarise(cell, peaks, sizes):
    """Scaled medians and ranges, and per thread count pybp's speed-up over
    the fastest peer and its GFLOP/s."""
    scale = EPOCH / cell["examples"]
    stats = {k: [v * scale for v in spread(times)] for k, times in cell["raw"].items()}
    rows = []
    for t in cell["threads"]:
        pk = "pybp/%d" % t
        row = {"threads": t, "impls": {}, "best": None}
        for name in ("pybp",) + PEERS:
            key = "%s/%d" % (name, t)
            if key in stats:
                row["impls"][name] = stats[key]
        peer_keys = [k for k in stats if k.endswith("/%d" % t) and not k.startswith("pybp")]
        if pk in stats:
            g = needed_flops_per_example(sizes) * EPOCH / stats[pk][0] / 1e9
            row["gflops"] = g
            gnz = (needed_flops_per_example(sizes, cell["nonzero"]) * EPOCH
                   / stats[pk][0] / 1e9)
            row["gflops_nonzero"] = gnz
            c = peaks.get("c", {}).get("mul+add", {}).get(cell["dtype"])
            row["pct_c_peak"] = 100.0 * g / (c * t) if c else None
            row["pct_c_peak_nonzero"] = 100.0 * gnz / (c * t) if c else None
            mm = peaks.get("matmul", {}).get(t, {}).get(cell["dtype"])
            row["pct_matmul"] = 100.0 * g / mm if mm else None
            if peer_keys:
                best = min(peer_keys, key=lambda k: stats[k][0])
                per_rep = [a / b for a, b in zip(cell["raw"][best], cell["raw"][pk])]
                row["best"] = best.split("/")[0]
                row["speedup"] = stats[best][0] / stats[pk][0]
                row["speedup_range"] = [min(per_rep), max(per_rep)]
        rows.append(row)
    return rows


def fmt_s(x):
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    if x >= 1:
        return "%.2f" % x
    return "%.3f" % x


def fmt_range(stats):
    med, lo, hi = stats
    return "%s [%s-%s]" % (fmt_s(med), fmt_s(lo), fmt_s(hi))


def fmt_pct(p):
    return "-" if p is None else "%.0f%%" % p


def train_header(sizes, reps, peer_names):
    cols = ["pybp"] + list(peer_names)
    line = "%5s %-7s %3s %6s  " % ("m", "dtype", "thr", "timed") + "".join(
        "%-22s" % TITLES[c] for c in cols) + "%-26s %7s %9s %8s %7s %9s" % (
        "best peer/pybp [range]", "GFLOP/s", "%mul+add", "%matmul", "nz GF/s",
        "nz %peak")
    return ("\nTraining %s: seconds per 50,000-image epoch, median [min-max] of %d "
            "repetitions\n%s" % (sizes, reps, line))


def train_rows(cell, rows, peer_names):
    out = []
    for row in rows:
        line = "%5d %-7s %3d %6d  " % (cell["m"], cell["dtype"], row["threads"],
                                       cell["examples"])
        for name in ["pybp"] + list(peer_names):
            s = row["impls"].get(name)
            line += "%-22s" % (fmt_range(s) if s else "-")
        if row.get("best"):
            lo, hi = row["speedup_range"]
            ratio = "%.2fx %s [%.2f-%.2f]" % (row["speedup"], row["best"], lo, hi)
        else:
            ratio = "-"
        line += "%-26s %7s %9s %8s %7s %9s" % (
            ratio, "%.1f" % row["gflops"] if "gflops" in row else "-",
            fmt_pct(row.get("pct_c_peak")), fmt_pct(row.get("pct_matmul")),
            "%.1f" % row["gflops_nonzero"] if "gflops_nonzero" in row else "-",
            fmt_pct(row.get("pct_c_peak_nonzero")))
        out.append(line)
    return out


def training_grid(args, data, libs, peaks, report):
    cells = []
    for sizes in args.nets:
        print(train_header(sizes, args.repeat, libs.peers), flush=True)
        for dtype in args.dtypes:
            base = pybp.Network(sizes, seed=0, backend="c", dtype=dtype)
            for m in args.batches:
                impls = make_impls(sizes, m, dtype, data, libs, args.threads, base)
                n, raw, orders, probe, failures = run_cell(
                    impls, libs, m, args.repeat, args.examples, args.cell_seconds)
                cell = {"sizes": sizes, "m": m, "dtype": dtype, "examples": n,
                        "scale": EPOCH / n, "threads": args.threads, "raw": raw,
                        "orders": orders, "warmup": {"examples": min(EPOCH, m * -(-256 // m)),
                                                     "seconds": probe},
                        "failures": failures, "nonzero": data.nonzero(n)}
                cell["rows"] = summarise(cell, peaks, sizes)
                for line in train_rows(cell, cell["rows"], libs.peers):
                    print(line, flush=True)
                for key, why in failures.items():
                    note = "%s m=%d %s: %s failed (%s), left out" % (sizes, m, dtype, key, why)
                    report["notes"].append(note)
                    print("  " + note, flush=True)
                cells.append(cell)
    return cells


# --- inference --------------------------------------------------------------------


def outputs_out(net, data, np):
    """(buffer, description) if net.outputs takes out=, else (None, why not)."""
    import inspect
    try:
        params = inspect.signature(net.outputs).parameters
    except (TypeError, ValueError):
        return None, "net.outputs has no signature to inspect"
    if "out" not in params:
        return None, "net.outputs takes no out= buffer in this version"
    n_out = net.sizes[-1]
    code = "d" if net.dtype == "float64" else "f"
    tries = [(array(code, bytes(data.count * n_out * array(code).itemsize)),
              "array('%s') of count * n_out" % code)]
    if np is not None:
        tries += [(np.empty((data.count, n_out), dtype=net.dtype),
                   "numpy %s array (count, n_out)" % net.dtype)]
    errors = []
    for buf, what in tries:
        try:
            net.outputs(data, out=buf)
            return buf, what
        except (TypeError, ValueError, BufferError) as e:
            errors.append("%s: %s" % (what, e))
    return None, "net.outputs(out=) refused every buffer tried (%s)" % "; ".join(errors)


def inference(args, data, libs, report):
    np, torch = libs.np, libs.torch
    use_np = "numpy" in libs.peers
    use_torch = "torch" in libs.peers
    quick = args.quick
    lat, batch = [], []
    test = data.test
    no_grad = torch.no_grad if torch is not None else nullcontext
    for sizes in args.inference_nets:
        base = pybp.Network(sizes, seed=0, backend="c")
        for dtype in args.dtypes:
            net = base if dtype == "float64" else base.copy(dtype=dtype)
            funcs = []
            image = array("d", test.input(0))
            funcs.append(("pybp feedforward", lambda net=net, image=image: net.feedforward(image),
                          nullcontext))
            if np is not None and (use_np or use_torch):
                ws, bs = pybp_arrays(np, net)
                xt = data.x("test", dtype)
            if use_np:
                x0 = xt[0].copy()
                funcs.append(("numpy", lambda ws=ws, bs=bs, x0=x0:
                              peers.numpy_forward(np, ws, bs, x0), nullcontext))
            if use_torch:
                model = peers.torch_model(torch, ws, bs, getattr(torch, dtype))
                t0 = torch.from_numpy(xt[0].copy())
                funcs.append(("torch", lambda model=model, t0=t0: model(t0), no_grad))
            with libs.threads(1):
                got = interleaved(funcs, 5 if quick else 21, 0.002 if quick else 0.005)
            entry = {"sizes": sizes, "dtype": dtype, "threads": 1, "seconds": got}
            lat.append(entry)
            print_latency(entry)

            for t in args.threads:
                net.threads = t  # outputs and evaluate share the test set out
                funcs = [("pybp outputs", lambda net=net: net.outputs(test), nullcontext),
                         ("pybp evaluate", lambda net=net: net.evaluate(test), nullcontext)]
                buf, how = outputs_out(net, test, np)
                if buf is not None:
                    funcs.insert(1, ("pybp outputs(out=)",
                                     lambda net=net, buf=buf: net.outputs(test, out=buf),
                                     nullcontext))
                if how and buf is None and how not in report["notes"]:
                    report["notes"].append(how)
                if use_np:
                    funcs += [("numpy outputs", lambda ws=ws, bs=bs, xt=xt:
                               peers.numpy_forward(np, ws, bs, xt), nullcontext),
                              ("numpy evaluate", lambda ws=ws, bs=bs, xt=xt: int(
                                  (peers.numpy_forward(np, ws, bs, xt).argmax(axis=1)
                                   == data.test_labels).sum()), nullcontext)]
                if use_torch:
                    tx = torch.from_numpy(xt)
                    ty = torch.from_numpy(data.test_labels)
                    funcs += [("torch outputs", lambda model=model, tx=tx: model(tx), no_grad),
                              ("torch evaluate", lambda model=model, tx=tx, ty=ty: int(
                                  (model(tx).argmax(dim=1) == ty).sum()), no_grad)]
                with libs.threads(t):
                    got = interleaved(funcs, max(3, args.repeat))
                entry = {"sizes": sizes, "dtype": dtype, "threads": t,
                         "examples": test.count, "seconds": got,
                         "out_buffer": how if buf is not None else None}
                batch.append(entry)
                print_batch(entry)
    return lat, batch


def print_latency(entry):
    parts = ["%s %.1f / %.1f" % (name, 1e6 * statistics.median(v), 1e6 * min(v))
             for name, v in entry["seconds"].items()]
    print("latency %-16s %-7s 1 image, us per call (median / best): %s"
          % (entry["sizes"], entry["dtype"], ";  ".join(parts)), flush=True)


def print_batch(entry):
    parts = ["%s %.2f" % (name, 1e3 * statistics.median(v))
             for name, v in entry["seconds"].items()]
    print("batch   %-16s %-7s thr %d, %d images, ms (median): %s"
          % (entry["sizes"], entry["dtype"], entry["threads"], entry["examples"],
             ";  ".join(parts)), flush=True)


# --- the report -------------------------------------------------------------------


def machine(libs, args):
    info = {"cpu": benchlib.cpu_name(), "cores": os.cpu_count(),
            "machine": platform.machine(), "os": platform.platform(),
            "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
            "pybp": pybp.__version__}
    try:
        from pybp import backends
        info["pybp_isa"] = backends.best_isa()
    except Exception:  # facts only: an older build may not have them
        pass
    info.update(libs.versions)
    info["blas"] = libs.blas()
    info["PYBP_THREADS"] = os.environ.get("PYBP_THREADS")
    return info


def measure_peaks(libs, thread_counts, quick, notes):
    peaks = {"matmul": {}}
    c, why = benchlib.c_peak(0.05 if quick else 0.2)
    if c is None:
        notes.append("no C peak: " + why)
    else:
        peaks["c"] = c
    if libs.np is not None:
        for t in thread_counts:
            with libs.threads(t):
                peaks["matmul"][t] = {d: benchlib.matmul_gflops(libs.np, d, 1024,
                                                                2 if quick else 5)
                                      for d in ("float64", "float32")}
    else:
        notes.append("no matmul peak: numpy is not installed")
    return peaks


def print_header(info, peaks, threads_report, args):
    print("pybp bench/grid.py: training and inference against peers, in one process")
    for key in ("cpu", "cores", "machine", "os", "python", "pybp", "pybp_isa", "numpy",
                "torch", "scikit-learn", "threadpoolctl"):
        if info.get(key) is not None:
            print("  %-14s %s" % (key, info[key]))
    for line in info.get("blas", []):
        print("  %-14s %s" % ("BLAS", line))
    for n, got in threads_report.items():
        pools = ", ".join("%s %s=%s" % (p["library"], p["file"], p["num_threads"])
                          for p in got["pools"]) or "threadpoolctl not installed"
        torch_n = got.get("torch.get_num_threads")
        print("  threads=%d in effect: pybp Network(threads=%d); %s%s" % (
            n, n, pools, "; torch %d" % torch_n if torch_n is not None else ""))
    c = peaks.get("c")
    if c:
        print("  peak, 1 thread, bench/peak.c: multiply then add %.1f (float64) / %.1f "
              "(float32) GFLOP/s; fused multiply-add %.1f / %.1f"
              % (c["mul+add"]["float64"], c["mul+add"]["float32"],
                 c["fma"]["float64"], c["fma"]["float32"]))
    for t, mm in peaks.get("matmul", {}).items():
        print("  peak, %d thread(s), numpy 1024x1024 matmul: %.1f (float64) / %.1f (float32) "
              "GFLOP/s" % (t, mm["float64"], mm["float32"]))
    print("  every figure of a cell: same prefix of the 50,000 training images "
          "(column 'timed'), scaled to a 50,000-image epoch; --examples %s%s"
          % (args.examples, ", --cell-seconds %g" % args.cell_seconds
             if args.examples == "auto" else ""))
    print("  pybp timed around net.train_epoch (its shuffle included), peers around "
          "their whole epoch (their shuffle included); all start from pybp's seed-0 "
          "parameters")
    print("  best peer/pybp: the fastest peer's median on the same thread count over "
          "pybp's (above 1: pybp is faster); range over the repetitions")
    print("  GFLOP/s: the flops of dense layers, 2*n_l*n_(l-1) per layer for forward and "
          "BP4, and for BP2 on layers 2..L; %mul+add: of peak.c's "
          "multiply-then-add peak times the thread count; %matmul: of numpy's matmul "
          "on the same threads")
    print("  nz GF/s, nz %peak: the same, counting only the first layer's terms with a "
          "nonzero input (the flops actually needed), against peak.c's peak")
    print("  " + SKLEARN_NOTE, flush=True)


def markdown(report, args):
    info = report["info"]
    out = []
    caption = ("%s, %s cores; %s; pybp %s (%s)%s. Medians of %d interleaved "
               "repetitions in one process" % (
                   info["cpu"], info["cores"], info["python"], info["pybp"],
                   info.get("pybp_isa", "?"),
                   "".join(", %s %s" % (k, info[k]) for k in ("numpy", "torch", "scikit-learn")
                           if info.get(k)), args.repeat))
    peer_names = [p for p in PEERS if any(p in r["impls"] for c in report["cells"]
                                          for r in c["rows"])]
    nets = []
    for c in report["cells"]:
        if c["sizes"] not in nets:
            nets.append(c["sizes"])
    for sizes in nets:
        out.append("")
        out.append("**%s**: seconds per 50,000-image MNIST epoch (sigmoid, quadratic cost, "
                   "eta 3.0). %s." % (sizes, caption))
        out.append("")
        head = ["m", "dtype", "threads", "images timed", "pybp"] + [
            TITLES[p] for p in peer_names] + ["best peer ÷ pybp (range)", "pybp GFLOP/s",
                                             "% of mul+add peak",
                                             "GFLOP/s needed (nonzero inputs)",
                                             "% of peak, needed"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for c in report["cells"]:
            if c["sizes"] != sizes:
                continue
            for r in c["rows"]:
                cols = [str(c["m"]), c["dtype"], str(r["threads"]), str(c["examples"])]
                p = r["impls"].get("pybp")
                cols.append("**%s**" % fmt_s(p[0]) if p else "")
                cols += [fmt_s(r["impls"][n][0]) if n in r["impls"] else ""
                         for n in peer_names]
                if r.get("best"):
                    lo, hi = r["speedup_range"]
                    cols.append("%.2fx %s (%.2f-%.2f)" % (r["speedup"], r["best"], lo, hi))
                else:
                    cols.append("")
                cols.append("%.1f" % r["gflops"] if "gflops" in r else "")
                cols.append(fmt_pct(r.get("pct_c_peak")))
                cols.append("%.1f" % r["gflops_nonzero"] if "gflops_nonzero" in r else "")
                cols.append(fmt_pct(r.get("pct_c_peak_nonzero")))
                out.append("| " + " | ".join(cols) + " |")
        if "sklearn" in peer_names:
            out.append("")
            out.append("\\* " + SKLEARN_NOTE)
    if report["latency"]:
        out.append("")
        out.append("One-image latency, µs per call (median of %s rounds, 1 thread). %s."
                   % ("5" if args.quick else "21", caption.split(". Medians")[0]))
        out.append("")
        names = list(report["latency"][0]["seconds"])
        out.append("| network | dtype | " + " | ".join(names) + " |")
        out.append("|" + "---|" * (2 + len(names)))
        for e in report["latency"]:
            out.append("| %s | %s | " % (e["sizes"], e["dtype"]) + " | ".join(
                "%.1f" % (1e6 * statistics.median(e["seconds"][n])) if n in e["seconds"]
                else "" for n in names) + " |")
    if report["batch"]:
        out.append("")
        out.append("Inference on the 10,000 test images, ms (median of %d). pybp's "
                   "outputs are a list of lists of Python floats, numpy's and torch's "
                   "arrays." % max(3, args.repeat))
        out.append("")
        names = []
        for e in report["batch"]:
            names += [n for n in e["seconds"] if n not in names]
        out.append("| network | dtype | threads | " + " | ".join(names) + " |")
        out.append("|" + "---|" * (3 + len(names)))
        for e in report["batch"]:
            out.append("| %s | %s | %d | " % (e["sizes"], e["dtype"], e["threads"]) +
                       " | ".join("%.2f" % (1e3 * statistics.median(e["seconds"][n]))
                                  if n in e["seconds"] else "" for n in names) + " |")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    if "c" not in pybp.available_backends():
        print("bench/grid.py times pybp's C backend, which is not available here",
              file=sys.stderr)
        return 2
    libs = Libs(args.peers)
    report = {"notes": list(libs.notes), "args": {k: v for k, v in vars(args).items()}}
    try:
        data = Data(args.data, libs.np)
    except pdata.MnistNotFoundError as e:
        print(str(e), file=sys.stderr)
        return 2
    threads_report = confirm_threads(libs, args.threads, report["notes"])
    peaks = measure_peaks(libs, args.threads, args.quick, report["notes"])
    info = machine(libs, args)
    report.update({"info": info, "threads_in_effect": threads_report, "peaks": peaks})
    print_header(info, peaks, threads_report, args)
    for note in report["notes"]:
        print("  note: " + note, flush=True)
    notes_seen = len(report["notes"])

    report["cells"] = [] if args.no_train else training_grid(args, data, libs, peaks, report)
    if args.inference_nets:
        print("\nInference (1 thread for one image; each thread count for the test set)")
    report["latency"], report["batch"] = inference(args, data, libs, report)
    for note in report["notes"][notes_seen:]:
        print("  note: " + note)
    report["seconds"] = time.perf_counter() - started
    print("\nwhole run: %.0f s" % report["seconds"])
    if args.markdown:
        print("\nMarkdown:")
        print(markdown(report, args))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, default=str)
            f.write("\n")
        print("raw timings written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
