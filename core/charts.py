"""Server-side SVG charts: one renderer for web pages, PDFs and reports.

Why SVG on the server: the same chart works in the browser under a strict CSP
(no script), in WeasyPrint (no JavaScript in PDFs) and in a screen reader
(``<title>``/``<desc>`` plus the table every caller shows next to it). Colours
are presentation attributes, not ``style=``, so the CSP needs no
``unsafe-inline``; the palette is Okabe–Ito, readable with colour-vision
deficiency. Every text is escaped: patient-entered labels cannot inject markup.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import count

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = float | int | Decimal
XValue = datetime | date | Number

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
BAND_FILL = "#e9ecef"
MARKER_STROKE = "#6c757d"
_ids = count(1)


@dataclass(frozen=True)
class Point:
    x: XValue
    y: Number | None
    label: str = ""  # shown on hover (SVG <title>); defaults to "x: y"


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point] = field(default_factory=tuple)


@dataclass(frozen=True)
class Band:
    """A horizontal band, e.g. an instrument's severity range or a normal range."""

    low: Number
    high: Number
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``x``, e.g. an infusion day; ``label`` is its hover text."""

    x: XValue
    label: str


def _escape(text: str) -> str:
    # Django's escape() without its lazy-string wrapper: called once per dot, which adds up.
    return html.escape(str(text), quote=True)


def _x_number(value: XValue) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return float(value.toordinal() * 86400)
    return float(value)


def _x_text(value: XValue) -> str:
    if isinstance(value, datetime):
        return f"{value:%d %b} {formats.time_format(value)}"
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return _num(value)


def _num(value: Number) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def _nice_ticks(low: float, high: float, target: int = 5) -> list[float]:
    """Round tick values ("nice numbers", Heckbert 1990) covering low..high."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(target - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = [round(first, 10)]
    while ticks[-1] < high - step * 1e-9:  # the last tick reaches the highest value
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg_open(*, width: int, height: int, title: str, desc: str) -> list[str]:
    uid = f"chart-{next(_ids)}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gm-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
    ]


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = "") -> str:
    colour = f' fill="{fill}"' if fill else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{colour}>{escape(text)}</text>'


def _y_label(label: str, *, top: float, plot_h: float) -> list[str]:
    if not label:
        return []
    middle = top + plot_h / 2
    return [f'<text transform="translate(11 {middle:.1f}) rotate(-90)" text-anchor="middle">{escape(label)}</text>']


def _legend(names: Sequence[str], *, x: float, y: float) -> list[str]:
    parts, offset = [], 0.0
    for index, name in enumerate(names):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x + offset:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + offset + 14, y, name))
        offset += 24 + 6.5 * len(name)
    return parts


