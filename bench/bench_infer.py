"""One-image inference latency: pybp's Network.feedforward on the C backend
against numpy (W @ a + b, sigmoid) and PyTorch, on the same networks.

    python bench/bench_infer.py                 # 784-30-10 and 784-100-10
    python bench/bench_infer.py --rounds 41 --nets 784,30,10
    python bench/bench_infer.py --batch 10000   # a test set's worth at once

With --batch N, each call computes the outputs of N examples: pybp's
net.outputs(data, out=buf) into a reused buffer (data a Dataset made
once), numpy's and PyTorch's forward pass on an N-row matrix (milliseconds
per call then).

Every implementation runs interleaved in one process, the order rotated
per round (benchlib.interleaved), each round many calls long; the figures
are microseconds per call, median and best over the rounds.  The input is
a random vector in [0, 1) (the result does not depend on the values).
"""

import argparse
import os
import random
import statistics
import sys
from array import array
from contextlib import nullcontext

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import benchlib  # noqa: E402
import peers  # noqa: E402

import pybp  # noqa: E402


def optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def weights_of(np, net):
    """W^l and b^l of net as numpy arrays in its dtype."""
    ws = [np.asarray(w, dtype=net.dtype).copy() for w in net.weights]
    bs = [np.asarray(b, dtype=net.dtype).copy() for b in net.biases]
    return ws, bs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default="784,30,10;784,100,10",
                    help="networks, ';'-separated (default %(default)s)")
    ap.add_argument("--rounds", type=int, default=21, help="rounds (default 21)")
    ap.add_argument("--batch", type=int, default=0, metavar="N",
                    help="time the outputs of N examples per call instead of one")
    ap.add_argument("--round-seconds", type=float, default=0.02,
                    help="length of one round of one implementation (default 0.02)")
    args = ap.parse_args(argv)
    np, torch = optional("numpy"), optional("torch")
    if torch is not None:
        torch.set_num_threads(1)
    print("cpu: %s; pybp %s, C isa %s; numpy %s; torch %s"
          % (benchlib.cpu_name(), pybp.__version__, pybp.backends.best_isa(),
             np.__version__ if np else "missing", torch.__version__ if torch else "missing"))
    rng = random.Random(0)
    for text in args.nets.split(";"):
        sizes = [int(v) for v in text.split(",")]
        base = pybp.Network(sizes, seed=0, backend="c")
        count = max(args.batch, 1)
        x = array("d", [rng.random() for _ in range(sizes[0] * count)])
        for dtype in ("float64", "float32"):
            net = base if dtype == "float64" else base.copy(dtype=dtype)
            if args.batch:
                data = pybp.Dataset(x, n_inputs=sizes[0]).inputs_as(dtype)
                buf = array("d" if dtype == "float64" else "f",
                            bytes(count * sizes[-1] * (8 if dtype == "float64" else 4)))
                funcs = [("pybp", lambda net=net, data=data, buf=buf:
                          net.outputs(data, out=buf), nullcontext)]
            else:
                funcs = [("pybp", lambda net=net, x=x: net.feedforward(x), nullcontext)]
            if np is not None:
                ws, bs = weights_of(np, net)
                xn = np.asarray(x, dtype=dtype)
                if args.batch:
                    xn = xn.reshape(count, sizes[0])
                funcs.append(("numpy", lambda ws=ws, bs=bs, xn=xn:
                              peers.numpy_forward(np, ws, bs, xn), nullcontext))
                if torch is not None:
                    model = peers.torch_model(torch, ws, bs, getattr(torch, dtype))
                    xt = torch.from_numpy(xn.copy())
                    funcs.append(("torch", lambda model=model, xt=xt: model(xt),
                                  torch.no_grad))
            got = benchlib.interleaved(funcs, args.rounds, args.round_seconds)
            med = {name: statistics.median(v) for name, v in got.items()}
            scale, unit = (1e3, "ms") if args.batch else (1e6, "us")
            parts = ["%s %.2f / %.2f" % (name, scale * med[name], scale * min(v))
                     if args.batch else
                     "%s %.1f / %.1f" % (name, scale * med[name], scale * min(v))
                     for name, v in got.items()]
            ratios = ["pybp/%s %.2f" % (name, med["pybp"] / med[name])
                      for name in med if name != "pybp"]
            print("%-12s %-7s %s per call%s (median / best): %s;  %s"
                  % (text.replace(",", "-"), dtype, unit,
                     " of %d examples" % count if args.batch else "", ";  ".join(parts),
                     ";  ".join(ratios)), flush=True)


if __name__ == "__main__":
    main()
