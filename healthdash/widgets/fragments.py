"""Small HTML fragments the widgets share: escaped text, tier badges, scores, trends and dates.

Every value that may come from a customer or the database goes through `text()` (html.escape) before it is
placed in markup; class names come from fixed tables, never from data.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from typing import Any

from healthdash.scoring.terms import FACTOR_LABELS

TIER_LABELS = {
    "healthy": "Healthy",
    "at_risk": "At risk",
    "critical": "Critical",
    "insufficient_data": "Insufficient data",
}
SEGMENT_LABELS = {"enterprise": "Enterprise", "mid_market": "Mid-market", "smb": "SMB"}
PLAN_LABELS = {"starter": "Starter", "growth": "Growth", "business": "Business", "enterprise": "Enterprise"}
STEADY = 1.0  # a trend smaller than this many points is shown as steady


def text(value: Any) -> str:
    """Escape any value for use as HTML text or inside a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def tier_class(tier: str) -> str:
    """Return the CSS class of a tier (a known tier, or insufficient_data for anything else)."""
    return f"hd-tier-{tier if tier in TIER_LABELS else 'insufficient_data'}"


def tier_label(tier: str) -> str:
    """Return the tier's name for people."""
    return TIER_LABELS.get(tier, tier.replace("_", " ").capitalize())


def tier_badge(tier: str) -> str:
    """Return the tier as a coloured badge."""
    return f'<span class="hd-badge {tier_class(tier)}">{text(tier_label(tier))}</span>'


def score_number(score: float | None) -> str:
    """Format a score with one decimal, or an en dash when there is none."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "\u2013"
    return f"{score:.1f}"


def score_html(score: float | None, tier: str) -> str:
    """Return the score in its tier's colour."""
    return f'<span class="hd-score {tier_class(tier)}">{score_number(score)}</span>'


def trend_html(delta: float | None) -> str:
    """Return a trend as an arrow and the signed change in points (steady below one point)."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return '<span class="hd-trend hd-flat" title="no score 30 days ago">\u2013</span>'
    if delta >= STEADY:
        arrow, css, word = "\u25b2", "hd-up", "up"
    elif delta <= -STEADY:
        arrow, css, word = "\u25bc", "hd-down", "down"
    else:
        arrow, css, word = "\u25ac", "hd-flat", "steady"
    return f'<span class="hd-trend {css}" title="{word} {abs(delta):.1f} points in 30 days">{arrow} {delta:+.1f}</span>'


def factor_label(key: str | None) -> str:
    """Return a factor's label (its key made readable when unknown), or an en dash for none."""
    if key is None:
        return "\u2013"
    return FACTOR_LABELS.get(key, key.replace("_", " ").capitalize())


def segment_label(segment: str) -> str:
    return SEGMENT_LABELS.get(segment, segment)


def plan_label(plan: str) -> str:
    return PLAN_LABELS.get(plan, plan)


def moment(value: dt.datetime) -> str:
    """Format a timestamp in UTC to the minute."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: dt.date | dt.datetime | None) -> str:
    """Format a date (or a timestamp's UTC date), or an en dash."""
    if value is None:
        return "\u2013"
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return value.isoformat()


def notice(message: str, kind: str = "warning", link: tuple[str, str] | None = None) -> str:
    """Return a plain-text message as a notice box (kind: warning, error or ok), with an optional link."""
    css = {"error": "hd-notice hd-error", "ok": "hd-notice hd-ok"}.get(kind, "hd-notice")
    after = f' <a href="{text(link[0])}">{text(link[1])}</a>' if link else ""
    return f'<div class="{css}" role="status">{text(message)}{after}</div>'
