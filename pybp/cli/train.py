"""`pybp train`: the run's settings (defaults, a checkpoint's, the options),
the rules of --resume, loading the data, and the training run with its
output: epoch lines or JSON, diagnostics, checkpoints, the --plot SVG and
the saved model.
"""

from .. import Network, __version__, backends, checkpoint, data
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
    show,
)
from .progress import ProgressBar

# The book's first network (chapter 1): what `pybp train` runs by default.
DEFAULTS = {"sizes": [784, 30, 10], "activation": "sigmoid",
            "cost": "quadratic", "eta": 3.0, "lmbda": 0.0,
            "mini_batch_size": 10, "epochs": 30, "seed": 0, "init": "normal",
            "limit": None, "test_limit": None, "dtype": "float64"}

# The most output units a network gets from its data's labels alone (a
# stray label of 10000000 would otherwise build a 2.4 GB network): more
# takes an explicit --sizes.
MAX_CLASSES = 1000
# Networks with this many parameters take a noticeable time to draw.
SLOW_INIT = 10 ** 7
DRAWS_PER_SECOND = 1.5e6  # initial parameter draws per second, CPython 3.11 (at least)

# Command-line option -> settings key (checkpoint.SETTINGS).
_OPTION_KEYS = {"sizes": "sizes", "activation": "activations", "cost": "cost",
                "eta": "eta", "lmbda": "lmbda",
                "mini_batch_size": "mini_batch_size", "epochs": "epochs",
                "seed": "seed", "init": "init", "limit": "limit",
                "test_limit": "test_limit", "dtype": "dtype"}


def _option_name(attr):
    return "--" + attr.replace("_", "-")


def _settings(args, resumed):
    """The run's settings: defaults < checkpoint < explicit options."""
    given = {attr: getattr(args, attr) for attr in _OPTION_KEYS
             if getattr(args, attr) is not None}
    kind = "csv" if args.csv_train is not None else "mnist"
    if resumed is None:
        base = {_OPTION_KEYS[a]: v for a, v in DEFAULTS.items()}
        base["activations"] = [DEFAULTS["activation"]]
        base["data"] = kind
    else:
        base = dict(resumed.settings)
    merged = dict(base)
    for attr, value in given.items():
        merged[_OPTION_KEYS[attr]] = value
    if resumed is not None and merged["sizes"] != base["sizes"]:
        _conflict("sizes", merged["sizes"], base["sizes"])
    spec = network_spec(merged["sizes"], merged["activations"], merged["cost"])
    merged["sizes"] = list(spec.sizes)
    merged["activations"] = list(spec.activations)
    merged["cost"] = spec.cost
    if resumed is None:
        return merged, spec
    # A resumed run keeps its settings: anything else would silently make
    # it a different run than the one the checkpoint belongs to.
    for attr in given:
        key = _OPTION_KEYS[attr]
        if key == "epochs":
            continue
        if merged[key] != base[key]:
            _conflict(attr, merged[key], base[key])
    if kind != base["data"]:
        raise UsageError("the checkpoint was trained on CSV data; pass "
                         "--csv-train and --csv-test" if base["data"] == "csv"
                         else "the checkpoint was trained on MNIST; drop "
                         "--csv-train and --csv-test")
    if merged["epochs"] < resumed.epoch:
        raise UsageError(f"--epochs {merged['epochs']}: the checkpoint has "
                         f"already trained {resumed.epoch} epochs")
    return merged, spec


def _conflict(attr, given, stored):
    raise UsageError(f"{_option_name(attr)} {show(given)} conflicts with the "
                     f"checkpoint's {show(stored)}; a resumed run keeps its "
                     "settings (only --epochs may change)")


def _csv_data(args):
    """(training, test) from --csv-train/--csv-test, or None for MNIST."""
    if args.csv_train is None:
        if args.csv_test is not None:
            raise UsageError("--csv-test needs --csv-train")
        return None
    if args.csv_test is None:
        raise UsageError("--csv-train needs --csv-test")
    if args.data is not None:
        raise UsageError("--data names an MNIST directory; it has no use "
                         "with --csv-train")
    train = data.load_csv(args.csv_train)
    test = data.load_csv(args.csv_test)
    if test.n_inputs != train.n_inputs:
        raise RunError(f"{args.csv_test} has {test.n_inputs} features per "
                       f"row, {args.csv_train} has {train.n_inputs}")
    return train, test


def _classes(train, test):
    return max(max(train.labels), max(test.labels)) + 1


