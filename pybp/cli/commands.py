"""The commands that use a saved model, and the benchmarks: `pybp evaluate`,
`predict`, `show`, `export-c` and `bench gradient`.

Thin wrappers: the work is in data.py, summary.py, png.py, export_c.py and
gradbench.py.
"""

import os
from typing import Iterable

from .. import backends, data, export_c, files, gradbench, load, png, summary
from .common import (
    MNIST_CLASSES,
    MNIST_INPUTS,
    RunError,
    UsageError,
    check_outputs,
    json_line,
    network_spec,
    percent,
    say,
)

# --- evaluate -----------------------------------------------------------------


def _check_inputs(net, dataset, source):
    if dataset.n_inputs != net.sizes[0]:
        raise RunError(f"{source} has {dataset.n_inputs} values per example, "
                       f"the model takes {net.sizes[0]}")


def cmd_evaluate(args, out, err):
    net = load(args.model, backend=args.backend)
    if args.csv is not None:
        if args.data is not None:
            raise UsageError("give --data (MNIST) or --csv, not both")
        test = data.load_csv(args.csv, n_classes=net.sizes[-1])
        source = args.csv
    else:
        if net.sizes[0] != MNIST_INPUTS:
            raise RunError(f"{args.model} takes {net.sizes[0]} inputs, MNIST "
                           f"images have {MNIST_INPUTS}; use --csv")
        if net.sizes[-1] < MNIST_CLASSES:
            raise RunError(f"{args.model} has {net.sizes[-1]} outputs, MNIST "
                           f"has {MNIST_CLASSES} classes")
        source = data.find_mnist(args.data)
        test = data.load_mnist(source)[2]
    _check_inputs(net, test, source)
    if args.test_limit is not None:
        test = test.subset(args.test_limit)
    correct = net.evaluate(test)
    total = test.count
    if args.json:
        say(out, json_line({"model": args.model, "correct": correct,
                            "total": total,
                            "accuracy": correct / total,
                            "backend": net.backend}))
    else:
        say(out, f"{correct}/{total} correct "
                 f"({percent(correct, total):.2f}%)")
    return 0


# --- predict ------------------------------------------------------------------


def cmd_predict(args, out, err):
    net = load(args.model, backend=args.backend)
    if data.is_idx(args.input):
        inputs = data.read_idx_inputs(args.input, net.sizes[0])
    else:
        inputs = data.read_csv_inputs(args.input)
        if inputs.n_inputs != net.sizes[0]:
            raise RunError(f"{args.input} has {inputs.n_inputs} features per "
                           f"row, the model takes {net.sizes[0]}")
    if args.outputs:
        # repr: the shortest text that reads back as the same float64.
        lines: Iterable[str] = (",".join(map(repr, row)) for row in net.outputs(inputs))
    else:
        lines = map(str, net.predict(inputs))
    for line in lines:
        out.write(line + "\n")
    out.flush()
    return 0


# --- show, export-c, bench gradient -------------------------------------------


def cmd_show(args, out, err):
    net = load(args.model, backend="python")  # no kernel runs
    if args.png is not None:
        check_outputs([("--png", args.png)], [("MODEL", args.model)])
        try:
            scale = args.scale if args.scale is not None else png.readable_scale(net)
            width, height = png.write_weights_png(net, args.png, scale=scale,
                                                  normalise=args.normalise)
        except ValueError as exc:
            raise RunError(f"{args.model}: {exc}") from None
        say(out, f"wrote {args.png}: {net.sizes[1]} first-layer neurons, "
                 f"{width}x{height} pixels")
        return 0
    facts = summary.summary(net, source=args.model)
    if args.json:
        say(out, json_line(facts))
    else:
        say(out, summary.format_summary(facts))
    return 0


def cmd_export_c(args, out, err):
    try:
        export_c.check_name(args.name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.output is not None and args.output != "-":
        check_outputs([("--output", args.output)], [("MODEL", args.model)])
    net = load(args.model, backend="python")
    source = os.path.basename(args.model)
    if args.output is None or args.output == "-":
        out.write(export_c.export_c(net, args.name, source=source))
        out.flush()
    else:
        export_c.write_c(net, args.output, args.name, source=source)
        say(out, f"wrote {args.output}: {args.name}_feedforward for sizes "
                 f"{'-'.join(map(str, net.sizes))}")
    return 0


def cmd_bench_gradient(args, out, err):
    backends.check(args.backend)  # an unavailable backend fails at once
    sizes_list = args.sizes_list or [list(s) for s in gradbench.DEFAULT_SIZES]
    for sizes in sizes_list:
        network_spec(sizes, ["sigmoid"], "quadratic")  # bad sizes: usage error
    rows = []
    if not args.json:
        say(out, "backprop vs finite differences: backend "
                 f"{args.backend or backends.DEFAULT}, batch of {args.batch}, "
                 f"central differences with eps {gradbench.EPS:g} (2 cost "
                 "evaluations per parameter), budget "
                 f"{args.budget:g} s per network")
        say(out, gradbench.format_header())
    for sizes in sizes_list:
        rec = gradbench.bench_gradient(sizes, backend=args.backend,
                                       batch=args.batch, budget=args.budget,
                                       seed=args.seed)
        rows.append(rec)
        say(out, json_line(rec) if args.json else gradbench.format_row(rec))
    notes = gradbench.format_notes(rows)
    if notes and not args.json:
        say(out, notes)
    return 0


def cmd_golden(args, out, err):
    # Imported here: only this command needs the case generator.
    from .. import golden
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"--output {args.output}: not a directory")
    npy = not args.no_npy
    if npy:
        try:
            import numpy  # noqa: F401
        except ImportError:
            npy = False
    files.make_directory(args.output)
    count = golden.write(args.output, npy=npy)
    kinds = "text, JSON and .npy" if npy else "text and JSON"
    say(out, f"wrote {count} golden cases ({kinds}) and their MANIFEST to {args.output}")
    return 0
