"""Why a score moved between two days: each factor's share of the movement, in points that add up to it.

Between `then` and `now` a factor's movement is its change of score weighted by its share of the total at `then`.
What no factor's own change explains is named on a line of its own: a change of the scoring configuration (the
`then` signals scored under both configurations) and a change of coverage (factors that started or stopped
applying, which moves every other factor's share). The lines are given to 0.1 point and add up exactly to the
movement of the score (to 0.1), so a reader can check the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from healthdash.scoring.config import ScoringConfig, differences
from healthdash.scoring.factor import Factor, Row
from healthdash.scoring.model import DEFAULT_FACTORS, score_columns

LineKind = Literal["factor", "configuration", "coverage"]


@dataclass(frozen=True)
class Line:
    """One reason for the movement: a factor, the configuration or the coverage."""

    kind: LineKind
    key: str | None
    label: str
    points: float | None
    sentence: str
    score_then: float | None = None
    score_now: float | None = None
    raw_then: dict[str, Any] | None = None
    raw_now: dict[str, Any] | None = None


@dataclass(frozen=True)
class ScoreChange:
    """A score then and now, its tiers, and the lines that explain the movement, largest first."""

    score_then: float | None
    score_now: float | None
    tier_then: str
    tier_now: str
    movement: float | None
    lines: list[Line]


def score_change(
    then: Row | None,
    now: Row | None,
    config_then: ScoringConfig,
    config_now: ScoringConfig,
    factors: Sequence[Factor] = DEFAULT_FACTORS,
    then_rescored: Row | None = None,
) -> ScoreChange:
    """Explain the change from a customer's signals `then` (None: it did not exist) to its signals `now`.

    `then_rescored` are the signals then as the configuration of `now` reads them, when its windows differ.
    """
    before = _scored(then, config_then, factors)
    if config_then == config_now:
        rescored = before
    else:
        rescored = _scored(then_rescored if then_rescored is not None else then, config_now, factors)
    after = _scored(now, config_now, factors)
    score_then, score_now = _value(before, "score"), _value(after, "score")
    movement = round(score_now - score_then, 1) if score_then is not None and score_now is not None else None

    shares = _shares(rescored, config_now, factors)
    moved: dict[str, float] = {}
    for f in factors:
        if rescored is not None and after is not None and _applies(rescored, f.key) and _applies(after, f.key):
            moved[f.key] = shares[f.key] * (float(after[f.key]) - float(rescored[f.key]))
        else:  # a factor that starts or stops applying moves the score through the coverage line
            moved[f.key] = 0.0
    reasons: list[tuple[LineKind, float]] = []
    if config_then != config_now and before is not None:
        reasons.append(("configuration", _total(rescored) - _total(before)))
    if before is not None and after is not None and _applying(rescored, factors) != _applying(after, factors):
        reasons.append(("coverage", _total(after) - _total(rescored) - sum(moved.values())))
    raw = [moved[f.key] for f in factors] + [points for _, points in reasons]
    points = _apportion(raw, movement) if movement is not None else [None] * len(raw)

    lines = [
        _factor_line(f, then, now, before, after, config_then, config_now, p)
        for f, p in zip(factors, points, strict=False)
    ]
    for (kind, _), p in zip(reasons, points[len(factors) :], strict=True):
        lines.append(_reason_line(kind, p, rescored, after, config_then, config_now, factors))
    lines.sort(key=lambda line: -abs(line.points) if line.points is not None else 0.0)
    return ScoreChange(
        score_then=score_then,
        score_now=score_now,
        tier_then=str(before["tier"]) if before is not None else "insufficient_data",
        tier_now=str(after["tier"]) if after is not None else "insufficient_data",
        movement=movement,
        lines=lines,
    )


def _scored(signals: Row | None, config: ScoringConfig, factors: Sequence[Factor]) -> dict[str, Any] | None:
    if signals is None:
        return None
    columns = {name: np.asarray([value]) for name, value in signals.items()}
    return {name: values[0] for name, values in score_columns(columns, 1, config, factors).items()}


def _applies(row: dict[str, Any] | None, key: str) -> bool:
    return row is not None and bool(np.isfinite(row[key]))


def _applying(row: dict[str, Any] | None, factors: Sequence[Factor]) -> frozenset[str]:
    return frozenset(f.key for f in factors if _applies(row, f.key))


def _shares(row: dict[str, Any] | None, config: ScoringConfig, factors: Sequence[Factor]) -> dict[str, float]:
    weights = {f.key: float(config.weights[f.key]) if _applies(row, f.key) else 0.0 for f in factors}
    total = sum(weights.values())
    return {key: weight / total if total else 0.0 for key, weight in weights.items()}


def _total(row: dict[str, Any] | None) -> float:
    return 0.0 if row is None else float(sum(v for k, v in row.items() if k.endswith("_points")))


def _value(row: dict[str, Any] | None, key: str) -> float | None:
    return round(float(row[key]), 1) if row is not None and np.isfinite(row[key]) else None


def _apportion(values: Sequence[float], total: float) -> list[float | None]:
    """Round values to tenths so that they add up to `total` (a number of tenths): largest remainders first."""
    tenths = [round(v * 10) for v in values]
    missing = round(total * 10) - sum(tenths)
    step = 1 if missing > 0 else -1
    order = sorted(range(len(values)), key=lambda i: (values[i] * 10 - tenths[i]) * step, reverse=True)
    for n in range(abs(missing)):
        tenths[order[n % len(order)]] += step
    return [t / 10 for t in tenths]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _factor_line(
    f: Factor,
    then: Row | None,
    now: Row | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    config_then: ScoringConfig,
    config_now: ScoringConfig,
    points: float | None,
) -> Line:
    measure = f.measure or f"{f.label} score"
    value_then = f.measured(then, config_then) if then is not None and f.measure else _value(before, f.key)
    value_now = f.measured(now, config_now) if now is not None and f.measure else _value(after, f.key)
    if value_then is None and value_now is None:
        sentence = f"{measure}: not measured"
    elif value_then is None:
        sentence = f"{measure}: {_number(value_now)} now, none before"  # type: ignore[arg-type]
    elif value_now is None:
        sentence = f"{measure}: {_number(value_then)} before, none now"
    elif value_now == value_then:
        sentence = f"{measure} stayed at {_number(value_now)}"
    else:
        verb = "rose" if value_now > value_then else "fell"
        sentence = f"{measure} {verb} from {_number(value_then)} to {_number(value_now)}"
    if before is not None and after is not None and _applies(before, f.key) != _applies(after, f.key):
        sentence += " (it applies now)" if _applies(after, f.key) else " (it no longer applies)"
    if points is not None:
        sentence += f": {points:+.1f} points"
    return Line(
        kind="factor",
        key=f.key,
        label=f.label,
        points=points,
        sentence=sentence,
        score_then=_value(before, f.key),
        score_now=_value(after, f.key),
        raw_then=f.raw(then, config_then) if then is not None else None,
        raw_now=f.raw(now, config_now) if now is not None else None,
    )


def _reason_line(
    kind: LineKind,
    points: float | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    config_then: ScoringConfig,
    config_now: ScoringConfig,
    factors: Sequence[Factor],
) -> Line:
    suffix = f": {points:+.1f} points" if points is not None else ""
    if kind == "configuration":
        changed = ", ".join(f"{name} {old:g} to {new:g}" for name, old, new in differences(config_then, config_now))
        return Line(
            kind, None, "Scoring configuration", points, f"The scoring configuration changed ({changed}){suffix}"
        )
    started = [f.label for f in factors if _applies(after, f.key) and not _applies(before, f.key)]
    stopped = [f.label for f in factors if _applies(before, f.key) and not _applies(after, f.key)]
    parts = ([f"{', '.join(started)} now applies"] if started else []) + (
        [f"{', '.join(stopped)} no longer applies"] if stopped else []
    )
    coverage_then = float(before["coverage"]) if before is not None else 0.0
    coverage_now = float(after["coverage"]) if after is not None else 0.0
    sentence = f"Coverage went from {coverage_then:.0%} to {coverage_now:.0%} ({'; '.join(parts)}){suffix}"
    return Line(kind, None, "Coverage", points, sentence)
