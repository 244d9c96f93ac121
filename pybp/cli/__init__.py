"""The `pybp` command: train, evaluate, predict, info, show, export-c, data,
bench (docs/cli.md).

main(argv) returns the exit code instead of exiting, so tests and other
programs can call it in-process.  Exit codes: 0 success, 1 a runtime error
(a missing or corrupt file, data that does not fit the model), 2 a usage
error (bad options), 130 interrupted.  Errors are one line on stderr,
``pybp: error: ...``, never a traceback (set PYBP_DEBUG=1 to get one).

The package, one job a module: parser (the options), train (`pybp train`),
commands (evaluate, predict, show, export-c, bench), download (`pybp data
mnist`), facts (`pybp info` and info()), progress (the progress bar of
training and downloads) and common (the errors and output helpers they
share).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .. import DivergenceError
from ..backends import BackendError
from ..data import MnistNotFoundError
from .common import RunError, UsageError, say
from .facts import info
from .parser import build_parser

__all__ = ["RunError", "UsageError", "build_parser", "info", "main"]


def _one_line(text):
    """Error messages go on one line; multi-line ones are joined."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _say_lines(stream, text):
    """A message of several lines: the first as the error, each one after it
    prefixed with "pybp: ", so that every line says who wrote it."""
    lines = [line.rstrip() for line in str(text).splitlines() if line.strip()]
    say(stream, "pybp: error: " + (lines[0] if lines else ""))
    for line in lines[1:]:
        say(stream, "pybp: " + line)


def _describe(exc):
    """The text of an error: the file and the reason for an OSError."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, MemoryError):
        return "out of memory" + (f": {exc}" if str(exc) else "")
    return str(exc) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pybp command line; returns the exit status."""
    out, err = sys.stdout, sys.stderr
    debug = bool(os.environ.get("PYBP_DEBUG"))
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # reported here to point at the subcommand's --help
            raise UsageError(f"unrecognized arguments: {' '.join(extra)} "
                             f"(see 'pybp {args.command} --help')")
        return args.func(args, out, err)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        if debug:
            raise
        say(err, "pybp: error: " + _one_line(exc))
        return 2
    except KeyboardInterrupt:
        say(err, "pybp: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `pybp predict ... | head`): not an error
        # worth a message; stop writing to the closed pipe.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except MnistNotFoundError as exc:
        if debug:
            raise
        # A list of the places looked at and what to do: kept as lines.
        _say_lines(err, str(exc))
        return 1
    except (RunError, ValueError, TypeError, OSError, BackendError,
            MemoryError, DivergenceError) as exc:
        if debug:
            raise
        say(err, "pybp: error: " + _one_line(_describe(exc)))
        return 1
