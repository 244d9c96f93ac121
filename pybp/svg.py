"""Learning curves as a standalone SVG file, drawn by pybp itself.

    from pybp.svg import learning_curves, write_learning_curves
    history = net.sgd(training, 30, 10, 3.0, test_data=test)
    write_learning_curves("curves.svg", history, epochs=30)

Two panels share the epoch axis: the mean training cost of each epoch on
top, the test accuracy (percent) below.  `history` is a list of epoch
records as ``Network.sgd`` returns them (``epoch``, ``cost``, and with test
data ``correct`` and ``total``).  The file is rewritten atomically, so a
viewer that reloads it during a run never sees half a drawing; `epochs`
(the planned total) fixes the epoch axis from the start, so it does not
rescale while the run goes on.  Costs that are not finite (a diverged run)
are left out of the drawing.
"""

from __future__ import annotations

import math
from typing import Any, List, Mapping, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

__all__ = ["learning_curves", "write_learning_curves", "nice_ticks"]

WIDTH, HEIGHT = 760, 600
LEFT, RIGHT = 84, 28          # room for the y tick labels and the axis title
PANELS = ((92, 300), (352, 540))  # (top, bottom) of the cost and accuracy plots
COST_COLOUR = "#1f5fa8"
ACCURACY_COLOUR = "#d9610f"
GRID_COLOUR = "#e3e3e3"


