"""Two builds of the C core, timed against each other in alternation.

On a shared machine the throughput a benchmark gets drifts by tens of
percent within minutes, more than most kernel changes are worth.  This
builds bench/epoch_c.c against the csrc/ of two revisions, runs the two
executables in pairs (the order swapped from pair to pair, one epoch each,
so that both see the same drift) and prints each build's times and the
median of the pairwise ratios B/A with their range: below 1, B is faster.

    python bench/ab_c.py HEAD~1 . -- 784,256,128,10 1000 float64 3000
    python bench/ab_c.py main . --pairs 12 -- 784,30,10 100 float32 5000 2

A revision is anything `git archive` takes, or a directory holding csrc/
and bench/ ("." is the working tree).  The arguments after "--" are
epoch_c's: SIZES M DTYPE [EXAMPLES [THREADS]].
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("pybp.c", "pybp_f32.c", "pybp_net.c")
TIME = re.compile(r": ([0-9.]+) s per 50,000-example epoch")


def checkout(rev, where):
    """csrc/ and bench/ of rev: a directory as it is, else git archive."""
    if os.path.isdir(os.path.join(rev, "csrc")):
        return os.path.abspath(rev)
    os.makedirs(where)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "csrc", "bench"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        sys.exit("ab_c: cannot read revision %r: %s"
                 % (rev, archive.stderr.decode(errors="replace").strip()))
    subprocess.run(["tar", "-x", "-C", where], input=archive.stdout, check=True)
    return where


def build(tree, exe, cc, flags):
    csrc = os.path.join(tree, "csrc")
    subprocess.run([cc, "-std=c99", "-O3", "-ffp-contract=off", "-fno-fast-math"]
                   + flags + ["-I" + csrc, os.path.join(tree, "bench", "epoch_c.c")]
                   + [os.path.join(csrc, f) for f in SOURCES]
                   + ["-lm", "-pthread", "-o", exe], check=True)


def epoch(exe, args):
    run = subprocess.run([exe] + args, capture_output=True, text=True, check=False)
    found = TIME.search(run.stdout)
    if run.returncode != 0 or found is None:
        sys.exit("ab_c: %s failed: %s" % (os.path.basename(exe),
                                          (run.stderr or run.stdout).strip()))
    return float(found.group(1))


def parse_args(argv):
    if "--" not in argv:
        sys.exit("usage: ab_c.py A B [--pairs N] [--cflags FLAGS] -- "
                 "SIZES M DTYPE [EXAMPLES [THREADS]]")
    cut = argv.index("--")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="the baseline: a git revision or a directory")
    parser.add_argument("b", help="the candidate: a git revision or a directory")
    parser.add_argument("--pairs", type=int, default=10,
                        help="pairs of runs (default 10)")
    parser.add_argument("--cflags", default="",
                        help="extra compiler flags for both builds, e.g. -DNAME=VALUE")
    args = parser.parse_args(argv[:cut])
    rest = argv[cut + 1:]
    if not 3 <= len(rest) <= 5:
        parser.error("after --: SIZES M DTYPE [EXAMPLES [THREADS]]")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    # epoch_c's sixth argument, one repetition: each run is one epoch.
    args.epoch = rest + ["10000", "0"][len(rest) - 3:] + ["1"]
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("ab_c: no C compiler (set CC)")
    with tempfile.TemporaryDirectory() as tmp:
        exes, built = [], {}
        for name, rev in (("A", args.a), ("B", args.b)):
            tree = os.path.realpath(checkout(rev, os.path.join(tmp, name)))
            if tree not in built:    # one tree twice: an A/A run, of the noise
                built[tree] = os.path.join(tmp, "epoch_c_" + name)
                build(tree, built[tree], cc, args.cflags.split())
            exes.append(built[tree])
        times = ([], [])
        for i in range(args.pairs):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            got = {}
            for k in order:
                got[k] = epoch(exes[k], args.epoch)
            times[0].append(got[0])
            times[1].append(got[1])
    ratios = [b / a for a, b in zip(*times)]
    print("epoch_c %s, %d pairs alternated" % (" ".join(args.epoch[:5]), args.pairs))
    for name, rev, t in (("A", args.a, times[0]), ("B", args.b, times[1])):
        print("  %s %-20s median %.3f s  min %.3f s  (per 50,000-example epoch)"
              % (name, rev, statistics.median(t), min(t)))
    print("  B/A median %.3f  range %.3f-%.3f  (below 1: B is faster)"
          % (statistics.median(ratios), min(ratios), max(ratios)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
