"""The backtest read from the score history and the churn events: a small history with figures worked by hand, and
days judged only by what was known at their end."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from healthdash.db import backtest
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.service import HealthService

JAN = dt.date(2026, 1, 1)


def day(n: int) -> dt.date:
    return JAN + dt.timedelta(days=n - 1)


def build_history(engine: Engine) -> None:
    """Four customers over January 1-3 (horizon 10 days, lead 3 days):

    1 scores 70, 40, 30 (healthy, at_risk, critical) and churns on the 5th: three churned days, flagged on two,
      first flagged 3 days ahead (on the 2nd, which is 5 - 3: flagged ahead)
    2 scores 80 on each day, never churns
    3 scores 50 (at_risk) on the 1st and 2nd and churns on the 2nd: only the 1st counts (churned), 1 day ahead
    4 scores 55 (at_risk) on each day, never churns
    5 is too young to score (no score): not judged
    """
    rows = [
        (1, 1, 70, "healthy"), (1, 2, 40, "at_risk"), (1, 3, 30, "critical"),
        (2, 1, 80, "healthy"), (2, 2, 80, "healthy"), (2, 3, 80, "healthy"),
        (3, 1, 50, "at_risk"), (3, 2, 50, "at_risk"),
        (4, 1, 55, "at_risk"), (4, 2, 55, "at_risk"), (4, 3, 55, "at_risk"),
        (5, 1, None, "insufficient_data"),
    ]  # fmt: skip
    with engine.begin() as conn:
        config = conn.execute(
            text("INSERT INTO scoring_configs (hash, settings) VALUES (repeat('a', 64), '{}') RETURNING id")
        ).scalar_one()
        conn.execute(text("SELECT score_history_add_months(:first, :last)"), {"first": day(1), "last": day(3)})
        for n in (1, 2, 3):
            conn.execute(
                text("INSERT INTO score_history_days (day, config_id) VALUES (:d, :c)"), {"d": day(n), "c": config}
            )
        for customer, n, score, tier in rows:
            conn.execute(
                text(
                    "INSERT INTO score_history (customer_id, day, score, coverage, login_frequency, config_id, tier) "
                    "VALUES (:c, :d, :s, 1, :s, :k, :t)"
                ),
                {"c": customer, "d": day(n), "s": score, "k": config, "t": tier},
            )
        for customer, arr in ((1, 1000), (2, 2000), (3, 500), (4, 100)):
            conn.execute(text("UPDATE customers SET arr = :a WHERE id = :c"), {"a": arr, "c": customer})
        for customer, n in ((1, 5), (3, 2)):
            conn.execute(
                text("INSERT INTO events (customer_id, type, occurred_at, data) VALUES (:c, 'churned', :t, :d)"),
                {"c": customer, "t": dt.datetime.combine(day(n), dt.time(12), dt.UTC), "d": '{"reason": "budget"}'},
            )


def test_a_small_history_gives_the_figures_worked_by_hand(service: HealthService) -> None:
    build_history(service.engine)
    result = service.backtest(day(1), day(3), horizon=10, lead=3)
    confusion = (result.true_positives, result.false_positives, result.false_negatives, result.true_negatives)
    assert confusion == (3, 3, 1, 3)  # 1's two flagged days and 3's day; 4's three days; 1's healthy day; 2's days
    assert (result.precision, result.recall, result.base_rate, result.lift) == (0.5, 0.75, 0.4, 1.25)
    # churners scored 70, 40, 30, 50; those who stayed 80 x3 and 55 x3: only 70 is not lower than 55 (3 pairs)
    assert result.auc == pytest.approx(21 / 24)
    assert result.arr_precision == pytest.approx(2500 / 2800) and result.arr_recall == pytest.approx(2500 / 3500)
    bands = {b.low: (b.customers_days, b.churned) for b in result.bands}
    assert bands[30] == (1, 1) and bands[40] == (1, 1) and bands[50] == (4, 1) and bands[70] == (1, 1)
    assert bands[80] == (3, 0)
    assert (result.churners, result.churners_flagged_ahead, result.median_lead_days) == (2, 1, 2.0)
    assert result.arr_share_flagged_ahead == pytest.approx(1000 / 1500)
    assert result.factor_auc["login_frequency"] == result.auc  # the factor's score was written equal to the score
    shorter = service.backtest(day(1), day(3), horizon=3, lead=3)
    # 1's churn on the 5th is past its healthy 1st plus 3 days: that day now counts as one that stayed
    assert (shorter.true_positives, shorter.false_negatives, shorter.true_negatives) == (3, 0, 4)


def test_a_customer_far_past_the_others_ids_is_judged_alike(service: HealthService) -> None:
    """Customer ids have gaps (deleted customers, rolled back imports): customer 3 of the worked example, moved to id
    5,000 with its history, churn and ARR, gives the same figures."""
    build_history(service.engine)
    with service.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, segment, plan, seats, arr) "
                "SELECT 5000, name || ' (moved)', segment, plan, seats, arr FROM customers WHERE id = 3"
            )
        )
        for table in ("score_history", "events"):
            conn.execute(text(f"UPDATE {table} SET customer_id = 5000 WHERE customer_id = 3"))
    result = service.backtest(day(1), day(3), horizon=10, lead=3)
    confusion = (result.true_positives, result.false_positives, result.false_negatives, result.true_negatives)
    assert confusion == (3, 3, 1, 3)
    assert result.arr_precision == pytest.approx(2500 / 2800) and result.arr_recall == pytest.approx(2500 / 3500)
    assert (result.churners, result.churners_flagged_ahead, result.median_lead_days) == (2, 1, 2.0)
    assert result.arr_share_flagged_ahead == pytest.approx(1000 / 1500)


def test_a_large_range_reads_the_factors_on_every_kth_day_and_says_so(
    service: HealthService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond FACTOR_DAYS_READ customer-days the factors' AUCs read every k-th day: here 10 customer-days over a limit
    of 4 read every third day, the 1st alone, where the churners scored 70 and 50 and those who stayed 80 and 55."""
    build_history(service.engine)
    assert service.backtest(day(1), day(3), horizon=10, lead=3).factor_step == 1
    monkeypatch.setattr(backtest, "FACTOR_DAYS_READ", 4)
    result = service.backtest(day(1), day(3), horizon=10, lead=3)
    assert result.factor_step == 3 and result.as_dict()["factor_auc_every_days"] == 3
    assert result.observations == 10  # the score's figures still count every day
    assert result.factor_auc["login_frequency"] == pytest.approx(3 / 4)  # 50 < 80, 50 < 55, 70 < 80; not 70 < 55


