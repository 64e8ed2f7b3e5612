"""SQL of the people tables: accounts, sessions, API tokens and the audit log.

Secrets never reach this module: it stores and looks up their hashes, computed by the caller.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from healthdash.recording import Author

USER_COLUMNS = "u.id, u.email, u.name, u.role, u.disabled, u.created_at"


def add_user(conn: Connection, email: str, name: str, role: str, password_hash: str | None) -> int | None:
    """Insert an account; return its id, or None when the email is taken (whatever its case)."""
    row = conn.execute(
        text(
            "INSERT INTO users (email, name, role, password_hash) VALUES (:email, :name, :role, :hash) "
            "ON CONFLICT DO NOTHING RETURNING id"
        ),
        {"email": email, "name": name, "role": role, "hash": password_hash},
    ).first()
    return None if row is None else int(row[0])


def user_count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM users")).scalar_one())


def users(conn: Connection) -> list[dict[str, Any]]:
    """Every account, oldest first, without password hashes."""
    rows = conn.execute(text(f"SELECT {USER_COLUMNS} FROM users u ORDER BY u.id")).mappings()  # noqa: S608
    return [dict(r) for r in rows]


def user_by_email(conn: Connection, email: str) -> dict[str, Any] | None:
    """The account with this email (any case), with its password hash."""
    row = (
        conn.execute(
            text(f"SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE lower(u.email) = lower(:email)"),  # noqa: S608
            {"email": email},
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def update_user(conn: Connection, email: str, changes: Mapping[str, Any]) -> bool:
    """Set some of `role`, `disabled`, `password_hash` of an account; return whether it exists."""
    assignments = ", ".join(f"{name} = :{name}" for name in changes if name in ("role", "disabled", "password_hash"))
    statement = text(f"UPDATE users SET {assignments} WHERE lower(email) = lower(:email) RETURNING id")  # noqa: S608
    return conn.execute(statement, {**changes, "email": email}).first() is not None


def owned_customers(conn: Connection, email: str | None, name: str) -> list[int]:
    """The customers whose owner names this person: by email or by name, whatever the case and spacing."""
    rows = conn.execute(
        text(
            "SELECT id FROM customers WHERE lower(btrim(owner)) IN (lower(btrim(:email)), lower(btrim(:name))) "
            "ORDER BY id"
        ),
        {"email": email or "", "name": name},
    )
    return [int(row[0]) for row in rows]


def add_session(conn: Connection, secret_hash: str, user_id: int, expires_at: dt.datetime, address: str | None) -> int:
    row = conn.execute(
        text(
            "INSERT INTO sessions (secret_hash, user_id, expires_at, address) "
            "VALUES (:hash, :user_id, :expires_at, :address) RETURNING id"
        ),
        {"hash": secret_hash, "user_id": user_id, "expires_at": expires_at, "address": address},
    ).one()
    return int(row[0])


def session_by_hash(conn: Connection, secret_hash: str, idle: float) -> dict[str, Any] | None:
    """The live session with this secret (not revoked, expired or idle), with its user's account; None otherwise."""
    row = (
        conn.execute(
            text(
                f"""
                SELECT s.id AS session_id, s.last_seen_at, {USER_COLUMNS}
                  FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.secret_hash = :hash AND s.revoked_at IS NULL AND s.expires_at > now()
                   AND s.last_seen_at > now() - make_interval(secs => :idle) AND NOT u.disabled
                """  # noqa: S608 (a constant fragment)
            ),
            {"hash": secret_hash, "idle": idle},
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def touch_session(conn: Connection, session_id: int) -> None:
    conn.execute(text("UPDATE sessions SET last_seen_at = now() WHERE id = :id"), {"id": session_id})


def revoke_session(conn: Connection, session_id: int) -> None:
    """End a session and the page tokens bound to it."""
    ended = "UPDATE {} SET revoked_at = now() WHERE {} = :id AND revoked_at IS NULL"
    conn.execute(text(ended.format("sessions", "id")), {"id": session_id})
    conn.execute(text(ended.format("api_tokens", "session_id")), {"id": session_id})


def revoke_user_sessions(conn: Connection, user_id: int) -> int:
    """End every session of an account (and their page tokens); return how many were live."""
    ended = conn.execute(
        text("UPDATE sessions SET revoked_at = now() WHERE user_id = :id AND revoked_at IS NULL RETURNING id"),
        {"id": user_id},
    ).all()
    conn.execute(
        text("UPDATE api_tokens SET revoked_at = now() WHERE user_id = :id AND kind <> 'api' AND revoked_at IS NULL"),
        {"id": user_id},
    )
    return len(ended)


def add_token(
    conn: Connection,
    token_hash: str,
    *,
    kind: str,
    name: str,
    role: str,
    user_id: int | None = None,
    session_id: int | None = None,
    expires_at: dt.datetime | None = None,
) -> int:
    row = conn.execute(
        text(
            "INSERT INTO api_tokens (token_hash, kind, name, role, user_id, session_id, expires_at) "
            "VALUES (:hash, :kind, :name, :role, :user_id, :session_id, :expires_at) RETURNING id"
        ),
        {
            "hash": token_hash,
            "kind": kind,
            "name": name,
            "role": role,
            "user_id": user_id,
            "session_id": session_id,
            "expires_at": expires_at,
        },
    ).one()
    return int(row[0])


def token_by_hash(conn: Connection, token_hash: str, kind: str) -> dict[str, Any] | None:
    """The live token of a kind with this hash, with its user's account (NULLs for a service's); None otherwise."""
    row = (
        conn.execute(
            text(
                """
                SELECT t.id AS token_id, t.name AS token_name, t.role AS token_role, t.session_id, t.last_used_at,
                       u.id, u.email, u.name, u.role
                  FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = :hash AND t.kind = :kind AND t.revoked_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > now()) AND NOT coalesce(u.disabled, false)
                """
            ),
            {"hash": token_hash, "kind": kind},
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def touch_token(conn: Connection, token_id: int) -> None:
    conn.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"), {"id": token_id})


def tokens(conn: Connection) -> list[dict[str, Any]]:
    """Every API token (not page tokens or sign-in links), oldest first, without hashes."""
    rows = conn.execute(
        text(
            """
            SELECT t.id, t.name, t.role, u.email AS user_email, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
              FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
             WHERE t.kind = 'api' ORDER BY t.id
            """
        )
    ).mappings()
    return [dict(r) for r in rows]


def revoke_token(conn: Connection, token_id: int, kind: str = "api") -> bool:
    """Revoke a token; return whether a live one of that kind had this id."""
    statement = "UPDATE api_tokens SET revoked_at = now() WHERE id = :id AND kind = :kind AND revoked_at IS NULL"
    return conn.execute(text(statement + " RETURNING id"), {"id": token_id, "kind": kind}).first() is not None


def audit(
    conn: Connection,
    actor: str,
    action: str,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
    address: str | None = None,
) -> None:
    """Append one entry to the audit log (in the caller's transaction)."""
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, action, target, detail, address) "
            "VALUES (:actor, :action, :target, CAST(:detail AS jsonb), :address)"
        ),
        {"actor": actor, "action": action, "target": target, "detail": json.dumps(detail or {}), "address": address},
    )


def audit_many(conn: Connection, entries: Sequence[tuple[str, str | None, Mapping[str, Any], Author]]) -> None:
    """Append entries (action, target, detail, author) to the audit log with one statement."""
    if not entries:
        return
    rows = [
        {"actor": a.actor[:200], "action": action, "target": target, "detail": dict(detail), "address": a.address}
        for action, target, detail, a in entries
    ]
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, action, target, detail, address) "
            "SELECT actor, action, target, detail, address FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            "AS r (actor text, action text, target text, detail jsonb, address text)"
        ),
        {"rows": json.dumps(rows)},
    )


