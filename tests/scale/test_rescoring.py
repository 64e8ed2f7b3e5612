"""The score board's fast paths (usage in memory, patches, a new day, a new configuration) agree with a full
recompute in SQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from sqlalchemy import text

from healthdash.board import ScoreBoard, Snapshot
from healthdash.clock import utc_now
from healthdash.recording import Answer, NewEvent
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService
from tests.conftest import add_customer


def same_as_recompute(snapshot: Snapshot, service: HealthService) -> None:
    pd.testing.assert_frame_equal(snapshot.table, service.score_frame(snapshot.as_of), check_like=True)


def logins(customer: int, days: range) -> list[NewEvent]:
    now = utc_now()
    return [NewEvent(customer, "login", now - dt.timedelta(days=d), {}) for d in days]


def record(service: HealthService, events: list[NewEvent]) -> list[int]:
    _, customers = service.record_batch(events, lambda ids: Answer(201, b"{}"))
    return customers


def test_a_patch_after_a_batch_equals_a_full_recompute(service: HealthService, executor: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, patch_interval=0.0)
        before = await board.current()
        same_as_recompute(before, service)
        changed = record(service, logins(9, range(1, 25)) + logins(13, range(40, 70)))  # now and a window ago
        board.mark_changed(changed)
        after = await board.flush()
        assert after is not before
        assert after.table.loc[9, "score"] != before.table.loc[9, "score"]
        assert after.table.loc[13, "previous_score"] != before.table.loc[13, "previous_score"]
        same_as_recompute(after, service)

    asyncio.run(scenario())


def test_a_patch_reads_again_the_usage_from_the_earliest_day_it_was_told_of(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, patch_interval=0.0)
        before = await board.current()
        today = before.day
        board.mark_changed(record(service, logins(9, range(0, 1))), since=today)
        board.mark_changed(record(service, logins(13, range(20, 30))), since=today - dt.timedelta(days=29))
        after = await board.flush()  # one patch for both: from the earlier day on
        assert after.table.loc[13, "score"] != before.table.loc[13, "score"]
        same_as_recompute(after, service)
        board.mark_changed(record(service, logins(21, range(5, 6))), since=today)  # told of the wrong day: unseen
        after = await board.flush()
        recompute = service.score_frame(after.as_of)
        assert after.table.loc[21, "score"] == before.table.loc[21, "score"] != recompute.loc[21, "score"]
        board.mark_changed([21])  # any day: all of its usage is read again
        same_as_recompute(await board.flush(), service)

    asyncio.run(scenario())


def test_a_usage_only_change_leaves_tickets_invoices_and_profiles_as_read(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, patch_interval=0.0)
        before = await board.current()
        with service.engine.begin() as conn:  # urgent tickets, written without events: only a full reading sees them
            conn.execute(
                text(
                    "INSERT INTO tickets (customer_id, subject, priority, opened_at) "
                    "SELECT 9, 'Outage', 'urgent', now() - make_interval(hours => n) FROM generate_series(1, 6) AS n"
                )
            )
        board.mark_changed([9], since=before.day, usage_only=True)
        after = await board.flush()
        assert after.table.loc[9, "score"] == before.table.loc[9, "score"], "a usage-only change reads no tickets"
        board.mark_changed([9], since=before.day)
        after = await board.flush()
        assert after.table.loc[9, "score"] < before.table.loc[9, "score"], "six urgent tickets cost points"
        same_as_recompute(after, service)
        created = add_customer(service.engine, "Newcomer Ltd", "now() - interval '90 days'")
        board.mark_changed(record(service, logins(created, range(0, 3))), since=before.day, usage_only=True)
        after = await board.flush()
        assert after.table.loc[created, "name"] == "Newcomer Ltd", "a customer the records lacked is read all the same"
        same_as_recompute(after, service)

    asyncio.run(scenario())


def test_patches_run_in_the_background_and_readers_do_not_wait(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, patch_interval=0.05)
        before = await board.current()
        board.mark_changed(record(service, logins(9, range(1, 25))))
        assert await board.current() is before, "the reader got the snapshot there was"
        for _ in range(200):
            await asyncio.sleep(0.05)
            if (await board.current()) is not before:
                break
        same_as_recompute(await board.current(), service)

    asyncio.run(scenario())


def test_customers_added_or_removed_are_patched_in_and_out(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, patch_interval=0.0)
        await board.current()
        with service.engine.begin() as conn:
            created = conn.execute(
                text(
                    "INSERT INTO customers (name, segment, plan, seats, created_at) "
                    "VALUES ('Newcomer Ltd', 'smb', 'growth', 5, now() - interval '50 days') RETURNING id"
                )
            ).scalar_one()
            conn.execute(text("DELETE FROM customers WHERE id = 2"))
        record(service, logins(created, range(1, 20)))
        board.mark_changed([created, 2])
        after = await board.flush()
        assert created in after.table.index and 2 not in after.table.index
        same_as_recompute(after, service)
        after = await board.rebuild()  # the usage in memory now holds the newcomer too
        same_as_recompute(after, service)

    asyncio.run(scenario())


def test_a_new_day_and_a_new_configuration_rebuild_from_memory(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        now = utc_now()
        clock = [now]
        board = ScoreBoard(service, executor, clock=lambda: clock[0])
        await board.current()
        board.mark_changed(record(service, logins(9, range(0, 2))))  # read again by the rebuild on the next day
        clock[0] = now + dt.timedelta(days=1)
        tomorrow = await board.rebuild()
        assert tomorrow.day == now.date() + dt.timedelta(days=1)
        same_as_recompute(tomorrow, service)
        service.config = ScoringConfig.from_mapping({"weights": {"api_usage": 40.0}, "at_risk_min": 50.0})
        same_as_recompute(await board.rebuild(), service)
        service.config = ScoringConfig.from_mapping({"window_days": 20})  # other windows: usage read afresh
        same_as_recompute(await board.rebuild(), service)
        clock[0] = now  # back to an earlier day
        same_as_recompute(await board.rebuild(), service)

    asyncio.run(scenario())


def test_a_past_table_is_patched_when_a_back_dated_event_arrives(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor)
        past = utc_now() - dt.timedelta(days=20)
        first = await board.at(past)
        record(service, logins(9, range(21, 30)))
        board.mark_changed([9])
        second = await board.at(past)
        assert second is not first and second.table.loc[9, "score"] != first.table.loc[9, "score"]
        same_as_recompute(second, service)

    asyncio.run(scenario())