def flagged_on(service: HealthService, when: dt.date) -> tuple[int, int]:
    result = service.backtest(when, when, horizon=90, lead=30)
    return result.observations, result.true_positives + result.false_positives


def test_events_after_a_day_do_not_change_how_that_day_is_judged(service: HealthService, today: dt.date) -> None:
    recorder = HistoryRecorder(service.engine, service.config, 3)
    recorder.write_missing(today)
    judged, later = today - dt.timedelta(days=3), today - dt.timedelta(days=2)
    before = flagged_on(service, judged), flagged_on(service, later)
    when = dt.datetime.combine(later, dt.time(9), dt.UTC)
    with service.engine.begin() as conn:  # every customer opens an urgent ticket the day after
        conn.execute(
            text(
                "INSERT INTO tickets (customer_id, subject, priority, opened_at) "
                "SELECT id, 'x', 'urgent', :t FROM customers"
            ),
            {"t": when},
        )
        conn.execute(
            text("INSERT INTO score_history_stale (customer_id, since) SELECT id, :d FROM customers "
                 "ON CONFLICT (customer_id) DO UPDATE SET since = EXCLUDED.since"),
            {"d": later},
        )  # fmt: skip
    assert recorder.restate(today) > 0
    after = flagged_on(service, judged), flagged_on(service, later)
    assert after[0] == before[0]  # the day before the events is judged as it was
    assert after[1][1] > before[1][1]  # the day of the tickets is not: more customers are flagged


