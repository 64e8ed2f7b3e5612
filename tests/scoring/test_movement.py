"""What moved a score: each factor's points, a configuration or coverage change on a line of its own, adding up."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from healthdash.scoring import ScoringConfig
from healthdash.scoring.movement import score_change

STEADY: dict[str, Any] = {
    "age_days": 400,
    "catalogue_size": 12,
    "login_days": 14,
    "features_used": 8,
    "tickets_low": 0,
    "tickets_medium": 1,
    "tickets_high": 0,
    "tickets_urgent": 0,
    "invoices_on_time": 2,
    "invoices_late_grace": 0,
    "invoices_late": 0,
    "api_calls": 1000,
    "api_calls_prev": 1000,
}


def test_a_drop_in_logins_is_told_in_a_sentence_with_its_points() -> None:
    change = score_change(STEADY, {**STEADY, "login_days": 3}, ScoringConfig(), ScoringConfig())

    assert (change.score_then, change.score_now, change.movement) == (92.9, 75.7, -17.2)
    assert change.lines[0].sentence == "Active login days fell from 14 to 3: -17.2 points"
    assert change.lines[0].raw_then == {"active_days": 14, "target_days": 16.0}
    assert (change.lines[0].score_then, change.lines[0].score_now) == (87.5, 18.8)
    assert [line.points for line in change.lines[1:]] == [0.0] * 4
    assert change.lines[1].sentence == "Features in use stayed at 8: +0.0 points"


def test_a_factor_that_stops_applying_moves_the_score_through_coverage() -> None:
    quiet = {**STEADY, "api_calls": 0, "api_calls_prev": 0}
    change = score_change(STEADY, quiet, ScoringConfig(), ScoringConfig())

    (coverage,) = [line for line in change.lines if line.kind == "coverage"]
    assert coverage.points == change.movement
    assert coverage.sentence.startswith("Coverage went from 100% to 85% (API usage no longer applies): ")
    api = next(line for line in change.lines if line.key == "api_usage")
    assert api.points == 0.0 and api.sentence.endswith("(it no longer applies): +0.0 points")


def test_a_configuration_change_is_its_own_line() -> None:
    stricter = ScoringConfig(login_target_days=20.0)
    change = score_change(STEADY, STEADY, ScoringConfig(), stricter)

    assert [line.kind for line in change.lines if line.points] == ["configuration"]
    assert (
        change.lines[0].sentence
        == f"The scoring configuration changed (login_target_days 16 to 20): {change.movement:+.1f} points"
    )


def test_a_customer_that_did_not_exist_then_has_no_movement() -> None:
    change = score_change(None, STEADY, ScoringConfig(), ScoringConfig())
    assert (change.score_then, change.movement, change.tier_then) == (None, None, "insufficient_data")
    assert all(line.points is None for line in change.lines)
    assert change.lines[0].sentence == "Active login days: 14 now, none before"


counts = st.integers(0, 6)
signals = st.fixed_dictionaries(
    {
        "age_days": st.integers(0, 900),
        "catalogue_size": st.just(12),
        "login_days": st.integers(0, 30),
        "features_used": st.integers(0, 12),
        "tickets_low": counts,
        "tickets_medium": counts,
        "tickets_high": counts,
        "tickets_urgent": counts,
        "invoices_on_time": counts,
        "invoices_late_grace": counts,
        "invoices_late": counts,
        "api_calls": st.integers(0, 10_000),
        "api_calls_prev": st.integers(0, 10_000),
    }
)
configs = st.builds(
    ScoringConfig,
    login_target_days=st.sampled_from([8.0, 16.0, 30.0]),
    weights=st.fixed_dictionaries(
        {
            k: st.floats(1, 50)
            for k in ("login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage")
        }
    ),
    min_history_days=st.sampled_from([0, 14, 60]),
)


@given(signals, signals, configs, configs)
def test_the_lines_add_up_to_the_movement(then: dict[str, Any], now: dict[str, Any], a: Any, b: Any) -> None:
    change = score_change(then, now, a, b)
    if change.movement is None:
        assert change.score_then is None or change.score_now is None
        return
    assert round(sum(line.points or 0.0 for line in change.lines) - change.movement, 6) == 0
    assert all(round(line.points * 10) == line.points * 10 for line in change.lines if line.points is not None)
    kinds = [line.kind for line in change.lines]
    assert kinds.count("configuration") == (a != b)
    impacts = [abs(line.points or 0.0) for line in change.lines]
    assert impacts == sorted(impacts, reverse=True)
