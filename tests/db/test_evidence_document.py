"""The evidence document PostgreSQL writes for a customer's health: valid JSON, text escaped, absent values null,
moments and amounts written as the API writes them everywhere else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db import reads

AS_OF = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
NAME = 'Quote " back\\slash\ttab\nline Zürich 東京 \u0001'
WHOLE = dt.datetime(2026, 3, 1, 9, 30, 0, tzinfo=dt.UTC)  # a whole second: no fraction
TRAILING = dt.datetime(2026, 3, 1, 9, 30, 34, 810550, tzinfo=dt.UTC)  # a fraction ending in 0: six digits all the same


@pytest.fixture
def engine(fresh_db_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def _customer(engine: Engine) -> int:
    with engine.begin() as conn:
        customer_id = int(
            conn.execute(
                text(
                    "INSERT INTO customers (name, segment, plan, seats, created_at, arr, owner) "
                    "VALUES (:name, 'smb', 'starter', 5, :created, 12000, NULL) RETURNING id"
                ),
                {"name": NAME, "created": WHOLE - dt.timedelta(days=40)},
            ).scalar_one()
        )
        conn.execute(
            text(
                "INSERT INTO events (customer_id, type, occurred_at, data, recorded_by) VALUES "
                "(:c, 'login', :whole, '{}', NULL), "
                "(:c, 'api_call', :trailing, CAST(:data AS jsonb), :who)"
            ),
            {
                "c": customer_id,
                "whole": WHOLE,
                "trailing": TRAILING,
                "data": '{"count": 3, "note": "say \\"hi\\" ü"}',
                "who": 'ops "lead"',
            },
        )
        conn.execute(
            text(
                "INSERT INTO tickets (customer_id, subject, priority, opened_at) "
                "VALUES (:c, 'Cannot <b>export</b> \"CSV\"', 'high', :at)"
            ),
            {"c": customer_id, "at": TRAILING},
        )
        conn.execute(
            text(
                "INSERT INTO invoices (customer_id, amount, issued_at, due_at) VALUES (:c, 1500, '2026-02-01', "
                "'2026-02-15')"
            ),
            {"c": customer_id},
        )
    return customer_id


def _document(engine: Engine, customer_id: int, events: tuple[int, int] = (50, 0)) -> bytes | None:
    with engine.connect() as conn:
        return reads.customer_evidence_json(conn, customer_id, AS_OF, 14, events, 90)


def test_the_document_is_json_with_every_value_as_stored(engine: Engine) -> None:
    customer_id = _customer(engine)
    document = _document(engine, customer_id)
    assert document is not None
    found = orjson.loads(document)
    profile = found["customer"]
    assert profile["name"] == NAME  # quotes, backslashes, control characters and non-ASCII text escaped
    assert profile["owner"] is None
    assert profile["arr"] == 12000
    login, api_call = sorted(found["events"]["items"], key=lambda e: e["type"] != "login")
    assert api_call["data"] == {"count": 3, "note": 'say "hi" ü'}
    assert api_call["recorded_by"] == 'ops "lead"'
    assert login["recorded_by"] is None and login["data"] == {}
    assert found["events"] == {"items": found["events"]["items"], "total": 2, "limit": 50, "offset": 0}
    [ticket] = found["tickets"]
    assert ticket["subject"] == 'Cannot <b>export</b> "CSV"' and ticket["closed_at"] is None
    [invoice] = found["invoices"]
    assert (invoice["issued_at"], invoice["paid_at"], invoice["status"]) == ("2026-02-01", None, "overdue")
    assert [day["day"] for day in found["activity"]] == ["2026-03-01"]
    assert found["activity"][0] == {"day": "2026-03-01", "logins": 1, "feature_uses": 0, "api_calls": 3}


def test_moments_and_amounts_are_written_as_the_api_writes_them(engine: Engine) -> None:
    customer_id = _customer(engine)
    document = _document(engine, customer_id)
    assert document is not None
    items = {e["type"]: e for e in orjson.loads(document)["events"]["items"]}
    assert items["login"]["occurred_at"] == WHOLE.isoformat() == "2026-03-01T09:30:00+00:00"
    assert items["api_call"]["occurred_at"] == TRAILING.isoformat() == "2026-03-01T09:30:34.810550+00:00"
    assert orjson.loads(document)["as_of"] == AS_OF.isoformat()
    assert b'"arr":12000.00' in document and b'"amount":1500.00' in document  # the numeric's scale kept


def test_an_empty_page_and_an_unknown_customer(engine: Engine) -> None:
    customer_id = _customer(engine)
    document = _document(engine, customer_id, events=(50, 10))
    assert document is not None
    assert orjson.loads(document)["events"] == {"items": [], "total": 2, "limit": 50, "offset": 10}
    assert _document(engine, 10**9) is None


def test_the_values_read_back_are_the_stored_ones(engine: Engine) -> None:
    customer_id = _customer(engine)
    document = _document(engine, customer_id)
    assert document is not None
    evidence = reads.evidence_values(document, AS_OF)
    moments = sorted(e["occurred_at"] for e in evidence["events"]["items"])
    assert moments == [WHOLE, TRAILING]
    assert evidence["invoices"][0]["due_at"] == dt.date(2026, 2, 15)