def nice_ticks(lo: float, hi: float, most: int = 6) -> Tuple[float, float, List[float]]:
    """Round axis limits around [lo, hi] and the ticks between them.

    The step is 1, 2, 2.5 or 5 times a power of ten, the smallest giving at
    most `most` intervals; the limits are the multiples of the step just
    outside the data.  Returns (low limit, high limit, ticks).
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("axis limits must be finite")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:  # one value, or all equal: give it some room
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / most
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = mult * power
        first = math.floor(lo / step + 1e-9)
        last = math.ceil(hi / step - 1e-9)
        if last - first <= most:
            break
    ticks = [k * step for k in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def _tick_label(value: float, step: float) -> str:
    """A tick value with as many decimals as the step needs (0.25 needs two)."""
    decimals = 0
    while decimals < 12 and abs(step * 10 ** decimals
                                - round(step * 10 ** decimals)) > 1e-9 * 10 ** decimals:
        decimals += 1
    text = "%.*f" % (decimals, value)
    return "0" if float(text) == 0.0 else text  # no "-0.0"


def _num(v: float) -> str:
    return ("%.2f" % v).rstrip("0").rstrip(".")


class _Panel:
    """One plot: data coordinates to SVG coordinates, and its drawing."""

    def __init__(self, top: float, bottom: float, x_max: int,
                 y_lo: float, y_hi: float, y_ticks: List[float]):
        self.top, self.bottom = top, bottom
        self.left, self.right = LEFT, WIDTH - RIGHT
        self.x_max = x_max
        self.y_lo, self.y_hi, self.y_ticks = y_lo, y_hi, y_ticks

    def x(self, epoch: float) -> float:
        return self.left + (self.right - self.left) * epoch / self.x_max

    def y(self, value: float) -> float:
        span = self.y_hi - self.y_lo
        return self.bottom - (self.bottom - self.top) * (value - self.y_lo) / span

    def frame(self, x_ticks: List[int], y_title: str) -> List[str]:
        out = ['<g class="grid" stroke="%s" stroke-width="1">' % GRID_COLOUR]
        for t in self.y_ticks:
            out.append('<line x1="%s" y1="%s" x2="%s" y2="%s"/>'
                       % (_num(self.left), _num(self.y(t)), _num(self.right),
                          _num(self.y(t))))
        for t in x_ticks:
            out.append('<line x1="%s" y1="%s" x2="%s" y2="%s"/>'
                       % (_num(self.x(t)), _num(self.top), _num(self.x(t)),
                          _num(self.bottom)))
        out.append("</g>")
        step = (self.y_ticks[1] - self.y_ticks[0]) if len(self.y_ticks) > 1 else 1.0
        out.append('<g class="axes" stroke="#333" stroke-width="1" fill="none">')
        out.append('<polyline points="%s,%s %s,%s %s,%s"/>'
                   % (_num(self.left), _num(self.top), _num(self.left),
                      _num(self.bottom), _num(self.right), _num(self.bottom)))
        for t in self.y_ticks:
            out.append('<line x1="%s" y1="%s" x2="%s" y2="%s"/>'
                       % (_num(self.left - 5), _num(self.y(t)), _num(self.left),
                          _num(self.y(t))))
        for t in x_ticks:
            out.append('<line x1="%s" y1="%s" x2="%s" y2="%s"/>'
                       % (_num(self.x(t)), _num(self.bottom), _num(self.x(t)),
                          _num(self.bottom + 5)))
        out.append("</g>")
        out.append('<g class="tick-labels" font-size="11" fill="#333">')
        for t in self.y_ticks:
            out.append('<text x="%s" y="%s" text-anchor="end" '
                       'dy="0.35em">%s</text>'
                       % (_num(self.left - 8), _num(self.y(t)), _tick_label(t, step)))
        for t in x_ticks:
            out.append('<text x="%s" y="%s" text-anchor="middle">%d</text>'
                       % (_num(self.x(t)), _num(self.bottom + 18), t))
        out.append("</g>")
        mid = (self.top + self.bottom) / 2
        out.append('<text class="axis-title" x="%s" y="%s" font-size="12" '
                   'text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>'
                   % (_num(22), _num(mid), _num(22), _num(mid), escape(y_title)))
        return out

    def series(self, name: str, colour: str,
               points: Sequence[Tuple[int, float]], label: str) -> List[str]:
        xy = [(self.x(e), self.y(v)) for e, v in points]
        out = []
        if len(xy) > 1:
            out.append('<polyline class="series %s" fill="none" stroke="%s" '
                       'stroke-width="2" stroke-linejoin="round" points="%s"/>'
                       % (name, colour, " ".join("%s,%s" % (_num(a), _num(b))
                                                 for a, b in xy)))
        for (e, v), (a, b) in zip(points, xy):
            out.append('<circle class="point %s" cx="%s" cy="%s" r="3" fill="%s">'
                       '<title>epoch %d: %s</title></circle>'
                       % (name, _num(a), _num(b), colour, e, escape(label % v)))
        return out


def _accuracy(record: Mapping[str, Any]) -> Optional[float]:
    total = record.get("total")
    if record.get("correct") is None or not total:
        return None
    return 100.0 * record["correct"] / total


def learning_curves(history: Sequence[Mapping[str, Any]], *,
                    epochs: Optional[int] = None,
                    title: str = "pybp learning curves") -> str:
    """The SVG text of the two panels for these epoch records."""
    done = [r["epoch"] for r in history]
    x_max = max([epochs or 0, 1] + done)
    _, _, x_ticks_f = nice_ticks(0, x_max, 10)
    x_ticks = [int(t) for t in x_ticks_f if t <= x_max and t == int(t)]

    costs = [(r["epoch"], float(r["cost"])) for r in history
             if r.get("cost") is not None and math.isfinite(float(r["cost"]))]
    accs = [(r["epoch"], a) for r in history
            for a in [_accuracy(r)] if a is not None]

    c_lo, c_hi, c_ticks = nice_ticks(min(v for _, v in costs) if costs else 0.0,
                                     max(v for _, v in costs) if costs else 1.0, 5)
    if accs:
        a_lo, a_hi, a_ticks = nice_ticks(min(v for _, v in accs),
                                         max(v for _, v in accs), 5)
        if a_hi > 100.0:  # never promise more than 100%
            a_ticks = [t for t in a_ticks if t <= 100.0]
            a_hi = 100.0
            if len(a_ticks) < 2:
                a_lo, a_hi, a_ticks = nice_ticks(min(v for _, v in accs) - 1.0,
                                                 100.0, 5)
                a_hi = 100.0
                a_ticks = [t for t in a_ticks if t <= 100.0]
        a_lo = max(a_lo, 0.0)
        a_ticks = [t for t in a_ticks if t >= a_lo]
    else:
        a_lo, a_hi, a_ticks = 0.0, 100.0, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]

    cost_panel = _Panel(PANELS[0][0], PANELS[0][1], x_max, c_lo, c_hi, c_ticks)
    acc_panel = _Panel(PANELS[1][0], PANELS[1][1], x_max, a_lo, a_hi, a_ticks)

    status = "epoch %d of %d" % (done[-1] if done else 0, x_max)
    if accs:
        best = max(accs, key=lambda p: p[1])
        status += "; test accuracy %.2f%% (best %.2f%% at epoch %d)" % (
            accs[-1][1], best[1], best[0])
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
        'viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, '
        'sans-serif">' % (WIDTH, HEIGHT, WIDTH, HEIGHT),
        "<title>%s</title>" % escape(title),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text class="title" x="%d" y="28" font-size="16" font-weight="bold" '
        'text-anchor="middle">%s</text>' % (WIDTH // 2, escape(title)),
        '<text class="status" x="%d" y="48" font-size="12" fill="#555" '
        'text-anchor="middle">%s</text>' % (WIDTH // 2, escape(status)),
    ]
    # Legend: one entry per series, centred under the title.
    lx, ly = WIDTH // 2 - 200, 70
    out.append('<g class="legend" font-size="12">')
    out += _legend(lx, ly)
    out.append("</g>")

    out.append('<g class="panel cost">')
    out += cost_panel.frame(x_ticks, "training cost")
    if costs:
        out += cost_panel.series("cost", COST_COLOUR, costs, "cost %.6g")
    out.append("</g>")

    out.append('<g class="panel accuracy">')
    out += acc_panel.frame(x_ticks, "test accuracy (%)")
    if accs:
        out += acc_panel.series("accuracy", ACCURACY_COLOUR, accs, "%.2f%%")
    elif history:
        out.append('<text x="%s" y="%s" font-size="12" fill="#777" '
                   'text-anchor="middle">no test data</text>'
                   % (_num((acc_panel.left + acc_panel.right) / 2),
                      _num((acc_panel.top + acc_panel.bottom) / 2)))
    out.append("</g>")
    out.append('<text class="axis-title" x="%s" y="%d" font-size="12" '
               'text-anchor="middle">epoch</text>'
               % (_num((LEFT + WIDTH - RIGHT) / 2), PANELS[1][1] + 40))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(x: int, y: int) -> List[str]:
    out = []
    # Side by side; the offset leaves room for the first entry's text.
    for xx, name, colour, text in (
            (x, "cost", COST_COLOUR, "training cost (mean over the epoch)"),
            (x + 270, "accuracy", ACCURACY_COLOUR, "test accuracy")):
        out.append('<line class="legend-%s" x1="%d" y1="%d" x2="%d" y2="%d" '
                   'stroke="%s" stroke-width="2"/>'
                   % (name, xx, y, xx + 22, y, colour))
        out.append('<circle cx="%d" cy="%d" r="3" fill="%s"/>'
                   % (xx + 11, y, colour))
        out.append('<text x="%d" y="%d" dy="0.35em">%s</text>'
                   % (xx + 30, y, escape(text)))
    return out


def write_learning_curves(path: str, history: Sequence[Mapping[str, Any]], *,
                          epochs: Optional[int] = None,
                          title: str = "pybp learning curves") -> None:
    """Write learning_curves(...) to `path` atomically (temporary file, rename)."""
    from .files import save_file
    save_file(path, learning_curves(history, epochs=epochs,
                                    title=title).encode("utf-8"))
