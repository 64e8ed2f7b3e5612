"""Customers of our own, inserted next to the sample data, whose scores the API tests can predict.

Every member's activity is given in whole days before today (UTC), so the roster means the same on any day. Names
carry the marker `Hdtest` so that a name search finds exactly the roster, whatever the sample data holds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

MARK = "Hdtest"


@dataclass(frozen=True)
class Member:
    """One roster customer and the activity it is seeded with."""

    key: str
    name: str
    segment: str
    plan: str
    age_days: int = 400
    login_days: Sequence[int] = ()  # days ago with a login
    features: int = 0  # how many catalogue features (in catalogue order) were used yesterday
    api_calls: tuple[int, int] = (0, 0)  # calls 5 days ago (this window) and 35 days ago (the window before)
    tickets: Sequence[tuple[str, int]] = ()  # (priority, days ago opened)
    invoices: Sequence[tuple[int, int, int | None]] = ()  # (issued, due, paid or None), each in days ago


# Each member tells one story; the comments give the factor scores with the default configuration.
MEMBERS: tuple[Member, ...] = (
    # logins 20 days -> 100, all features -> 100, API flat -> 100, no tickets -> 100, invoices on time -> 100;
    # a window earlier it logged in on 5 days only: a positive trend
    Member(
        "alpine",
        f"Alpine {MARK} Robotics",
        "enterprise",
        "enterprise",
        login_days=(*range(1, 21), *range(31, 36)),
        features=12,
        api_calls=(3000, 3000),
        invoices=((60, 45, 46), (40, 30, 31)),
    ),
    # logins 6 days -> 37.5, API down a third -> 33.3, a medium ticket -> 80, an invoice paid in grace -> 50
    Member(
        "beacon",
        f"beacon {MARK} Labs",
        "mid_market",
        "business",
        login_days=(2, 4, 6, 8, 10, 12),
        features=3,
        api_calls=(1000, 1500),
        tickets=(("medium", 3),),
        invoices=((50, 40, 35),),
    ),
    # no logins, no features, API down 90 %, tickets with a load of 13, an overdue invoice: critical
    Member(
        "cobalt",
        f"Cobalt {MARK} Foods",
        "smb",
        "starter",
        api_calls=(100, 1000),
        tickets=(("urgent", 2), ("urgent", 5), ("high", 9)),
        invoices=((40, 25, None),),
    ),
    # five days old: too young to judge
    Member("delta", f"Delta {MARK} Design", "smb", "growth", age_days=5, login_days=(1, 2, 3), features=2),
    # two login days -> 12.5: the login test's customer
    Member(
        "ember",
        f"Ember {MARK} Freight",
        "mid_market",
        "growth",
        login_days=(3, 9),
        features=6,
        api_calls=(2000, 2000),
        invoices=((50, 40, 41),),
    ),
    # everything at 100 and no tickets: the ticket test's customer
    Member(
        "fjord",
        f"Fjord {MARK} Energy",
        "enterprise",
        "business",
        login_days=tuple(range(1, 17)),
        features=8,
        api_calls=(2000, 2000),
        invoices=((50, 40, 41),),
    ),
    # no invoices at all: the invoice test's customer
    Member(
        "garnet", f"Garnet {MARK} Legal", "smb", "growth", login_days=tuple(range(1, 9)), features=4, api_calls=(50, 50)
    ),
    # the ticket open/close test's customer
    Member("harbor", f"Harbor {MARK} Hotels", "mid_market", "business", login_days=tuple(range(1, 11)), features=5),
    # two customers with identical activity: equal scores, ordered by name whatever the case
    Member("ivy", f"Ivy {MARK} Clinics", "smb", "starter", login_days=(1, 5, 9, 13), features=2, api_calls=(10, 10)),
    Member("iris", f"iris {MARK} Clinics", "smb", "starter", login_days=(1, 5, 9, 13), features=2, api_calls=(10, 10)),
)


@dataclass(frozen=True)
class Roster:
    """The ids the roster got in one database."""

    ids: dict[str, int]
    names: dict[str, str]
    features: tuple[str, ...] = field(default=())  # the feature catalogue's keys, in catalogue order

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


def at_noon(days_ago: int, today: dt.date | None = None) -> dt.datetime:
    """Return noon (UTC) of the day so many days before today."""
    day = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def seed(url: str, members: Iterable[Member] = MEMBERS) -> Roster:
    """Insert the members with their activity into the database at url; return their ids."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            features = tuple(row[0] for row in conn.execute(text("SELECT key FROM features ORDER BY bit")))
            ids = {m.key: _insert(conn, m, features) for m in members}
    finally:
        engine.dispose()
    return Roster(ids, {m.key: m.name for m in members}, features)


def _insert(conn: Connection, member: Member, features: Sequence[str]) -> int:
    created = dt.datetime.now(dt.UTC) - dt.timedelta(days=member.age_days)
    customer_id = int(
        conn.execute(
            text(
                "INSERT INTO customers (name, segment, plan, seats, created_at) "
                "VALUES (:name, :segment, :plan, 10, :created) RETURNING id"
            ),
            {"name": member.name, "segment": member.segment, "plan": member.plan, "created": created},
        ).scalar_one()
    )
    events = [("login", at_noon(day), {}) for day in member.login_days]
    events += [("feature_use", at_noon(1), {"feature": key}) for key in features[: member.features]]
    for calls, day in zip(member.api_calls, (5, 35), strict=True):
        if calls:
            events.append(("api_call", at_noon(day), {"count": calls}))
    if events:
        conn.execute(
            text("INSERT INTO events (customer_id, type, occurred_at, data) VALUES (:c, :t, :o, CAST(:d AS jsonb))"),
            [{"c": customer_id, "t": kind, "o": when, "d": json.dumps(data)} for kind, when, data in events],
        )
    for priority, day in member.tickets:
        conn.execute(
            text("INSERT INTO tickets (customer_id, subject, priority, opened_at) VALUES (:c, 'seeded', :p, :o)"),
            {"c": customer_id, "p": priority, "o": at_noon(day)},
        )
    for issued, due, paid in member.invoices:
        conn.execute(
            text("INSERT INTO invoices (customer_id, amount, issued_at, due_at, paid_at) VALUES (:c, 100, :i, :d, :p)"),
            {
                "c": customer_id,
                "i": at_noon(issued).date(),
                "d": at_noon(due).date(),
                "p": at_noon(paid).date() if paid is not None else None,
            },
        )
    return customer_id