def _training_data(args, settings, csv):
    """(training, test, description of where) with the limits applied."""
    sizes = settings["sizes"]
    if csv is not None:
        train, test = csv
        where = f"{args.csv_train}, {args.csv_test}"
        if train.n_inputs != sizes[0]:
            raise UsageError(f"--sizes: {args.csv_train} has {train.n_inputs} "
                             "features per row, so the first size must be "
                             f"{train.n_inputs}, not {sizes[0]}")
        classes = _classes(train, test)
        if classes > sizes[-1]:
            raise UsageError(f"--sizes: the data has labels up to {classes - 1}"
                             f", so the last size must be at least {classes}, "
                             f"not {sizes[-1]}")
    else:
        # Checked before the files are read: a wrong --sizes fails at once.
        if sizes[0] != MNIST_INPUTS or sizes[-1] != MNIST_CLASSES:
            raise UsageError(f"--sizes {show(sizes)}: MNIST needs "
                             f"{MNIST_INPUTS} inputs and {MNIST_CLASSES} "
                             "outputs (e.g. 784,30,10)")
        where = data.find_mnist(args.data)
        train, _validation, test = data.load_mnist(where)
    if settings["limit"] is not None:
        train = train.subset(settings["limit"])
    if settings["test_limit"] is not None:
        test = test.subset(settings["test_limit"])
    return train, test, where


def _epoch_line(rec, epochs):
    # int(): a resumed checkpoint's history may write epoch 2 as 2.0.
    correct, total = rec["correct"], rec["total"]
    return (f"epoch {int(rec['epoch'])}/{epochs}: {correct}/{total} correct "
            f"({percent(correct, total):.2f}%), cost {rec['cost']:.6g}, "
            f"{rec['seconds']:.2f} s")


def _header(net, settings, train, test, where):
    acts = settings["activations"]
    act = acts[0] if len(set(acts)) == 1 else ",".join(acts)
    dtype = " float32" if net.dtype == "float32" else ""
    sizes = "-".join(map(str, settings["sizes"]))
    backend = net.backend
    if backend == "python" and backends.REQUESTED != "python" and backends.C_UNAVAILABLE:
        # Not asked for: say why the slow backend runs, in the first line.
        backend += f" (the C backend is unavailable: {backends.C_UNAVAILABLE})"
    return (f"pybp train: backend {backend}{dtype}, sizes {sizes}, {act}, "
            f"{settings['cost']} cost, eta {settings['eta']:g}, "
            f"lmbda {settings['lmbda']:g}, "
            f"batch {settings['mini_batch_size']}, "
            f"epochs {settings['epochs']}, seed {settings['seed']}, "
            f"init {settings['init']}; {train.count} training / "
            f"{test.count} test examples from {where}")


def _plot_title(settings):
    acts = settings["activations"]
    act = acts[0] if len(set(acts)) == 1 else ",".join(acts)
    sizes = "-".join(map(str, settings["sizes"]))
    lmbda = f"lmbda {settings['lmbda']:g}, " if settings["lmbda"] else ""
    return (f"pybp train: {sizes}, {act}, {settings['cost']} cost, "
            f"eta {settings['eta']:g}, {lmbda}"
            f"batch {settings['mini_batch_size']}")


def _plot(args, history, epochs, settings):
    """Rewrite the --plot SVG (if asked for) with the epochs so far."""
    if args.plot is not None:
        # Imported here: svg's xml.sax.saxutils pulls in urllib and
        # http.client, some 20 ms of start-up that only --plot needs.
        from .. import svg
        svg.write_learning_curves(args.plot, history, epochs=epochs,
                                  title=_plot_title(settings))


def _report(out, args, net, rec, epochs, diagnosis):
    """An epoch's result on stdout: its line, or its JSON object."""
    if diagnosis is not None:
        # Imported here: diagnostics needs dataclasses (some 10 ms of
        # start-up), and only --diagnose gives a diagnosis to report.
        from .. import diagnostics
    if args.json:
        line = {
            "epoch": rec["epoch"], "epochs": epochs,
            "correct": rec["correct"], "total": rec["total"],
            "accuracy": rec["correct"] / rec["total"],
            "cost": rec["cost"], "seconds": rec["seconds"],
            "backend": net.backend, "dtype": net.dtype}
        if diagnosis is not None:
            line["diagnostics"] = diagnostics.as_json(diagnosis)
        say(out, json_line(line))
    else:
        say(out, _epoch_line(rec, epochs))
        if diagnosis is not None:
            say(out, diagnostics.format_report(diagnosis))


def _interrupted(args, resumed, epoch, saved):
    """The message for Ctrl-C while `epoch` runs (counted from 1, as the
    epoch lines and the progress bar count), naming the file that holds the
    last epoch saved (`saved`, or the one resumed from)."""
    where_saved = ""
    if saved is not None:
        where_saved = f" ({args.checkpoint} holds epoch {saved})"
    elif resumed is not None:
        where_saved = f" ({args.resume} still holds epoch {resumed.epoch})"
    return f"pybp: interrupted in epoch {epoch}{where_saved}"


