"""Two networks trained in two Python threads versus one after the other.

    python bench/bench_threads.py [--limit N] [--epochs N]

The C backend releases the GIL during each kernel call, so on a machine
with two free cores the threaded run should take about half the time.
Both runs end with bit-identical parameters, which the script checks.
"""

import argparse
import sys
import threading
import time

import pybp
from pybp import data as pdata


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--backend", default="c")
    args = ap.parse_args(argv)
    train, _, _ = pdata.load_mnist(pdata.find_mnist(args.data))
    train = train.subset(args.limit)

    def run(net):
        net.sgd(train, args.epochs, 10, 3.0)

    nets = [pybp.Network([784, 30, 10], seed=s, backend=args.backend) for s in (1, 2)]
    twins = [n.copy() for n in nets]

    start = time.perf_counter()
    for net in nets:
        run(net)
    sequential = time.perf_counter() - start

    threads = [threading.Thread(target=run, args=(n,)) for n in twins]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    threaded = time.perf_counter() - start

    same = all(bytes(a.params) == bytes(b.params) for a, b in zip(nets, twins))
    print("backend %s, %d examples x %d epochs, two [784, 30, 10] networks"
          % (args.backend, train.count, args.epochs))
    print("one after the other: %.3f s" % sequential)
    print("two Python threads:  %.3f s" % threaded)
    print("speed-up: %.2fx; identical parameters: %s" % (sequential / threaded, same))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
