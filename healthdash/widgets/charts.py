"""Charts as plain HTML and inline SVG: they render offline, scale with the page and stay crisp.

Bar and column charts are CSS boxes (their labels are real text, readable at any width); the dense activity
timeline is an SVG without text. Every function takes numbers and labels and returns markup; labels are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from healthdash.widgets.fragments import text


@dataclass(frozen=True)
class Segment:
    """A part of a horizontal bar: its share of the track (0..1), a CSS class for its colour and a tooltip."""

    share: float
    css: str
    title: str = ""


@dataclass(frozen=True)
class BarRow:
    """One labelled horizontal bar."""

    label: str
    segments: Sequence[Segment]
    value: str


@dataclass(frozen=True)
class Column:
    """One column of a column chart."""

    label: str
    count: int
    css: str
    title: str = ""


def _percent(share: float) -> str:
    return f"{max(0.0, min(1.0, share)) * 100:.2f}%"


def bar_rows(rows: Sequence[BarRow], caption: str, open_track: bool = False) -> str:
    """Horizontal bars, one per row: label, bar, value; an open track shows no background beyond the bar."""
    cells = []
    for row in rows:
        parts = "".join(
            f'<div class="hd-bar {text(s.css)}" style="width:{_percent(s.share)}" title="{text(s.title)}"></div>'
            for s in row.segments
        )
        cells.append(
            f"<span>{text(row.label)}</span>"
            f'<div class="hd-bar-track">{parts}</div>'
            f'<span class="hd-score">{text(row.value)}</span>'
        )
    css = "hd-bars hd-bars-open" if open_track else "hd-bars"
    return f'<div class="{css}" role="img" aria-label="{text(caption)}">{"".join(cells)}</div>'


def column_chart(columns: Sequence[Column], caption: str) -> str:
    """Vertical columns scaled to the largest count, the count above each and its label below."""
    top = max((c.count for c in columns), default=0) or 1
    bars = "".join(
        f'<div class="hd-column" title="{text(c.title or f"{c.label}: {c.count}")}">'
        f'<span class="hd-column-count">{c.count}</span>'
        f'<div class="hd-column-bar {text(c.css)}" style="height:{_percent(c.count / top * 0.85)}"></div>'
        f"</div>"
        for c in columns
    )
    axis = "".join(f"<span>{text(c.label)}</span>" for c in columns)
    return (
        f'<div role="img" aria-label="{text(caption)}"><div class="hd-columns">{bars}</div>'
        f'<div class="hd-axis">{axis}</div></div>'
    )


def share_bar(parts: Sequence[tuple[str, int, str]], caption: str) -> str:
    """One bar split by share, with a legend of each part's label and count; parts are (label, count, css)."""
    total = sum(count for _, count, _ in parts)
    segments = "".join(
        f'<div class="{text(css)}" style="width:{_percent(count / total)}" title="{text(label)}: {count}"></div>'
        for label, count, css in parts
        if total and count
    )
    legend = "".join(
        f'<span><span class="hd-swatch {text(css)}"></span>{text(label)} <strong>{count}</strong>'
        f"{f' ({count / total:.0%})' if total else ''}</span>"
        for label, count, css in parts
    )
    return (
        f'<div role="img" aria-label="{text(caption)}"><div class="hd-stack">{segments}</div>'
        f'<div class="hd-legend">{legend}</div></div>'
    )


