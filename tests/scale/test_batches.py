"""POST /api/events/batch over HTTP: all or nothing, safe to retry, and seen by the dashboard within seconds."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.servers import RunningServer

BATCH = "/api/events/batch"


def post(server: RunningServer, body: Any, key: str | None = None, **headers: str) -> tuple[int, dict[str, str], Any]:
    sent = {"Authorization": f"Bearer {server.token}", **headers}
    if key is not None:
        sent["Idempotency-Key"] = key
    return server.request("POST", BATCH, body, sent)


def events_stored(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


def activity(customer: int, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"customer_id": customer, "type": "api_call", "data": {"count": 1 + i}, **extra} for i in range(count)]


def test_a_batch_is_stored_with_one_answer_listing_its_events(server: RunningServer, module_db_url: str) -> None:
    before = events_stored(module_db_url)
    body = {"events": [*activity(3, 2), {"customer_id": 7, "type": "login"}, {"customer_id": 7, "type": "login"}]}
    status, headers, answer = post(server, body)
    assert status == 201 and "Idempotent-Replayed" not in headers
    assert answer["count"] == 4 and answer["customer_count"] == 2
    assert answer["ids"] == list(range(answer["first_id"], answer["last_id"] + 1))
    assert events_stored(module_db_url) == before + 4
    status, _, event = server.get(f"/api/customers/7/events/{answer['ids'][2]}")
    assert status == 200 and event["type"] == "login"


def test_a_retried_batch_is_stored_once_and_answered_alike(server: RunningServer, module_db_url: str) -> None:
    body = {"events": activity(5, 3)}
    first = post(server, body, key="retry-0001")
    stored = events_stored(module_db_url)
    again = post(server, json.loads(json.dumps(body, indent=2)), key="retry-0001")  # the same batch, spaced out
    assert first[0] == again[0] == 201 and first[2] == again[2]
    assert again[1].get("Idempotent-Replayed") == "true"
    assert events_stored(module_db_url) == stored
    other = post(server, {"events": activity(5, 1)}, key="retry-0001")
    assert other[0] == 422 and other[2]["errors"][0]["field"] == "Idempotency-Key"
    assert events_stored(module_db_url) == stored


def test_one_invalid_event_stores_nothing_and_is_named(server: RunningServer, module_db_url: str) -> None:
    before = events_stored(module_db_url)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**activity(3, 1)[0], "data": {"count": 0}}, 422, "events[3].data.count"),
        ({"customer_id": 3, "type": "holiday"}, 422, "events[3].type"),
        ({"customer_id": 999_999, "type": "login"}, 422, "events[3].customer_id"),
        ({"customer_id": 3, "type": "feature_use", "data": {"feature": "teleport"}}, 422, "events[3].data.feature"),
        ({"customer_id": 3, "type": "ticket_closed", "data": {"ticket_id": 999_999}}, 422, "events[3].data.ticket_id"),
        ({"customer_id": 3, "type": "login", "occurred_at": "2999-01-01T00:00:00Z"}, 422, "events[3].occurred_at"),
    ]
    for bad, status, field in cases:
        answer = post(server, {"events": [*activity(3, 3), bad, *activity(4, 2)]})
        assert answer[0] == status, (bad, answer)
        assert answer[1]["Content-Type"].startswith("application/problem+json")
        assert field in {e["field"] for e in answer[2]["errors"]}, answer[2]
    assert events_stored(module_db_url) == before


def test_ticket_and_invoice_events_update_their_records_in_order(server: RunningServer) -> None:
    opened = {"customer_id": 11, "type": "ticket_opened", "data": {"priority": "high", "subject": "Sync stuck"}}
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    issued = {"customer_id": 11, "type": "invoice_issued", "data": {"amount": 120.5, "due_at": due}}
    status, _, answer = post(server, {"events": [opened, issued]})
    assert status == 201
    _, _, health = server.get("/api/customers/11/health?events_limit=5")
    stored = {e["id"]: e for e in health["events"]["items"]}
    ticket_id = stored[answer["ids"][0]]["data"]["ticket_id"]
    invoice_id = stored[answer["ids"][1]]["data"]["invoice_id"]
    closing = [
        {"customer_id": 11, "type": "ticket_closed", "data": {"ticket_id": ticket_id}},
        {"customer_id": 11, "type": "invoice_paid", "data": {"invoice_id": invoice_id}},
    ]
    assert post(server, {"events": closing})[0] == 201
    again = post(server, {"events": closing[:1]})
    assert again[0] == 409 and again[2]["errors"][0]["field"] == "events[0].data.ticket_id"


def test_the_dashboard_and_list_show_a_batch_within_seconds(server: RunningServer) -> None:
    _, _, dashboard = server.get("/api/dashboard")
    target = dashboard["top_at_risk"][0]
    _, _, health = server.get(f"/api/customers/{target['id']}/health")
    logged = {a["day"] for a in health["activity"] if a["logins"]}
    days = [(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=k)).isoformat() for k in range(2, 28)]
    quiet = [d for d in days if d not in logged]
    body = {"events": [{"customer_id": target["id"], "type": "login", "occurred_at": f"{d}T12:00:00Z"} for d in quiet]}
    assert quiet and post(server, body)[0] == 201
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, _, now = server.get("/api/dashboard")
        shown = {e["id"]: e["score"] for e in now["top_at_risk"]}
        if shown.get(target["id"]) != target["score"]:
            break
        time.sleep(0.1)
    assert shown.get(target["id"]) != target["score"]


def test_writes_need_a_token_json_and_a_body_of_at_most_8_mib(server: RunningServer) -> None:
    body = {"events": activity(3, 1)}
    assert server.request("POST", BATCH, body, anonymous=True)[0] == 401
    text_body = {"Authorization": f"Bearer {server.token}", "Content-Type": "text/plain"}
    assert server.request("POST", BATCH, raw=b"x", headers=text_body)[0] == 415
    assert post(server, {"events": []})[0] == 422
    assert post(server, ["not", "an", "object"])[0] == 422
    too_many = post(server, {"events": activity(3, 10_001)})
    assert too_many[0] == 422 and too_many[2]["errors"][0]["field"] == "events"
    assert post(server, body, key="")[0] == 422 and post(server, body, key="é")[0] == 422
    huge = b'{"events": [' + b" " * (8 * 1024 * 1024) + b"]}"
    assert server.request("POST", BATCH, raw=huge, headers={"Authorization": f"Bearer {server.token}"})[0] == 413
    _, _, document = server.get("/api/openapi.json")
    assert "post" in document["paths"][BATCH] and "EventBatch" in document["components"]["schemas"]
