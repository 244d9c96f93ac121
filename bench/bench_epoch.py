"""Seconds per MNIST training epoch: pybp against numpy and PyTorch, one run.

    python bench/bench_epoch.py                  # the full table
    python bench/bench_epoch.py --limit 5000     # a quick look

Every implementation trains the same kind of network (sigmoid layers,
quadratic cost, eta 3.0) on the same 50,000 MNIST images, on one thread,
and is timed in this process, so the ratios compare like with like on
whatever the machine is doing now.  numpy and torch are optional (the
`bench` extra); their rows are skipped when they are missing.  Each figure
is the median of --repeat epochs.

It also measures the machine's single-thread matrix-product peak (numpy),
the peak resident memory of a full `pybp train` run, and `import pybp` time.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from functools import partial

# One thread everywhere, set before numpy or torch load their BLAS.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import benchlib  # noqa: E402
import peers  # noqa: E402
from benchlib import cpu_name, flops_per_example  # noqa: E402

import pybp  # noqa: E402
from pybp import data as pdata  # noqa: E402


def median_time(fn, repeat):
    return statistics.median(fn() for _ in range(repeat))


# --- pybp --------------------------------------------------------------------


def bench_pybp(train, sizes, m, repeat, dtype="float64", threads=1):
    kwargs = {"threads": threads}
    if dtype != "float64":
        kwargs["dtype"] = dtype
    try:
        net = pybp.Network(sizes, seed=0, backend="c", **kwargs)
    except TypeError:
        return None  # this build has no such option
    return median_time(lambda: net.train_epoch(train, m, 3.0)["seconds"], repeat)


# --- numpy -------------------------------------------------------------------


def numpy_arrays(train, np, dtype):
    n = train.count
    x = np.frombuffer(train.x_u8, dtype=np.uint8).reshape(n, train.n_inputs)
    x = (x / 255.0).astype(dtype)
    labels = np.frombuffer(train.labels, dtype=np.int32)
    return x, labels


def init_numpy(sizes, np, dtype):
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((b, a)).astype(dtype) for a, b in zip(sizes, sizes[1:])]
    bs = [rng.standard_normal(b).astype(dtype) for b in sizes[1:]]
    return ws, bs


def timed_epoch(trainer, n):
    """Seconds for one epoch of a bench/peers.py trainer on n examples."""
    run = trainer.runner(n)
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def numpy_matrix_epoch(x, labels, sizes, m, np, dtype):
    """The fully matrix-based mini-batch SGD of docs/math.md, one epoch."""
    ws, bs = init_numpy(sizes, np, dtype)
    return timed_epoch(peers.NumpyTrainer(np, ws, bs, x, labels, m), len(x))


def numpy_book_epoch(x, labels, sizes, m, np):
    """The book's first program: a Python loop over each example's columns."""
    ws, bs = init_numpy(sizes, np, np.float64)
    bs = [b.reshape(-1, 1) for b in bs]
    eye = np.eye(sizes[-1])
    perm = np.random.default_rng(1).permutation(len(x))
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    start = time.perf_counter()
    for lo in range(0, len(x), m):
        nw = [np.zeros_like(w) for w in ws]
        nb = [np.zeros_like(b) for b in bs]
        for i in perm[lo:lo + m]:
            a = x[i].reshape(-1, 1)
            acts, zs = [a], []
            for w, b in zip(ws, bs):
                z = w @ a + b
                zs.append(z)
                a = sig(z)
                acts.append(a)
            d = (a - eye[labels[i]].reshape(-1, 1)) * a * (1 - a)
            nb[-1] += d
            nw[-1] += d @ acts[-2].T
            for l in range(2, len(sizes)):
                s = sig(zs[-l])
                d = (ws[-l + 1].T @ d) * s * (1 - s)
                nb[-l] += d
                nw[-l] += d @ acts[-l - 1].T
        k = len(perm[lo:lo + m])
        ws = [w - (3.0 / k) * g for w, g in zip(ws, nw)]
        bs = [b - (3.0 / k) * g for b, g in zip(bs, nb)]
    return time.perf_counter() - start


def matmul_peak(np, dtype, n=1536, repeat=5):
    return benchlib.matmul_gflops(np, dtype, n, repeat)


# --- PyTorch -----------------------------------------------------------------


def torch_epoch(x, labels, sizes, m, torch, dtype):
    """Idiomatic PyTorch: nn.Sequential, autograd, optim.SGD, half squared error."""
    import numpy as np
    npdtype = np.float64 if dtype == torch.float64 else np.float32
    ws, bs = init_numpy(sizes, np, npdtype)
    return timed_epoch(peers.TorchTrainer(torch, ws, bs, x.astype(npdtype), labels, m),
                       len(x))


def peak_rss_mb(epochs, data_dir, limit=None):
    """Peak resident memory of `pybp train` in a fresh process, MB.

    Read from /proc (VmHWM, which exec resets) where it exists: ru_maxrss of
    a child can still count the benchmark process it was forked from.
    """
    code = ("import resource, sys; from pybp.cli import main; "
            "rc = main(sys.argv[1:]); "
            "hwm = [l.split()[1] for l in open('/proc/self/status') "
            "       if l.startswith('VmHWM:')] if sys.platform == 'linux' else []; "
            "print(hwm[0] if hwm else "
            "      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); "
            "sys.exit(rc)")
    args = [sys.executable, "-c", code, "train", "--quiet", "--epochs", str(epochs),
            "--data", data_dir]
    if limit:
        args += ["--limit", str(limit)]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024.0


def import_ms(repeat=7):
    code = ("import time; t = time.perf_counter(); import pybp; "
            "print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                  text=True, check=True).stdout)
             for _ in range(repeat)]
    return 1000.0 * min(times)


# --- main --------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST directory")
    ap.add_argument("--limit", type=int, default=None,
                    help="train on the first N images (default all 50,000)")
    ap.add_argument("--batches", default="1,10,100")
    ap.add_argument("--sizes", default="784,30,10;784,100,10",
                    help="networks, ';'-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-book", action="store_true",
                    help="skip the slow per-example numpy program")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    data_dir = pdata.find_mnist(args.data)
    train, _, _ = pdata.load_mnist(data_dir)
    if args.limit:
        train = train.subset(args.limit)
    scale = 50000.0 / train.count  # report per 50,000-image epoch
    batches = [int(b) for b in args.batches.split(",")]
    networks = [[int(v) for v in s.split(",")] for s in args.sizes.split(";")]

    try:
        import numpy as np
    except ImportError:
        np = None
    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(1)
        except ImportError:
            torch = None

    rows = []
    info = {"cpu": cpu_name(), "python": platform.python_version(),
            "pybp": pybp.__version__, "backend": pybp.backend,
            "examples": train.count}
    if "c" in pybp.available_backends():
        from pybp import backends
        info["isa"] = backends.best_isa()
    if np is not None:
        info["numpy"] = np.__version__
        info["peak_f64_gflops"] = matmul_peak(np, np.float64)
        info["peak_f32_gflops"] = matmul_peak(np, np.float32)
    if torch is not None:
        info["torch"] = torch.__version__

    def add(impl, sizes, m, seconds):
        if seconds is None:
            return
        seconds *= scale
        gflops = flops_per_example(sizes) * 50000 / seconds / 1e9
        rows.append({"impl": impl, "sizes": sizes, "batch": m,
                     "seconds": seconds, "gflops": gflops})
        if not args.json:
            print("%-28s %-14s batch %4d  %8.3f s/epoch  %6.1f GFLOP/s"
                  % (impl, ",".join(map(str, sizes)), m, seconds, gflops),
                  flush=True)

    for sizes in networks:
        x32 = x64 = labels = None
        if np is not None:
            x64, labels = numpy_arrays(train, np, np.float64)
            x32 = x64.astype(np.float32)
        for m in batches:
            if "c" in pybp.available_backends():
                add("pybp C float64", sizes, m, bench_pybp(train, sizes, m, args.repeat))
                add("pybp C float32", sizes, m,
                    bench_pybp(train, sizes, m, args.repeat, dtype="float32"))
                if m >= 100:  # threads split a mini-batch's work: large ones only
                    add("pybp C float64 2 threads", sizes, m,
                        bench_pybp(train, sizes, m, args.repeat, threads=2))
                    add("pybp C float32 2 threads", sizes, m,
                        bench_pybp(train, sizes, m, args.repeat, dtype="float32",
                                   threads=2))
            if np is not None:
                add("numpy matrix float64", sizes, m, median_time(
                    partial(numpy_matrix_epoch, x64, labels, sizes, m, np, np.float64),
                    args.repeat))
                add("numpy matrix float32", sizes, m, median_time(
                    partial(numpy_matrix_epoch, x32, labels, sizes, m, np, np.float32),
                    args.repeat))
                if not args.no_book and m == 10:
                    add("numpy per-example (book)", sizes, m,
                        numpy_book_epoch(x64, labels, sizes, m, np))
            if torch is not None:
                add("torch float64", sizes, m,
                    median_time(partial(torch_epoch, x64, labels, sizes, m, torch,
                                        torch.float64), 1))
                add("torch float32", sizes, m,
                    median_time(partial(torch_epoch, x64, labels, sizes, m, torch,
                                        torch.float32), 1))

    if not args.no_memory:
        info["train_peak_rss_mb"] = peak_rss_mb(2, data_dir, args.limit)
    info["import_ms"] = import_ms()

    ratios = ratio_table(rows)
    if args.json:
        print(json.dumps({"info": info, "rows": rows, "ratios": ratios}, indent=1))
        return 0
    print()
    for k, v in info.items():
        print("%-20s %s" % (k, "%.1f" % v if isinstance(v, float) else v))
    print()
    for r in ratios:
        print("%-14s batch %4d  %s %.3f s: %s" % (
            ",".join(map(str, r["sizes"])), r["batch"], r["pybp"], r["seconds"],
            ", ".join("%.1fx vs %s" % (x, k) for k, x in r["speedup"].items())))
    return 0


def ratio_table(rows):
    """pybp's speed-up over every other implementation, per setting: pybp C
    float64 against everything, pybp C float32 against the float32 rows."""
    out = []
    keyed = {}
    for r in rows:
        keyed.setdefault((tuple(r["sizes"]), r["batch"]), {})[r["impl"]] = r["seconds"]
    for (sizes, m), impls in keyed.items():
        for base_name, others in (("pybp C float64", None), ("pybp C float32", "float32")):
            base = impls.get(base_name)
            if base is None:
                continue
            out.append({"pybp": base_name, "sizes": list(sizes), "batch": m,
                        "seconds": base,
                        "speedup": {k: v / base for k, v in impls.items()
                                    if k != base_name and not k.startswith("pybp")
                                    and (others is None or others in k)}})
    return out


if __name__ == "__main__":
    sys.exit(main())