def sign_in_wait(
    conn: Connection, account: str, address: str, account_limit: int, address_limit: int, window: float
) -> float:
    """Seconds until a sign-in may be tried again (0: go ahead): until the account's `account_limit`-th failure since
    its last sign-in, or the address's `address_limit`-th failure, is older than `window` seconds. Every scan is of
    the window alone (by the actor index, and the failed sign-ins' index by address)."""
    wait = conn.execute(
        text(
            """
            WITH cleared AS (
                SELECT coalesce(max(at), '-infinity') AS at FROM audit_log
                 WHERE lower(actor) = lower(:account) AND action = 'sign_in'
                   AND at > now() - make_interval(secs => :window)
            ), by_account AS (
                SELECT f.at FROM audit_log f, cleared
                 WHERE lower(f.actor) = lower(:account) AND f.action = 'sign_in.failed'
                   AND f.at > greatest(cleared.at, now() - make_interval(secs => :window))
                 ORDER BY f.at DESC OFFSET :account_limit - 1 LIMIT 1
            ), by_address AS (
                SELECT at FROM audit_log
                 WHERE address = :address AND action = 'sign_in.failed'
                   AND at > now() - make_interval(secs => :window)
                 ORDER BY at DESC OFFSET :address_limit - 1 LIMIT 1
            )
            SELECT greatest(0, extract(epoch FROM (SELECT at FROM by_account) + make_interval(secs => :window) - now()),
                            extract(epoch FROM (SELECT at FROM by_address) + make_interval(secs => :window) - now()))
            """
        ),
        {
            "account": account,
            "address": address,
            "window": window,
            "account_limit": account_limit,
            "address_limit": address_limit,
        },
    ).scalar_one()
    return max(0.0, float(wait))


def audit_entries(
    conn: Connection,
    actor: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """A page of the audit log, newest first, for one actor (any case) and a time range; with the total count."""
    where = """(CAST(:actor AS text) IS NULL OR lower(actor) = lower(CAST(:actor AS text)))
           AND (CAST(:since AS timestamptz) IS NULL OR at >= CAST(:since AS timestamptz))
           AND (CAST(:until AS timestamptz) IS NULL OR at < CAST(:until AS timestamptz))"""
    params = {"actor": actor, "since": since, "until": until, "limit": limit, "offset": offset}
    total = int(conn.execute(text(f"SELECT count(*) FROM audit_log WHERE {where}"), params).scalar_one())  # noqa: S608
    rows = conn.execute(
        text(
            f"SELECT id, at, actor, action, target, detail, address FROM audit_log WHERE {where} "  # noqa: S608
            "ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    return total, [dict(r) for r in rows]
