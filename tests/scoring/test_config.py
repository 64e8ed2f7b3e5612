"""Scoring settings are validated with messages that name what is wrong."""

import pytest

from healthdash.scoring import ConfigError, ScoringConfig


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"weights": {"login_frequency": 0}}, "weight of login_frequency must be a positive number"),
        ({"weights": {"login_frequency": -3}}, "weight of login_frequency must be a positive number"),
        ({"weights": {"logins": 3}}, "unknown factor in weights: logins"),
        ({"healthy_min": 30}, "tier thresholds must be ordered"),
        ({"at_risk_min": 0}, "tier thresholds must be ordered"),
        ({"api_floor_change": -0.6}, "API thresholds must be ordered"),
        ({"feature_target_share": 1.5}, "feature_target_share must be in (0, 1]"),
        ({"login_target_days": 45}, "login_target_days must be in (0, window_days=30]"),
        ({"min_coverage": 2}, "min_coverage must be 0..1"),
        ({"window_days": 0}, "window_days must be 1..365"),
        ({"invoice_window_days": 0}, "invoice_window_days must be 1..730"),
        ({"invoice_grace_days": -1}, "invoice_grace_days must be 0..365"),
        ({"min_history_days": 999}, "min_history_days must be 0..365"),
        ({"ticket_points_per_unit": 0}, "ticket_points_per_unit must be a positive number"),
        ({"api_floor_score": 120}, "api_floor_score must be 0..100"),
        ({"ticket_priority_weights": {"low": 1}}, "ticket priority weights must name exactly"),
        ({"ticket_priority_weights": {"low": -1, "medium": 2, "high": 3, "urgent": 5}}, "ticket weight of low"),
        ({"colour": "red"}, "unknown scoring setting: colour"),
        ({"healthy_min": "high"}, "tier thresholds must be ordered"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        ScoringConfig.from_mapping(values)
    assert message in str(excinfo.value)


def test_missing_weight_is_refused() -> None:
    with pytest.raises(ConfigError, match="missing weight for: api_usage"):
        ScoringConfig(
            weights={"login_frequency": 1, "feature_adoption": 1, "ticket_volume": 1, "invoice_timeliness": 1}
        )


def test_partial_weights_keep_the_other_defaults() -> None:
    config = ScoringConfig.from_mapping({"weights": {"api_usage": 40}})
    assert config.weights["api_usage"] == 40
    assert config.weights["login_frequency"] == 25


def test_config_cannot_be_changed_after_validation() -> None:
    config = ScoringConfig()
    with pytest.raises(TypeError):
        config.weights["api_usage"] = 0  # type: ignore[index]
