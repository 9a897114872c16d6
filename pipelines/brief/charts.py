"""The brief's charts as inline SVG, drawn here from plain numbers: no plotting library, no
fonts or images to fetch, crisp when printed. Line charts over months (with a peer band,
threshold lines and each warning episode as a coloured strip named in a legend), an episode
timeline with one lane per flag, and horizontal bars."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# colour-blind-friendly (Okabe-Ito and Tableau's), one per flag in order of appearance
PALETTE = (
    "#d55e00",
    "#0072b2",
    "#cc79a7",
    "#009e73",
    "#e69f00",
    "#56b4e9",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
LINE = "#1f3b57"
BAND = "#c9d6e3"
FONT = "font-family:inherit;font-size:11px"


@dataclass
class Span:
    """A warning episode on the time axis: from `start` to `end` (None: still open)."""

    start: dt.date
    end: dt.date | None
    label: str
    color: str


def colors_for(labels: Sequence[str]) -> dict[str, str]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(dict.fromkeys(labels))}


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month


def _nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi == lo:
        hi, lo = hi + (abs(hi) or 1) * 0.5, lo - (abs(lo) or 1) * 0.5
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _month_label(day: dt.date) -> str:
    return day.strftime("%b %Y")


def line_chart(
    points: Sequence[tuple[dt.date, float | None]],
    *,
    fmt: Callable[[float], str],
    title: str,
    spans: Sequence[Span] = (),
    band: Sequence[tuple[dt.date, float | None, float | None]] = (),
    band_label: str = "",
    thresholds: Sequence[tuple[float, str]] = (),
    width: int = 700,
    height: int = 190,
    fine: Callable[[float], str] | None = None,
) -> str:
    """A line over months. Episodes are strips above the plot, one lane per label, in the
    label's colour; the band is shaded behind the line; thresholds are dashed lines."""
    known = [(d, v) for d, v in points if v is not None and math.isfinite(v)]
    lanes = list(dict.fromkeys(s.label for s in spans))
    strip = 7
    top = 26 + strip * len(lanes)
    left, right, bottom = 78, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="14" style="{FONT};font-weight:600;font-size:12px">'
        f"{escape(title)}</text>",
    ]
    if not known:
        parts.append(
            f'<text x="{left}" y="{top + plot_h / 2}" style="{FONT};fill:#777">'
            "no values yet</text></svg>"
        )
        return "".join(parts)
    days = [d for d, _ in points]
    first, last = _month_index(min(days)), _month_index(max(days))
    span_months = max(1, last - first)
    values = [v for _, v in known]
    values += [v for _, lo, hi in band for v in (lo, hi) if v is not None]
    values += [t for t, _ in thresholds]
    lo, hi = min(values), max(values)
    ticks = _nice_ticks(lo, hi)
    lo, hi = min(ticks + [lo]), max(ticks + [hi])
    if hi == lo:
        hi = lo + 1

    def x(day: dt.date) -> float:
        return left + (_month_index(day) - first) / span_months * plot_w

    def y(value: float) -> float:
        return top + (hi - value) / (hi - lo) * plot_h

    tick_fmt = fmt
    if fine is not None and len({fmt(t) for t in ticks}) < len(ticks):
        tick_fmt = fine  # the coarse labels repeat (10 %, 10 %, ...): one more digit
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#e3e3e3" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" style="{FONT}">'
            f"{escape(tick_fmt(tick))}</text>"
        )
    step = max(1, round(span_months / 6 / 3) * 3) if span_months > 8 else 1
    index = first
    while index <= last:
        day = dt.date(index // 12 if index % 12 else index // 12 - 1, index % 12 or 12, 1)
        anchor = "end" if x(day) > width - 40 else "start" if x(day) < left + 20 else "middle"
        parts.append(
            f'<text x="{x(day):.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}" '
            f'style="{FONT}">{_month_label(day)}</text>'
            f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top + plot_h}" '
            f'y2="{top + plot_h + 4}" stroke="#999"/>'
        )
        index += step
    for lane, label in enumerate(lanes):
        for s in (s for s in spans if s.label == label):
            x0 = x(max(s.start, min(days)))
            x1 = x(s.end or max(days)) if (s.end or max(days)) >= min(days) else x0
            parts.append(
                f'<rect x="{x0:.1f}" y="{22 + lane * strip}" width="{max(x1 - x0, 3):.1f}" '
                f'height="{strip - 2}" fill="{s.color}"><title>{escape(label)}: '
                f"{_month_label(s.start)} – {_month_label(s.end) if s.end else 'open'}"
                "</title></rect>"
                f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{plot_h}" '
                f'fill="{s.color}" fill-opacity="0.07"/>'
            )
    band_points = [(d, a, b) for d, a, b in band if a is not None and b is not None]
    if band_points:
        upper = " ".join(f"{x(d):.1f},{y(b):.1f}" for d, _, b in band_points)
        lower = " ".join(f"{x(d):.1f},{y(a):.1f}" for d, a, _ in reversed(band_points))
        parts.append(
            f'<polygon points="{upper} {lower}" fill="{BAND}" fill-opacity="0.7">'
            f"<title>{escape(band_label)}</title></polygon>"
        )
    for value, label in thresholds:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#b00020" stroke-dasharray="4 3" stroke-width="1.2"/>'
            f'<text x="{left + 4}" y="{y(value) - 3:.1f}" text-anchor="start" '
            f'style="{FONT};fill:#b00020">{escape(label)}</text>'
        )
    if lo < 0 < hi:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
            'stroke="#555" stroke-width="1"/>'
        )
    path, pen = [], "M"
    previous = None
    for day, value in points:
        if value is None or not math.isfinite(value):
            pen = "M"
            continue
        if previous is not None and _month_index(day) - _month_index(previous) > 1:
            pen = "M"
        path.append(f"{pen}{x(day):.1f},{y(value):.1f}")
        pen, previous = "L", day
    parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    day, value = known[-1]
    parts.append(
        f'<circle cx="{x(day):.1f}" cy="{y(value):.1f}" r="3" fill="{LINE}"/>'
        f'<text x="{min(x(day) + 5, width - 4):.1f}" y="{y(value) - 6:.1f}" '
        f'text-anchor="{"end" if x(day) > width - 60 else "start"}" '
        f'style="{FONT};font-weight:600">{escape(fmt(value))}</text>'
    )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#bbb"/></svg>'
    )
    return "".join(parts)


