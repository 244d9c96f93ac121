"""A one-line progress bar for the epochs of `pybp train` and the downloads
of `pybp data mnist`.

It draws only on a terminal: when stderr is a file or a pipe (CI logs, a
redirect), a bar redrawn with carriage returns is noise, so it draws nothing.
"""

import time


class ProgressBar:
    """Callable as net.train_epoch's progress(done, count); draws on `stream`.

    ``enabled`` defaults to whether `stream` is a terminal.  Redraws are
    limited to about ten a second; the final state (done == count) is always
    drawn.  clear() erases the line, so the next line printed starts clean.
    ``units(done, count)``, if given, writes the counts (default
    "done/count").
    """

    def __init__(self, stream, label="", width=30, enabled=None, units=None):
        self.stream = stream
        self.label = label
        self.width = width
        self.units = units
        if enabled is None:
            isatty = getattr(stream, "isatty", None)
            try:
                enabled = bool(isatty and isatty())
            except (OSError, ValueError):  # a closed or odd stream
                enabled = False
        self.enabled = enabled
        self._drawn = 0      # length of the text on the line now
        self._last = 0.0     # time of the last redraw
        self._start = None
        self._base = 0       # done at the first call

    def __call__(self, done, count):
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._start is None:
            # The estimate counts from the first call: the work done by then
            # (a first piece of an epoch, a download's resumed bytes) is not
            # part of the rate.
            self._start, self._base = now, done
        if done < count and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width * done // count if count else self.width
        bar = "#" * filled + "." * (self.width - filled)
        counts = self.units(done, count) if self.units else f"{done}/{count}"
        text = f"{self.label} [{bar}] {counts}"
        if self._base < done < count:
            left = (now - self._start) * (count - done) / (done - self._base)
            text += f"  {round(left)}s left"
        pad = " " * max(0, self._drawn - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._drawn = len(text)

    def note(self, text):
        """Show `text` on the bar's line (e.g. what runs after the epoch),
        until the next redraw or clear()."""
        if not self.enabled:
            return
        pad = " " * max(0, self._drawn - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._drawn = len(text)

    def clear(self):
        """Erase the bar (a no-op when nothing was drawn)."""
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0
        self._start = None
        self._base = 0
        self._last = 0.0