def line_chart(
    *,
    series: Sequence[Series],
    title: str,
    y_label: str = "",
    y_min: Number | None = None,
    y_max: Number | None = None,
    bands: Sequence[Band] = (),
    markers: Sequence[Marker] = (),
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Lines with dots over time (or any numeric x); gaps where ``y`` is None."""
    points = [p for s in series for p in s.points if p.y is not None]
    # Series usually share their x values (one reading, four vitals): convert each x once.
    x_seen: dict[XValue, tuple[float, str]] = {}

    def x_of(value: XValue) -> tuple[float, str]:
        known = x_seen.get(value)
        if known is None:
            known = x_seen[value] = (_x_number(value), _x_text(value))
        return known

    xs = [x_of(p.x)[0] for p in points] + [_x_number(m.x) for m in markers]
    ys = [float(p.y) for p in points if p.y is not None] + [float(v) for b in bands for v in (b.low, b.high)]
    desc = f"{len(points)} values in {len(series)} series." if points else "No values recorded yet."
    svg = _svg_open(width=width, height=height, title=title, desc=desc)

    left, right, top, bottom = 44, 12, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    low = float(y_min) if y_min is not None else (min(ys) if ys else 0.0)
    high = float(y_max) if y_max is not None else (max(ys) if ys else 1.0)
    ticks = _nice_ticks(low, high)
    if y_min is None:
        low = ticks[0]
    if y_max is None:
        high = ticks[-1]
    high = high if high > low else low + 1
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x_span = (x_high - x_low) or 1.0

    def sx(value: float) -> float:
        return left + (value - x_low) / x_span * plot_w if xs and x_high > x_low else left + plot_w / 2

    def sy(value: float) -> float:
        clamped = min(max(value, low), high)
        return top + plot_h - (clamped - low) / (high - low) * plot_h

    for band in bands:
        y1, y2 = sy(float(band.high)), sy(float(band.low))
        svg.append(
            f'<rect class="chart-band" x="{left}" y="{y1:.1f}" width="{plot_w}" height="{max(y2 - y1, 0):.1f}" '
            f'fill="{BAND_FILL}" fill-opacity="0.6"><title>{escape(band.label)}</title></rect>'
        )
        svg.append(_text(left + plot_w - 4, y1 + 11, band.label, anchor="end", fill="#495057"))
    for tick in ticks:
        if low - 1e-9 <= tick <= high + 1e-9:
            y = sy(tick)
            svg.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dee2e6"/>')
            svg.append(_text(left - 6, y + 4, _num(tick), anchor="end"))
    svg.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#495057"/>')
    svg.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#495057"/>')
    svg.extend(_y_label(y_label, top=top, plot_h=plot_h))
    if xs:
        seen = sorted({x_of(p.x) for p in points}, key=lambda item: item[0])
        stride = max(1, math.ceil(len(seen) / 6))
        for value, text in seen[::stride]:
            svg.append(_text(sx(value), top + plot_h + 14, text, anchor="middle"))
    for marker in markers:
        x = sx(_x_number(marker.x))
        svg.append(
            f'<line class="chart-marker" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="{MARKER_STROKE}" stroke-dasharray="3 3"><title>{escape(marker.label)}</title></line>'
        )
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        segment: list[str] = []
        segments = [segment]
        for point in one.points:
            if point.y is None:
                segment = []
                segments.append(segment)
                continue
            segment.append(f"{sx(x_of(point.x)[0]):.1f},{sy(float(point.y)):.1f}")
        for run in segments:
            if len(run) > 1:
                svg.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
        for point in one.points:
            if point.y is None:
                continue
            x_number, x_text = x_of(point.x)
            hover = point.label or f"{one.name}, {x_text}: {_num(point.y)}"
            svg.append(
                f'<circle cx="{sx(x_number):.1f}" cy="{sy(float(point.y)):.1f}" r="3.5" fill="{colour}">'
                f"<title>{_escape(hover)}</title></circle>"
            )
    svg.extend(_legend([s.name for s in series], x=left, y=height - 6))
    svg.append("</svg>")
    return mark_safe("".join(svg))  # noqa: S308 - every interpolated text above is escaped


def bar_chart(
    *,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    title: str,
    y_label: str = "",
    stacked: bool = False,
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Grouped (or stacked) vertical bars, one group per category."""
    values = [[float(v or 0) for v in values] for _, values in series]
    totals = [sum(column) for column in zip(*values, strict=False)] if values else []
    peak = max((totals if stacked else [v for row in values for v in row]) or [0.0])
    svg = _svg_open(
        width=width, height=height, title=title, desc=f"{len(categories)} categories, {len(series)} series."
    )
    left, right, top, bottom = 44, 12, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = _nice_ticks(0.0, peak or 1.0)
    high = ticks[-1] or 1.0

    def sy(value: float) -> float:
        return top + plot_h - value / high * plot_h

    for tick in ticks:
        svg.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(tick):.1f}" y2="{sy(tick):.1f}" stroke="#dee2e6"/>')
        svg.append(_text(left - 6, sy(tick) + 4, _num(tick), anchor="end"))
    svg.extend(_y_label(y_label, top=top, plot_h=plot_h))
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / (1 if stacked else max(len(series), 1))
    stride = max(1, math.ceil(len(categories) / 12))
    for c, category in enumerate(categories):
        x0 = left + c * group_w + group_w * 0.1
        base = 0.0
        for s, (name, _) in enumerate(series):
            value = values[s][c] if c < len(values[s]) else 0.0
            colour = PALETTE[s % len(PALETTE)]
            x = x0 if stacked else x0 + s * bar_w
            y_top, y_bottom = sy(base + value), sy(base)
            svg.append(
                f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{y_bottom - y_top:.1f}" '
                f'fill="{colour}"><title>{escape(f"{name}, {category}: {_num(value)}")}</title></rect>'
            )
            if stacked:
                base += value
        if c % stride == 0:
            svg.append(_text(x0 + group_w * 0.4, top + plot_h + 14, category, anchor="middle"))
    svg.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#495057"/>')
    svg.extend(_legend([name for name, _ in series], x=left, y=height - 6))
    svg.append("</svg>")
    return mark_safe("".join(svg))  # noqa: S308 - every interpolated text above is escaped


def sparkline(values: Sequence[Number | None], *, title: str, width: int = 120, height: int = 28) -> SafeString:
    """A word-sized trend line; the caller shows the latest figure next to it."""
    numbers = [float(v) for v in values if v is not None]
    svg = _svg_open(width=width, height=height, title=title, desc=", ".join(_num(v) for v in numbers) or "No values.")
    if len(values) > 1 and numbers:
        low, high = min(numbers), max(numbers)
        span = (high - low) or 1.0
        step = (width - 4) / (len(values) - 1)
        coords = [
            f"{2 + i * step:.1f},{height - 3 - (float(v) - low) / span * (height - 6):.1f}"
            for i, v in enumerate(values)
            if v is not None
        ]
        svg.append(f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{" ".join(coords)}"/>')
    svg.append("</svg>")
    return mark_safe("".join(svg))  # noqa: S308 - every interpolated text above is escaped