def timeline(
    spans: Sequence[Span], first: dt.date, last: dt.date, width: int = 700, lane_h: int = 18
) -> str:
    """One lane per flag, named at its left, each episode a bar from its opening month to the
    month it closed (an open one runs to the end, drawn with an arrow)."""
    lanes = list(dict.fromkeys(s.label for s in spans))
    left, right = 190, 12
    height = 22 + lane_h * max(1, len(lanes)) + 18
    plot_w = width - left - right
    a, b = _month_index(first), _month_index(last)
    months = max(1, b - a)

    def x(day: dt.date) -> float:
        return left + (min(max(_month_index(day), a), b) - a) / months * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="warning episodes">',
        f'<text x="4" y="14" style="{FONT};font-weight:600;font-size:12px">Warning episodes</text>',
    ]
    if not lanes:
        parts.append(f'<text x="{left}" y="34" style="{FONT};fill:#777">none</text></svg>')
        return "".join(parts)
    for lane, label in enumerate(lanes):
        top = 22 + lane * lane_h
        parts.append(
            f'<text x="{left - 8}" y="{top + lane_h - 6}" text-anchor="end" style="{FONT}">'
            f"{escape(label)}</text>"
            f'<line x1="{left}" x2="{left + plot_w}" y1="{top + lane_h / 2}" '
            f'y2="{top + lane_h / 2}" stroke="#eee"/>'
        )
        for s in (s for s in spans if s.label == label):
            x0, x1 = x(s.start), x(s.end or last)
            parts.append(
                f'<rect x="{x0:.1f}" y="{top + 3}" width="{max(x1 - x0, 4):.1f}" '
                f'height="{lane_h - 6}" rx="2" fill="{s.color}"><title>{escape(label)}: '
                f"{_month_label(s.start)} – {_month_label(s.end) if s.end else 'open'}"
                "</title></rect>"
            )
            if s.end is None:
                parts.append(
                    f'<path d="M{x1:.1f},{top + 3} l6,{(lane_h - 6) / 2} l-6,{(lane_h - 6) / 2}z" '
                    f'fill="{s.color}"/>'
                )
    base = 22 + lane_h * len(lanes)
    for day, anchor in ((first, "start"), (last, "end")):
        parts.append(
            f'<text x="{x(day):.1f}" y="{base + 14}" text-anchor="{anchor}" style="{FONT}">'
            f"{_month_label(day)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(
    rows: Sequence[tuple[str, float, str]],
    *,
    title: str,
    fmt: Callable[[float], str],
    width: int = 700,
    bar_h: int = 18,
    colors: Sequence[str] | None = None,
    label_width: int = 280,
) -> str:
    """Horizontal bars: (label, value, note shown after the value)."""
    height = 24 + bar_h * max(1, len(rows)) + 6
    peak = max([v for _, v, _ in rows] + [1e-12])
    plot_w = width - label_width - 150
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="4" y="14" style="{FONT};font-weight:600;font-size:12px">{escape(title)}</text>',
    ]
    for i, (label, value, note) in enumerate(rows):
        top = 22 + i * bar_h
        color = (colors[i] if colors else None) or LINE
        w = max(value / peak * plot_w, 1 if value else 0)
        parts.append(
            f'<text x="{label_width - 8}" y="{top + bar_h - 5}" text-anchor="end" '
            f'style="{FONT}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{top + 2}" width="{w:.1f}" height="{bar_h - 5}" '
            f'fill="{color}"/>'
            f'<text x="{label_width + w + 6:.1f}" y="{top + bar_h - 5}" style="{FONT}">'
            f"{escape(fmt(value))}{(' ' + escape(note)) if note else ''}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
