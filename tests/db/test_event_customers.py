"""Every event belongs to a customer: checked a statement at a time, locked against deletion until the events commit,
deleted with its customer (db/init.sql, events_check_customers and the customers' triggers)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg2.errors
import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import add_customer, rollup_differences

LOGIN = "INSERT INTO events (customer_id, type, occurred_at, data) VALUES (:c, 'login', now(), '{}')"
LOGINS = (  # one statement for several customers
    "INSERT INTO events (customer_id, type, occurred_at, data) "
    "SELECT c, 'login', now(), '{}' FROM unnest(CAST(:cs AS bigint[])) AS c"
)


@pytest.fixture(scope="module")
def engine(module_db_url: str) -> Iterator[Engine]:
    engine = create_engine(module_db_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def count_events(engine: Engine, customer: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events WHERE customer_id = :c"), {"c": customer}).scalar())


def test_events_of_an_unknown_customer_are_refused_whole_with_the_foreign_keys_error(engine: Engine) -> None:
    known = add_customer(engine, "Known Ltd", "now()")
    with pytest.raises(sqlalchemy.exc.IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text(LOGINS), {"cs": [known, 9_999_001, 9_999_000, known]})
    error = caught.value.orig
    assert isinstance(error, psycopg2.errors.ForeignKeyViolation)
    assert error.diag.constraint_name == "events_customer_id_fkey"
    assert "Key (customer_id)=(9999000) is not present" in (error.diag.message_detail or "")  # the lowest missing id
    assert count_events(engine, known) == 0  # nothing of the statement is stored, its rollup neither
    assert rollup_differences(engine) == 0


def test_a_customers_deletion_deletes_its_events_and_only_its(engine: Engine) -> None:
    gone, kept = add_customer(engine, "Gone Ltd", "now()"), add_customer(engine, "Kept Ltd", "now()")
    with engine.begin() as conn:
        conn.execute(text(LOGINS), {"cs": [gone, gone, kept]})
        conn.execute(text("DELETE FROM customers WHERE id = :c"), {"c": gone})
    assert (count_events(engine, gone), count_events(engine, kept)) == (0, 1)
    assert rollup_differences(engine) == 0


def test_a_customers_id_does_not_change_while_events_name_it(engine: Engine) -> None:
    named, unnamed = add_customer(engine, "Named Ltd", "now()"), add_customer(engine, "Unnamed Ltd", "now()")
    with engine.begin() as conn:
        conn.execute(text(LOGIN), {"c": named})
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="still referenced"), engine.begin() as conn:
        conn.execute(text("UPDATE customers SET id = 9999100 WHERE id = :c"), {"c": named})
    with engine.begin() as conn:  # without events it may, as with a foreign key
        conn.execute(text("UPDATE customers SET id = 9999101 WHERE id = :c"), {"c": unnamed})
    with pytest.raises(sqlalchemy.exc.IntegrityError), engine.begin() as conn:  # nor may an event move to nobody
        conn.execute(text("UPDATE events SET customer_id = 9999102 WHERE customer_id = :c"), {"c": named})
    assert count_events(engine, named) == 1


def test_a_deletion_waits_for_events_being_stored_and_deletes_them_too(engine: Engine) -> None:
    customer = add_customer(engine, "Busy Ltd", "now()")
    with engine.connect() as writer:
        storing = writer.begin()
        writer.execute(text(LOGIN), {"c": customer})  # not committed: its customer is locked
        with pytest.raises(sqlalchemy.exc.OperationalError) as caught, engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '300ms'"))
            conn.execute(text("DELETE FROM customers WHERE id = :c"), {"c": customer})
        assert isinstance(caught.value.orig, psycopg2.errors.LockNotAvailable)
        storing.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM customers WHERE id = :c"), {"c": customer})
    assert count_events(engine, customer) == 0


def test_events_for_a_customer_deleted_meanwhile_are_refused_once_the_deletion_commits(engine: Engine) -> None:
    customer = add_customer(engine, "Leaving Ltd", "now()")
    outcome: list[BaseException | None] = []

    def store() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text(LOGIN), {"c": customer})
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    with engine.connect() as deleter:
        deleting = deleter.begin()
        deleter.execute(text("DELETE FROM customers WHERE id = :c"), {"c": customer})
        writer = threading.Thread(target=store)
        writer.start()
        writer.join(0.5)
        assert writer.is_alive(), "the events wait for the deletion's outcome"
        deleting.commit()
    writer.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], sqlalchemy.exc.IntegrityError)
    assert count_events(engine, customer) == 0


def test_truncating_the_customers_empties_the_events(fresh_db_url: str) -> None:
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar()
            conn.execute(text("TRUNCATE customers CASCADE"))
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
    finally:
        engine.dispose()
