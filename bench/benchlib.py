"""Pieces the benchmark scripts share: machine facts, flop counts, peaks.

Not part of the installed package; the scripts in bench/ import it from
their own folder.
"""

import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH = 50000  # MNIST's training set: every figure is per epoch of it


def flops_per_example(sizes):
    """Nominal flops of one example's training step: 3 matrix products
    (forward, BP2, BP4) of 2 flops per weight each."""
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 2 * macs * 3


def needed_flops_per_example(sizes, nonzero=1.0):
    """The flops one example's training step needs: a multiply and an add
    per weight in the forward pass and in BP4, and in BP2 for every layer
    but the first (the input layer has no delta).  nonzero < 1 counts only
    the first layer's terms with a nonzero input (that fraction of them):
    a term w * 0.0 cannot change its sum, so it is not needed."""
    macs = [a * b for a, b in zip(sizes, sizes[1:])]
    return 2 * (2 * (macs[0] * nonzero + sum(macs[1:])) + sum(macs[1:]))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def matmul_gflops(np, dtype, n=1024, repeat=5):
    """Best-of-`repeat` GFLOP/s of numpy's n x n matrix product (2 n^3 flops),
    on whatever threads its BLAS is allowed at the moment."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    a @ b  # warm up: pages, thread pool
    best = min(timed(lambda: a @ b) for _ in range(repeat))
    return 2.0 * n ** 3 / best / 1e9


def c_peak(seconds=0.1):
    """The single-thread vector peak of this CPU, measured by bench/peak.c.

    peak.c is compiled here with the system compiler (`$CC`, else `cc`),
    `-O2 -march=native`, twice: with `-ffp-contract=off` (a multiply, then
    an add: the arithmetic pybp's exact kernels are built with) and with
    `-ffp-contract=fast` (fused multiply-add where the CPU has it).
    Returns ({"mul+add": {"float64": GFLOP/s, "float32": ...}, "fma": {...}},
    None), or (None, why not).
    """
    cc = shlex.split(os.environ.get("CC") or "cc")
    if not cc or shutil.which(cc[0]) is None:
        return None, "no C compiler (%s) found" % (cc[0] if cc else "cc")
    src = os.path.join(HERE, "peak.c")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, contract in (("mul+add", "off"), ("fma", "fast")):
            exe = os.path.join(tmp, "peak-" + contract)
            cmd = cc + ["-O2", "-march=native", "-ffp-contract=" + contract, src, "-o", exe]
            try:
                built = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as e:
                return None, "compiling peak.c failed: %s" % e
            if built.returncode != 0:
                err = (built.stderr or built.stdout).strip().splitlines()
                return None, "compiling peak.c failed: %s" % (err[-1] if err else "?")
            try:
                ran = subprocess.run([exe, str(seconds)], capture_output=True, text=True,
                                     timeout=120, check=True)
            except (OSError, subprocess.SubprocessError) as e:
                return None, "running peak.c failed: %s" % e
            out[label] = {}
            for line in ran.stdout.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] in ("float64", "float32"):
                    out[label][parts[0]] = float(parts[1])
            if set(out[label]) != {"float64", "float32"}:
                return None, "peak.c printed something unexpected: %r" % ran.stdout[:200]
    return out, None


# --- interleaved timing ----------------------------------------------------------


def rotated(items, r):
    k = r % len(items) if items else 0
    return items[k:] + items[:k]


def calls(fn, k):
    """Seconds for k calls of fn."""
    t = time.perf_counter()
    for _ in range(k):
        fn()
    return time.perf_counter() - t


def per_call(fn, ctx, target):
    """Calls per round so that a round takes about `target` seconds."""
    n = 1
    while True:
        with ctx():
            t = calls(fn, n)
        if t >= target / 4 or n >= 1 << 20:
            return max(1, int(n * target / max(t, 1e-9)))
        n *= 4


def interleaved(funcs, rounds, target=None):
    """{name: [seconds per call per round]} with the order rotated per round.
    funcs: [(name, fn, ctx)]; with target, each round makes many calls."""
    counts = {name: (per_call(fn, ctx, target) if target else 1) for name, fn, ctx in funcs}
    out = {name: [] for name, _, _ in funcs}
    for r in range(rounds):
        for name, fn, ctx in rotated(funcs, r):
            k = counts[name]
            with ctx():
                t = calls(fn, k)
            out[name].append(t / k)
    return out