def _network(args, settings, spec, resumed, err):
    """The network to train and the history of its epochs so far: a new
    one, or the resumed checkpoint's, ready for its next epoch."""
    if resumed is None and spec.nparams >= SLOW_INIT:
        # Drawn one by one in Python: say so before a long silence.
        say(err, f"pybp train: drawing {spec.nparams:,} initial parameters "
                 f"(about {spec.nparams / DRAWS_PER_SECOND:.0f} s)")
    if resumed is None:
        net = Network(spec.sizes, list(spec.activations), spec.cost,
                      seed=settings["seed"], init=settings["init"],
                      backend=args.backend, dtype=settings["dtype"])
        history = []
    else:
        net = Network.from_params(spec.sizes, list(spec.activations), spec.cost,
                                  resumed.params, backend=args.backend,
                                  seed=settings["seed"], dtype=settings["dtype"])
        net.init = settings["init"]
        net.shuffle_state = resumed.shuffle_state
        net.epochs_trained = resumed.epoch
        history = list(resumed.history)
    net.threads = args.threads
    return net, history


def cmd_train(args, out, err):
    backends.check(args.backend)  # an unavailable backend fails at once
    resumed = checkpoint.load(args.resume) if args.resume is not None else None
    csv = _csv_data(args)
    if csv is not None and args.sizes is None and resumed is None:
        # Tabular data: by default one hidden layer of 30, sized to the data.
        classes = _classes(*csv)
        if classes > MAX_CLASSES:
            raise UsageError(f"the labels go up to {classes - 1}, which would make "
                             f"an output layer of {classes} units; give --sizes "
                             "to build a network that large on purpose")
        args.sizes = [csv[0].n_inputs, 30, classes]
    settings, spec = _settings(args, resumed)
    if settings["dtype"] == "float32" and (args.backend or backends.DEFAULT) == "python":
        raise UsageError("--dtype float32 runs on the C backend only (the Python "
                         "backend is the float64 reference)"
                         + ("; drop --backend python" if args.backend else ""))
    # --resume may be --checkpoint: a run that goes on in its own file.
    check_outputs([("--save", args.save), ("--checkpoint", args.checkpoint),
                   ("--plot", args.plot)],
                  [("--csv-train", args.csv_train), ("--csv-test", args.csv_test)]
                  + ([] if args.resume == args.checkpoint
                     else [("--resume", args.resume)]))
    train, test, where = _training_data(args, settings, csv)
    net, history = _network(args, settings, spec, resumed, err)
    # Float inputs in the network's element type once, not in every call.
    train, test = train.inputs_as(net.dtype), test.inputs_as(net.dtype)

    epochs = settings["epochs"]
    verbose = not (args.quiet or args.json)
    if verbose:
        say(out, _header(net, settings, train, test, where))
        if resumed is not None:
            say(out, f"resuming {args.resume} after epoch {resumed.epoch} "
                     f"of {epochs}")

    bar = ProgressBar(err, enabled=None if not args.quiet else False)
    sample = None if args.diagnose is True else args.diagnose  # None: 500
    saved = None       # the epoch the checkpoint file holds
    diagnosis = None   # the last epoch's, for --quiet
    # The plot exists from the start: empty, or the resumed epochs.
    _plot(args, history, epochs, settings)
    if net.epochs_trained < epochs:
        epoch = net.epochs_trained + 1  # the one running, for Ctrl-C's message
        try:
            for epoch in range(net.epochs_trained + 1, epochs + 1):
                bar.label = f"epoch {epoch}/{epochs}"
                record = net.train_epoch(train, settings["mini_batch_size"],
                                         settings["eta"], settings["lmbda"],
                                         progress=bar if bar.enabled else None)
                # The bar would stand still at count/count while the test
                # set is evaluated (seconds on the Python backend).
                bar.note(f"{bar.label}: evaluating on {test.count} test examples")
                rec = {"epoch": record["epoch"], "correct": net.evaluate(test),
                       "total": test.count, "cost": record["cost"],
                       "seconds": record["seconds"]}
                if args.diagnose:
                    diagnosis = net.diagnose(train, sample=sample)
                bar.clear()
                history.append(rec)
                if args.checkpoint is not None:
                    checkpoint.save(args.checkpoint, settings, net.epochs_trained,
                                    net.shuffle_state, net.params, history,
                                    extra={"pybp": __version__,
                                           "backend": net.backend})
                    saved = net.epochs_trained
                _plot(args, history, epochs, settings)
                if not args.quiet:
                    _report(out, args, net, rec, epochs, diagnosis)
        except KeyboardInterrupt:
            bar.clear()
            say(err, _interrupted(args, resumed, epoch, saved))
            return 130
    elif verbose:
        say(out, f"nothing to train: the checkpoint has all {epochs} epochs")

    if args.quiet and history:
        _report(out, args, net, history[-1], epochs, diagnosis)
    if args.save is not None:
        net.save(args.save)
        if verbose:
            say(out, f"saved model to {args.save}")
    if args.plot is not None and verbose:
        say(out, f"wrote learning curves to {args.plot}")
    return 0
