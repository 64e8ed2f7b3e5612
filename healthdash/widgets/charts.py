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
