"""The scoring model's tunable numbers: weights, targets and tier thresholds."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from healthdash.scoring.terms import FACTOR_KEYS, PRIORITIES

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "login_frequency": 25.0,
        "feature_adoption": 25.0,
        "ticket_volume": 20.0,
        "invoice_timeliness": 15.0,
        "api_usage": 15.0,
    }
)


class ConfigError(ValueError):
    """A scoring setting is out of range or inconsistent."""


@dataclass(frozen=True)
class ScoringConfig:
    """Every number the health score depends on; validated on creation."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    window_days: int = 30
    invoice_window_days: int = 90
    invoice_grace_days: int = 15
    min_history_days: int = 14
    login_target_days: float = 16.0
    feature_target_share: float = 0.60
    ticket_priority_weights: Mapping[str, float] = field(
        default_factory=lambda: {"low": 1.0, "medium": 2.0, "high": 3.0, "urgent": 5.0}
    )
    ticket_points_per_unit: float = 10.0
    api_full_at: float = -0.05
    api_floor_change: float = -0.20
    api_floor_score: float = 60.0
    api_zero_at: float = -0.50
    healthy_min: float = 70.0
    at_risk_min: float = 40.0
    min_coverage: float = 0.60

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(FACTOR_KEYS)
        if unknown:
            raise ConfigError(f"unknown factor in weights: {', '.join(sorted(unknown))}")
        missing = set(FACTOR_KEYS) - set(self.weights)
        if missing:
            raise ConfigError(f"missing weight for: {', '.join(sorted(missing))}")
        for key, weight in self.weights.items():
            _require(_finite(weight) and weight > 0, f"weight of {key} must be a positive number, got {weight}")
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        if set(self.ticket_priority_weights) != set(PRIORITIES):
            raise ConfigError(f"ticket priority weights must name exactly: {', '.join(PRIORITIES)}")
        for prio, weight in self.ticket_priority_weights.items():
            _require(_finite(weight) and weight >= 0, f"ticket weight of {prio} must be >= 0, got {weight}")
        object.__setattr__(self, "ticket_priority_weights", MappingProxyType(dict(self.ticket_priority_weights)))
        _require(1 <= self.window_days <= 365, f"window_days must be 1..365, got {self.window_days}")
        _require(
            1 <= self.invoice_window_days <= 730,
            f"invoice_window_days must be 1..730, got {self.invoice_window_days}",
        )
        _require(0 <= self.invoice_grace_days <= 365, "invoice_grace_days must be 0..365")
        _require(0 <= self.min_history_days <= 365, "min_history_days must be 0..365")
        _require(
            _finite(self.login_target_days) and 0 < self.login_target_days <= self.window_days,
            f"login_target_days must be in (0, window_days={self.window_days}], got {self.login_target_days}",
        )
        _require(
            _finite(self.feature_target_share) and 0 < self.feature_target_share <= 1,
            f"feature_target_share must be in (0, 1], got {self.feature_target_share}",
        )
        _require(
            _finite(self.ticket_points_per_unit) and self.ticket_points_per_unit > 0,
            "ticket_points_per_unit must be a positive number",
        )
        _require(
            all(_finite(v) for v in (self.api_full_at, self.api_floor_change, self.api_zero_at))
            and 0 >= self.api_full_at > self.api_floor_change > self.api_zero_at >= -1,
            "API thresholds must be ordered 0 >= api_full_at > api_floor_change > api_zero_at >= -1, got "
            f"{self.api_full_at}, {self.api_floor_change}, {self.api_zero_at}",
        )
        _require(0 <= self.api_floor_score <= 100, "api_floor_score must be 0..100")
        _require(
            _finite(self.healthy_min) and _finite(self.at_risk_min) and 0 < self.at_risk_min < self.healthy_min <= 100,
            "tier thresholds must be ordered 0 < at_risk_min < healthy_min <= 100, got "
            f"at_risk_min={self.at_risk_min}, healthy_min={self.healthy_min}",
        )
        _require(0 <= self.min_coverage <= 1, f"min_coverage must be 0..1, got {self.min_coverage}")

    def as_mapping(self) -> dict[str, Any]:
        """Return every setting as plain values (mappings as dicts), as `from_mapping` reads them."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: dict(value) if isinstance(value, Mapping) else value for name, value in values.items()}

    def canonical(self) -> dict[str, Any]:
        """Return the settings with every number as the model reads it (weights and thresholds as floats)."""
        kinds = {f.name: f.type for f in fields(self)}
        values: dict[str, Any] = {}
        for name, value in self.as_mapping().items():
            if isinstance(value, dict):
                values[name] = {key: float(v) for key, v in sorted(value.items())}
            else:
                values[name] = float(value) if kinds[name] == "float" else int(value)
        return values

    def fingerprint(self) -> str:
        """Return a hash of the canonical form: equal for configurations that score alike however they were written."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ScoringConfig:
        """Build a config from plain values (a parsed file or environment), naming any unknown setting."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown scoring setting: {', '.join(sorted(unknown))}")
        merged: dict[str, Any] = dict(values)
        if "weights" in merged:
            merged["weights"] = {**DEFAULT_WEIGHTS, **merged["weights"]}
        try:
            return cls(**merged)
        except TypeError as exc:  # a wrong type inside a comparison
            raise ConfigError(f"invalid scoring setting: {exc}") from exc


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def differences(old: ScoringConfig, new: ScoringConfig) -> list[tuple[str, Any, Any]]:
    """Return the settings that differ between two configurations: (name, old value, new value), in name order.

    A weight is named `weights.<factor key>`, a ticket weight `ticket_priority_weights.<priority>`.
    """
    found = []
    before, after = old.canonical(), new.canonical()
    for name in sorted(before):
        if isinstance(before[name], dict):
            found += [
                (f"{name}.{key}", before[name][key], after[name][key])
                for key in sorted(before[name])
                if before[name][key] != after[name][key]
            ]
        elif before[name] != after[name]:
            found.append((name, before[name], after[name]))
    return found
