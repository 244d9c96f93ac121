"""`pybp data mnist [DIR]`: download MNIST's four files (pybp.download does
the work) and say what was done, one line per file."""

import os

from .. import data, download
from .common import UsageError, say
from .progress import ProgressBar


def mnist_directory(given):
    """Where `pybp data mnist` puts the files: DIR, else $PYBP_DATA, else the
    per-user data directory."""
    if given is not None:
        return given
    return os.environ.get("PYBP_DATA") or data.mnist_user_dir()


def _units(done, count):
    """Bytes as the bar shows them: 4.2/9.7 MB, or 12/29 kB for small files."""
    if count >= 1e6:
        return f"{done / 1e6:.1f}/{count / 1e6:.1f} MB"
    return f"{done / 1e3:.0f}/{count / 1e3:.0f} kB"


def _line(fetched):
    if fetched.status == "present":
        return f"{fetched.name}: already there, verified"
    how = (f"resumed at {fetched.resumed_from:,} bytes, " if fetched.resumed_from
           else "")
    again = "replaced the damaged file, " if fetched.replaced else ""
    return (f"{fetched.name}: downloaded {fetched.size:,} bytes from {fetched.url} "
            f"({how}{again}verified)")


def _same_directory(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _where_train_looks(directory):
    """The line that says whether `pybp train` will find this directory."""
    try:
        found = data.find_mnist()
    except data.MnistNotFoundError:  # pragma: no cover - it was just written
        found = None
    if found is not None and _same_directory(found, directory):
        return f"MNIST is in {directory}; pybp train and pybp evaluate find it there"
    return (f"MNIST is in {directory}; pass --data {directory} to pybp train "
            f"and pybp evaluate, or set PYBP_DATA to it")


def cmd_data_mnist(args, out, err):
    directory = mnist_directory(args.dir)
    mirrors = args.url if args.url else download.mirrors_from_environment()
    try:
        mirrors = [download.check_mirror(m) for m in mirrors]
    except ValueError as exc:
        source = "--url" if args.url else download.URL_ENV
        raise UsageError(f"{source}: {exc}") from None
    bars: dict = {}

    def progress(name, done, total):
        if total is None:
            return  # no size to draw a bar against
        bar = bars.get(name)
        if bar is None:
            bar = bars[name] = ProgressBar(err, label=name, units=_units)
        bar(done, total)

    def clear_bars():
        for bar in bars.values():
            bar.clear()
        bars.clear()

    def notice(text):
        clear_bars()
        say(err, "pybp data: " + text)

    def done(fetched):
        clear_bars()
        say(out, _line(fetched))

    try:
        download.download_mnist(directory, mirrors, timeout=args.timeout,
                                progress=progress, notice=notice, done=done)
    finally:
        clear_bars()
    say(out, _where_train_looks(directory))
    return 0