def timeline_svg(points: Sequence[tuple[str, float]], colour: str, caption: str) -> str:
    """An SVG of one column per (label, value), oldest first, scaled to the largest value.

    It holds no text (each column's label and value are its tooltip), so it may stretch to any width.
    """
    top = max((v for _, v in points), default=0) or 1
    width = max(len(points), 1) * 10
    height = 100
    rects = "".join(
        f'<rect x="{i * 10 + 1}" y="{height - v / top * height:.2f}" width="8" height="{v / top * height:.2f}">'
        f"<title>{text(f'{label}: {v:g}')}</title></rect>"
        for i, (label, v) in enumerate(points)
        if v > 0
    )
    return (
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" aria-label="{text(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg"><line x1="0" y1="{height}" x2="{width}" y2="{height}" '
        f'stroke="#d1d9e0" stroke-width="2"/><g fill="{text(colour)}">{rects}</g></svg>'
    )


@dataclass(frozen=True)
class ScorePoint:
    """One day of a score history: its label, its score (None: no score that day) and its tier."""

    label: str
    score: float | None
    tier: str


def history_svg(
    points: Sequence[ScorePoint],
    bands: Sequence[tuple[float, float, str]],
    markers: Sequence[tuple[int, str]],
    caption: str,
) -> str:
    """An SVG of a score (0-100) over days, oldest first: one hoverable point per day joined by a line, shaded
    bands (from, to, colour) behind, and a vertical marker (position, tooltip) before each marked day."""
    step = 4
    width = max(len(points), 1) * step
    shade = "".join(
        f'<rect class="hd-band" x="0" y="{100 - high:.2f}" width="{width}" height="{high - low:.2f}" '
        f'fill="{text(colour)}"/>'
        for low, high, colour in bands
    )
    scored = [(i, p) for i, p in enumerate(points) if p.score is not None]
    line = " ".join(f"{i * step + step / 2:.1f},{100 - float(p.score or 0):.2f}" for i, p in scored)
    dots = "".join(
        f'<circle class="hd-point" cx="{i * step + step / 2:.1f}" cy="{100 - float(p.score or 0):.2f}" r="1.6" '
        f'data-tier="{text(p.tier)}"><title>{text(_point_title(p))}</title></circle>'
        for i, p in enumerate(points)
        if p.score is not None
    )
    marks = "".join(
        f'<line class="hd-config-change" x1="{i * step:.1f}" y1="0" x2="{i * step:.1f}" y2="100" stroke="#57606a" '
        f'stroke-width="0.8" stroke-dasharray="2,2"><title>{text(title)}</title></line>'
        for i, title in markers
    )
    return (
        f'<svg viewBox="0 0 {width} 100" preserveAspectRatio="none" role="img" aria-label="{text(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg" class="hd-history-chart">{shade}'
        f'<polyline points="{line}" fill="none" stroke="#24292f" stroke-width="0.8"/>{marks}'
        f'<g fill="#24292f">{dots}</g></svg>'
    )


def _point_title(point: ScorePoint) -> str:
    score = "no score" if point.score is None else f"{point.score:.1f}"
    return f"{point.label}: {score}, {point.tier.replace('_', ' ')}"


def stacked_columns_svg(columns: Sequence[tuple[str, Sequence[tuple[int, str, str]]]], caption: str) -> str:
    """An SVG of one stacked column per (label, parts), oldest first; parts are (count, colour, name), bottom first,
    scaled to the largest column. Each part's tooltip names its day, name and count."""
    top = max((sum(c for c, _, _ in parts) for _, parts in columns), default=0) or 1
    width = max(len(columns), 1) * 10
    rects = []
    for i, (label, parts) in enumerate(columns):
        y = 100.0
        for count, colour, name in parts:
            height = count / top * 100
            y -= height
            if count:
                rects.append(
                    f'<rect x="{i * 10 + 1}" y="{y:.2f}" width="8" height="{height:.2f}" fill="{text(colour)}">'
                    f"<title>{text(f'{label}: {name} {count}')}</title></rect>"
                )
    return (
        f'<svg viewBox="0 0 {width} 100" preserveAspectRatio="none" role="img" aria-label="{text(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg" class="hd-stacked-chart">{"".join(rects)}</svg>'
    )


def rate_columns_svg(columns: Sequence[tuple[str, float | None, str]], caption: str) -> str:
    """An SVG of one column per (label, rate 0..1 or None, tooltip), scaled to the largest rate, each column's rate
    above it and its label below; a None rate (nothing to count) shows an en dash and no column."""
    top = max((r for _, r, _ in columns if r), default=0.0) or 1.0
    step, chart = 20, 80  # each column's width, the columns' height
    parts = []
    for i, (label, rate, title) in enumerate(columns):
        x = i * step
        if rate is not None:
            height = rate / top * chart
            parts.append(
                f'<rect class="hd-rate" x="{x + 2}" y="{12 + chart - height:.2f}" width="{step - 4}" '
                f'height="{height:.2f}" fill="#cf222e"><title>{text(title)}</title></rect>'
            )
        shown = "\u2013" if rate is None else f"{rate:.0%}"
        parts.append(f'<text x="{x + step / 2}" y="{10 + chart - (rate or 0) / top * chart:.2f}">{text(shown)}</text>')
        parts.append(
            f'<text x="{x + step / 2}" y="{chart + 21}" class="hd-axis-label" font-size="5">{text(label)}</text>'
        )
    width = max(len(columns), 1) * step
    return (
        f'<svg viewBox="0 0 {width} {chart + 26}" role="img" aria-label="{text(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg" class="hd-rate-chart" font-size="6.5" text-anchor="middle" '
        f'fill="#59636e"><line x1="0" y1="{chart + 12}" x2="{width}" y2="{chart + 12}" stroke="#d1d9e0" '
        f'stroke-width="0.6"/>{"".join(parts)}</svg>'
    )


def curve_svg(
    points: Sequence[tuple[float, float]], marks: Sequence[tuple[float, float, str]], caption: str, most: int = 400
) -> str:
    """An SVG of a curve in the unit square (x to the right, y up; an ROC curve) with the diagonal of chance, and a
    hoverable dot per mark (x, y, tooltip). At most `most` points are drawn (evenly chosen, the ends kept)."""
    if len(points) > most:
        every = -(-len(points) // most)
        points = [*points[:-1:every], points[-1]]
    line = " ".join(f"{x * 100:.2f},{100 - y * 100:.2f}" for x, y in points)
    dots = "".join(
        f'<circle class="hd-mark" cx="{x * 100:.2f}" cy="{100 - y * 100:.2f}" r="2.2">'
        f"<title>{text(title)}</title></circle>"
        for x, y, title in marks
    )
    return (
        f'<svg viewBox="-2 -2 104 104" role="img" aria-label="{text(caption)}" xmlns="http://www.w3.org/2000/svg" '
        'class="hd-curve-chart"><rect x="0" y="0" width="100" height="100" fill="none" stroke="#d1d9e0" '
        'stroke-width="0.5"/><line x1="0" y1="100" x2="100" y2="0" stroke="#8c959f" stroke-width="0.5" '
        f'stroke-dasharray="2,2"/><polyline points="{line}" fill="none" stroke="#0969da" stroke-width="1.2"/>'
        f'<g fill="#cf222e">{dots}</g></svg>'
    )
