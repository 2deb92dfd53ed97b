"""SVG strings from plain data: an escaped, deterministic drawing surface, run-merged grids, charts and graphs.

Everything here is pure Python and numpy (no matplotlib): a figure is a string, the same data always gives the
same bytes (coordinates are printed with two decimals), and every piece of text goes through :func:`esc`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Svg", "esc", "num", "mix", "PALETTE", "OVERLAP", "EMPTY", "grid", "Series", "line_chart",
           "graph_picture"]

#: Colours of the classes of identical rank-one supports (class ``c`` gets ``PALETTE[c % len(PALETTE)]``).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#ad494a")
#: Colour of entries covered by two classes or more (overlapping rank-one supports).
OVERLAP = "#111111"
#: Colour of an uncovered cell (drawn as the grid's background).
EMPTY = "#f4f4f4"


def esc(text: object) -> str:
    """``text`` escaped for an SVG/HTML text node or attribute.

    >>> esc('a<b & "c"')
    'a&lt;b &amp; &quot;c&quot;'
    """
    return html.escape(str(text), quote=True)


def num(x: float) -> str:
    """A coordinate with at most two decimals, without trailing zeros (deterministic text).

    >>> num(1.0), num(2.345), num(-0.001)
    ('1', '2.35', '0')
    """
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def mix(a: str, b: str, t: float) -> str:
    """The colour ``(1 - t) a + t b`` of two ``#rrggbb`` colours (``t`` clipped to [0, 1]).

    >>> mix("#000000", "#ffffff", 0.5)
    '#808080'
    """
    t = min(1.0, max(0.0, t))
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round((1 - t) * u + t * v):02x}" for u, v in zip(ca, cb, strict=True))


@dataclass
class Svg:
    """An SVG drawing built element by element; :meth:`render` gives the ``<svg>`` string."""

    width: float
    height: float
    title: str = ""
    parts: list[str] = field(default_factory=list)

    def rect(self, x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> None:
        self.parts.append(f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" fill="{fill}"'
                          f'{extra}/>')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1, extra: str = "") -> None:
        self.parts.append(f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" stroke="{stroke}" '
                          f'stroke-width="{num(width)}"{extra}/>')

    def text(self, x: float, y: float, text: object, size: float = 11, anchor: str = "start",
             extra: str = "") -> None:
        self.parts.append(f'<text x="{num(x)}" y="{num(y)}" font-size="{num(size)}" text-anchor="{anchor}"{extra}>'
                          f"{esc(text)}</text>")

    def circle(self, x: float, y: float, radius: float, fill: str, extra: str = "") -> None:
        self.parts.append(f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(radius)}" fill="{fill}"{extra}/>')

    def polyline(self, points: Sequence[tuple[float, float]], stroke: str, width: float = 1.5,
                 extra: str = "") -> None:
        coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self.parts.append(f'<polyline points="{coords}" fill="none" stroke="{stroke}" stroke-width="{num(width)}"'
                          f'{extra}/>')

    def render(self) -> str:
        title = f"<title>{esc(self.title)}</title>" if self.title else ""
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(self.width)}" height="{num(self.height)}" '
                f'viewBox="0 0 {num(self.width)} {num(self.height)}" role="img" font-family="sans-serif">'
                f"{title}{''.join(self.parts)}</svg>")


def grid(svg: Svg, x0: float, y0: float, cell: float, colours: np.ndarray, palette: Sequence[str]) -> None:
    """Draw a grid of cells at ``(x0, y0)``: ``colours[i, j]`` indexes ``palette`` (negative: background only).

    Equal neighbours in a row are merged into one run and the runs of one colour into one ``<path>`` in cell
    units, so a picture costs about 15 bytes per colour run, not per cell. The background (``EMPTY``) and a
    thin frame are drawn first.
    """
    h, w = colours.shape
    svg.rect(x0, y0, w * cell, h * cell, EMPTY, ' stroke="#999" stroke-width="0.5"')
    runs: dict[int, list[str]] = {}
    for i in range(h):
        row = colours[i]
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        ends = np.r_[starts[1:], w]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            value = int(row[s])
            if value >= 0:
                runs.setdefault(value, []).append(f"M{s} {i}h{e - s}v1h{s - e}z")
    if runs:
        paths = "".join(f'<path fill="{palette[v]}" d="{"".join(d)}"/>' for v, d in sorted(runs.items()))
        svg.parts.append(f'<g transform="translate({num(x0)} {num(y0)}) scale({num(cell)})" '
                         f'shape-rendering="crispEdges">{paths}</g>')


@dataclass(frozen=True)
class Series:
    """One curve of a :func:`line_chart`: points ``(xs[t], ys[t])``, drawn in ``colour``."""

    label: str
    xs: Sequence[float] | np.ndarray
    ys: Sequence[float] | np.ndarray
    colour: str
    dashed: bool = False


def _ticks(low: float, high: float, log: bool) -> list[float]:
    """Tick positions in data units (decades on a log axis, 1-2-5 steps on a linear one)."""
    if log:
        return [10.0 ** e for e in range(math.floor(low), math.ceil(high) + 1) if low - 1e-9 <= e <= high + 1e-9]
    span = high - low
    raw = span / 5 if span > 0 else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 5, 10) if s * mag >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + k * step for k in range(int((high - first) / step + 1e-9) + 1)]


def _tick_label(v: float, log: bool) -> str:
    if log:
        return f"1e{round(math.log10(v))}"
    return f"{v:.4g}"


def line_chart(series: Sequence[Series], *, title: str, xlabel: str, ylabel: str, xlog: bool = False,
               ylog: bool = False, width: float = 560, height: float = 330) -> str:
    """A line chart as an SVG string: axes with ticks, one polyline per series, a legend on the right.

    Points that a log axis cannot show (``≤ 0``) and non-finite points are left out.
    """
    def tr(v: float, log: bool) -> float | None:
        if not math.isfinite(v) or (log and v <= 0):
            return None
        return math.log10(v) if log else v

    pts = [[(tx, ty) for x, y in zip(s.xs, s.ys, strict=True)
            if (tx := tr(float(x), xlog)) is not None and (ty := tr(float(y), ylog)) is not None] for s in series]
    allx = [p[0] for ps in pts for p in ps] or [0.0, 1.0]
    ally = [p[1] for ps in pts for p in ps] or [0.0, 1.0]
    x_lo, x_hi, y_lo, y_hi = min(allx), max(allx), min(ally), max(ally)
    if y_hi - y_lo < 1e-12:
        y_lo, y_hi = y_lo - 1, y_hi + 1
    else:
        pad = 0.05 * (y_hi - y_lo)
        y_lo, y_hi = y_lo - pad, y_hi + pad
    if x_hi - x_lo < 1e-12:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    legend_w = 170
    left, top, right, bottom = 62, 26, width - legend_w, height - 44
    svg = Svg(width, height, title)
    svg.text(width / 2 - legend_w / 2, 16, title, 12, "middle", ' font-weight="bold"')

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

    svg.rect(left, top, right - left, bottom - top, "#ffffff", ' stroke="#888" stroke-width="0.8"')
    for t in _ticks(x_lo, x_hi, False) if not xlog else [math.log10(v) for v in _ticks(x_lo, x_hi, True)]:
        svg.line(px(t), top, px(t), bottom, "#e4e4e4", 0.6)
        svg.text(px(t), bottom + 14, _tick_label(10 ** t if xlog else t, xlog), 10, "middle")
    for t in _ticks(y_lo, y_hi, False) if not ylog else [math.log10(v) for v in _ticks(y_lo, y_hi, True)]:
        svg.line(left, py(t), right, py(t), "#e4e4e4", 0.6)
        svg.text(left - 5, py(t) + 3.5, _tick_label(10 ** t if ylog else t, ylog), 10, "end")
    svg.text((left + right) / 2, height - 8, xlabel, 11, "middle")
    svg.text(14, (top + bottom) / 2, ylabel, 11, "middle", f' transform="rotate(-90 14 {num((top + bottom) / 2)})"')
    for k, (s, ps) in enumerate(zip(series, pts, strict=True)):
        dash = ' stroke-dasharray="5,3"' if s.dashed else ""
        if len(ps) > 1:
            svg.polyline([(px(x), py(y)) for x, y in ps], s.colour, 1.6, dash)
        elif ps:
            svg.circle(px(ps[0][0]), py(ps[0][1]), 2.5, s.colour)
        ly = top + 6 + 15 * k
        svg.line(right + 10, ly, right + 28, ly, s.colour, 2, dash)
        svg.text(right + 32, ly + 4, s.label, 10)
    return svg.render()


def graph_picture(positions: Sequence[tuple[float, float]], edges: Sequence[tuple[int, int, str]],
                  colours: Sequence[str], labels: Sequence[str], *, title: str, edge_colours: dict[str, str],
                  size: float = 520) -> str:
    """A node-link picture: ``positions`` in any units (rescaled to fit), edges ``(u, v, kind)`` coloured by
    ``edge_colours[kind]`` (a legend lists the kinds), node ``u`` filled with ``colours[u]`` and labelled."""
    pad, legend = 24, 22
    svg = Svg(size, size + legend, title)
    if positions:
        xs = [p[0] for p in positions]
        ys = [p[1] for p in positions]
        x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
        sx = (size - 2 * pad) / (x_hi - x_lo) if x_hi > x_lo else 0.0
        sy = (size - 2 * pad) / (y_hi - y_lo) if y_hi > y_lo else 0.0
        at = [(pad + (x - x_lo) * sx if sx else size / 2, legend + pad + (y - y_lo) * sy if sy else legend + size / 2)
              for x, y in positions]
        for u, v, kind in edges:
            svg.line(*at[u], *at[v], edge_colours.get(kind, "#999"), 1.2, ' stroke-opacity="0.7"')
        radius = 9 if len(positions) <= 40 else 5
        for u, (x, y) in enumerate(at):
            svg.circle(x, y, radius, colours[u], ' stroke="#222" stroke-width="0.6"')
            if len(positions) <= 40:
                svg.text(x, y + 3.5, labels[u], 9, "middle", ' fill="#fff"')
    x = 6.0
    for kind, colour in edge_colours.items():
        svg.line(x, 11, x + 18, 11, colour, 2.5)
        svg.text(x + 22, 15, kind, 10)
        x += 32 + 7 * len(kind)
    return svg.render()
