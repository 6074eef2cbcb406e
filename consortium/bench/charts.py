"""Small, dependency-free SVG charts for reports: a bar chart and a line chart, on a linear or logarithmic axis.

Good enough for a benchmark report read in a browser or on a forge; not a plotting library. Text is escaped; every
value must be finite and, on a logarithmic axis, positive (a clear error otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from node_adapter.exceptions import NodeAdapterError

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 40, 64
COLOURS = ("#12355b", "#d1495b", "#00798c", "#edae49", "#66a182", "#8d6a9f")


class ChartError(NodeAdapterError, ValueError):
    """A chart cannot be drawn from the values given."""


class _Axis:
    """Maps values onto a pixel range, linearly or by their logarithm, and proposes tick values."""

    def __init__(self, values: Sequence[float], low_px: float, high_px: float, *, log: bool, zero: bool) -> None:
        if not values or any(not math.isfinite(v) for v in values):
            raise ChartError(f"a chart needs finite values, got {list(values)}")
        if log and min(values) <= 0:
            raise ChartError(f"a logarithmic axis needs positive values, got {min(values)}")
        self.log, self.low_px, self.high_px = log, low_px, high_px
        lo, hi = min(values), max(values)
        if log:
            self.lo, self.hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
            if self.lo == self.hi:
                self.hi *= 10
        else:
            lo = min(lo, 0.0) if zero else lo
            step = _nice_step((hi - lo) or abs(hi) or 1.0)
            self.lo, self.hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
            if self.lo == self.hi:
                self.hi += step

    def __call__(self, value: float) -> float:
        if self.log:
            share = (math.log10(value) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            share = (value - self.lo) / (self.hi - self.lo)
        return float(self.low_px + share * (self.high_px - self.low_px))

    def ticks(self) -> list[float]:
        if self.log:
            return [10.0**e for e in range(round(math.log10(self.lo)), round(math.log10(self.hi)) + 1)]
        step = _nice_step(self.hi - self.lo)
        count = round((self.hi - self.lo) / step)
        return [self.lo + i * step for i in range(count + 1)]


def _nice_step(span: float) -> float:
    """A tick step of 1, 2 or 5 times a power of ten giving about five ticks over ``span``."""
    raw = span / 5
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def format_value(value: float) -> str:
    """A short label: 1.2M, 45k, 3.5, 0.012."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _frame(title: str, y_label: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" font-family="sans-serif" font-size="12" role="img" aria-label={quoteattr(title)}>',
            f"<title>{escape(title)}</title>",
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
            f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
            f"{escape(title)}</text>",
            f'<text x="14" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" '
            f'transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2})">{escape(y_label)}</text>',
            *body,
            "</svg>",
            "",
        ]
    )


def _text(x: float, y: float, text: str, *, size: int = 12) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="{size}">{escape(text)}</text>'


def _y_grid(axis: _Axis) -> list[str]:
    lines = []
    for tick in axis.ticks():
        y = axis(tick)
        lines.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#dddddd"/>')
        lines.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(format_value(tick))}</text>')
    lines.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#333333"/>')
    lines.append(
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#333333"/>'
    )
    return lines


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, y_label: str, log: bool = False) -> str:
    """Vertical bars, one per ``(label, value)``, each with its value written above it."""
    if not bars:
        raise ChartError("a bar chart needs at least one bar")
    axis = _Axis([v for _, v in bars], HEIGHT - BOTTOM, TOP, log=log, zero=True)
    slot = (WIDTH - LEFT - RIGHT) / len(bars)
    body = _y_grid(axis)
    base = axis(axis.lo)
    for index, (label, value) in enumerate(bars):
        x, top = LEFT + index * slot + slot * 0.15, axis(value)
        colour = COLOURS[index % len(COLOURS)]
        body.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}" height="{max(base - top, 0.5):.1f}" '
            f'fill="{colour}"><title>{escape(f"{label}: {value:,.6g}")}</title></rect>'
        )
        centre = LEFT + (index + 0.5) * slot
        body.append(_text(centre, top - 4, format_value(value)))
        body.append(_text(centre, HEIGHT - BOTTOM + 16, label, size=11))
    return _frame(title, y_label, body)


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
) -> str:
    """One line with markers per ``(name, [(x, y), ...])``, and a legend below the plot."""
    points = [p for _, line in series for p in line]
    if not points:
        raise ChartError("a line chart needs at least one point")
    x_axis = _Axis([x for x, _ in points], LEFT, WIDTH - RIGHT, log=log_x, zero=False)
    y_axis = _Axis([y for _, y in points], HEIGHT - BOTTOM, TOP, log=log_y, zero=not log_y)
    body = _y_grid(y_axis)
    for tick in x_axis.ticks():
        x = x_axis(tick)
        body.append(_text(x, HEIGHT - BOTTOM + 16, format_value(tick)))
    body.append(_text((LEFT + WIDTH - RIGHT) / 2, HEIGHT - BOTTOM + 32, x_label))
    for index, (name, line) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        coords = " ".join(f"{x_axis(x):.1f},{y_axis(y):.1f}" for x, y in sorted(line))
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        for x, y in line:
            body.append(
                f'<circle cx="{x_axis(x):.1f}" cy="{y_axis(y):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(f'{name}: {y:,.6g} at {x:,.6g}')}</title></circle>"
            )
        legend_x = LEFT + index * (WIDTH - LEFT - RIGHT) / max(len(series), 1)
        body.append(f'<rect x="{legend_x:.1f}" y="{HEIGHT - 18}" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{legend_x + 14:.1f}" y="{HEIGHT - 9}" font-size="11">{escape(name)}</text>')
    return _frame(title, y_label, body)
