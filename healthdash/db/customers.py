"""Writes of customers' profiles: create one, change one, and create or update one by its CRM id.

A trigger on `customers` (db/init.sql) tells every instance which customers were added or changed, as it does for
events. A duplicate `external_id` is refused as a conflict naming the field; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy.exc
from sqlalchemy import Connection, text

from healthdash.recording import EventRejected

# the profile as a client sees it, in this order
PROFILE = "id, name, segment, plan, seats, industry, region, owner, created_at, external_id, arr, renewal_date, status"
# the fields a client may write, and the value each takes on creation when left out
WRITABLE: dict[str, Any] = {
    "name": None,
    "segment": None,
    "plan": None,
    "seats": None,
    "industry": "other",
    "region": "emea",
    "owner": None,
    "external_id": None,
    "arr": 0,
    "renewal_date": None,
}
REQUIRED = ("name", "segment", "plan", "seats")  # what a new customer cannot do without
UNIQUE_VIOLATION = "23505"


def create_customer(conn: Connection, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Store a new customer (fields left out take their defaults); return its profile."""
    values = {name: fields.get(name, default) for name, default in WRITABLE.items()}
    columns = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    statement = text(f"INSERT INTO customers ({columns}) VALUES ({placeholders}) RETURNING {PROFILE}")  # noqa: S608
    return _stored(conn, statement, values)


def update_customer(
    conn: Connection, customer_id: int, fields: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, bool]:
    """Change the given fields of a customer; return its profile (None for an unknown customer) and whether anything
    changed. Values equal to those stored write nothing (and tell no instance of a change)."""
    changes = {name: value for name, value in fields.items() if name in WRITABLE}
    if changes:
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        differs = " OR ".join(f"{name} IS DISTINCT FROM :{name}" for name in changes)
        statement = text(
            f"UPDATE customers SET {assignments} WHERE id = :id AND ({differs}) RETURNING {PROFILE}"  # noqa: S608
        )
        row = _stored(conn, statement, {**changes, "id": customer_id}, optional=True)
        if row is not None:
            return row, True
    return profile(conn, customer_id), False


def upsert_by_external_id(
    conn: Connection, external_id: str, fields: Mapping[str, Any]
) -> tuple[dict[str, Any], bool, bool]:
    """Create the customer with this CRM id, or change the given fields of the one there is.

    Return its profile, whether it was created and whether anything changed. The same fields twice change nothing
    the second time. Two concurrent calls with a new id create it once: the loser of the race updates it.
    """
    existing = conn.execute(
        text("SELECT id FROM customers WHERE external_id = :x FOR UPDATE"), {"x": external_id}
    ).scalar_one_or_none()
    if existing is None:
        missing = [name for name in REQUIRED if name not in fields]
        if missing:
            detail = f"there is no customer with external_id {external_id!r}: creating one needs {', '.join(missing)}"
            raise EventRejected(missing[0], detail)
        try:
            return create_customer(conn, {**fields, "external_id": external_id}), True, True
        except EventRejected:
            pass  # created meanwhile by a concurrent call: update that one
        existing = conn.execute(
            text("SELECT id FROM customers WHERE external_id = :x FOR UPDATE"), {"x": external_id}
        ).scalar_one()
    after, changed = update_customer(conn, existing, fields)
    assert after is not None  # locked above
    return after, False, changed


def profile(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    """Return a customer's profile, or None."""
    row = conn.execute(text(f"SELECT {PROFILE} FROM customers WHERE id = :id"), {"id": customer_id})  # noqa: S608
    found = row.mappings().one_or_none()
    return None if found is None else dict(found)


def profile_by_external_id(conn: Connection, external_id: str) -> dict[str, Any] | None:
    """Return the profile of the customer with this CRM id, or None."""
    statement = text(f"SELECT {PROFILE} FROM customers WHERE external_id = :x")  # noqa: S608
    found = conn.execute(statement, {"x": external_id}).mappings().one_or_none()
    return None if found is None else dict(found)


def _stored(
    conn: Connection, statement: Any, values: Mapping[str, Any], optional: bool = False
) -> dict[str, Any] | Any:
    try:
        with conn.begin_nested():
            found = conn.execute(statement, dict(values)).mappings().one_or_none()
    except sqlalchemy.exc.IntegrityError as exc:
        if getattr(exc.orig, "pgcode", None) == UNIQUE_VIOLATION and "external_id" in str(exc.orig):
            detail = f"another customer has external_id {values['external_id']!r}"
            raise EventRejected("external_id", detail, kind="conflict") from None
        raise
    if found is None and not optional:
        raise LookupError("the statement returned no row")
    return None if found is None else dict(found)