def test_the_sample_data_gives_an_informative_backtest_and_suggested_weights(
    service: HealthService, today: dt.date
) -> None:
    # the sample's churns are spread over its history: four months of it hold churns enough to fit weights on
    HistoryRecorder(service.engine, service.config, 120).write_missing(today)
    report = service.backtest_report(None, None, horizon=30, lead=7)
    figures = report["figures"]
    assert report["to"] == today - dt.timedelta(days=31)  # the last day of history less the horizon
    assert figures["churners"] >= 5
    assert 0.5 < figures["auc"] < 1.0  # the score tells churners apart, not perfectly
    assert figures["lift"] > 1.0
    assert report["current_weights"] == dict(service.config.weights)
    suggested = report["suggested"]
    assert report["from"] == today - dt.timedelta(days=120)  # the first day of history
    assert suggested is not None and sum(suggested["weights"].values()) == 100
    assert suggested["held_out"] > 0 and suggested["trained_on"] > suggested["held_out"]


def test_by_default_the_days_whose_window_reaches_before_the_first_activity_are_not_judged(
    service: HealthService, today: dt.date
) -> None:
    # a history written back further than the activity recorded: its first days flag everyone, they say nothing
    HistoryRecorder(service.engine, service.config, 90).write_missing(today)
    began = today - dt.timedelta(days=70)
    with service.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM events WHERE type IN ('login', 'api_call', 'feature_use') AND occurred_at < :began"),
            {"began": dt.datetime.combine(began, dt.time(), dt.UTC)},
        )
        conn.execute(text("SELECT customer_daily_rebuild()"))
    report = service.backtest_report(None, None, horizon=30, lead=7)
    assert report["from"] == began + dt.timedelta(days=service.config.window_days - 1)
    assert report["to"] == today - dt.timedelta(days=31)
    # a range asked for is judged as asked
    asked = service.backtest_report(today - dt.timedelta(days=90), None, horizon=30, lead=7)
    assert asked["from"] == today - dt.timedelta(days=90)


def test_a_backtest_is_kept_until_a_day_is_written_a_churn_recorded_or_a_customer_changed(
    service: HealthService,
) -> None:
    build_history(service.engine)
    report = service.backtest_report(day(1), day(3), horizon=10, lead=3)
    assert service.backtest_report(day(1), day(3), horizon=10, lead=3) is report  # nothing it reads changed
    assert service.backtest_report(day(1), day(3), horizon=3, lead=3)["horizon"] == 3  # another horizon, its own
    assert report["figures"]["churners"] == 2
    with service.engine.begin() as conn:  # 4 churns on the 6th: its three at-risk days were flagged rightly
        conn.execute(
            text("INSERT INTO events (customer_id, type, occurred_at, data) VALUES (4, 'churned', :t, '{}')"),
            {"t": dt.datetime.combine(day(6), dt.time(12), dt.UTC)},
        )
    churned = service.backtest_report(day(1), day(3), horizon=10, lead=3)
    assert churned["figures"]["churners"] == 3 and churned["figures"]["confusion"]["true_positives"] == 6
    with service.engine.begin() as conn:  # 4's ARR grows: the ARR it was flagged for counts the more
        conn.execute(text("UPDATE customers SET arr = 10000 WHERE id = 4"))
    grown = service.backtest_report(day(1), day(3), horizon=10, lead=3)
    assert grown["figures"]["arr_recall"] > churned["figures"]["arr_recall"]
    with service.engine.begin() as conn:  # the 1st restated, as the history keeper does: 2 now at risk that day
        conn.execute(text("UPDATE score_history SET score = 45, tier = 'at_risk' WHERE customer_id = 2 AND day = :d"),
                     {"d": day(1)})  # fmt: skip
        conn.execute(text("UPDATE score_history_days SET written_at = now() WHERE day = :d"), {"d": day(1)})
    restated = service.backtest_report(day(1), day(3), horizon=10, lead=3)
    assert restated["figures"]["confusion"]["false_positives"] == grown["figures"]["confusion"]["false_positives"] + 1
    assert service.backtest_report(day(1), day(3), horizon=10, lead=3) is restated
