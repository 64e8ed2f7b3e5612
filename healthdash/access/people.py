"""The people who use healthdash and what they hold: accounts, sessions, API tokens, sign-in links, and the audit log
of what they did. Blocking (database) work: the server calls it from its thread pool, the command line directly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from healthdash.access.credentials import API_PREFIX, LINK_PREFIX, PAGE_PREFIX, new_secret, secret_hash
from healthdash.access.passwords import hash_password, password_matches
from healthdash.access.principal import Principal
from healthdash.access.roles import checked_role
from healthdash.access.throttle import SignInThrottle
from healthdash.clock import utc_now
from healthdash.db import people as sql

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
FIRST_ADMIN = "admin@localhost"
LINK_MINUTES = 60  # a sign-in link works once, within this time


class PeopleError(ValueError):
    """A change the people tables refuse: an unknown or taken email, a bad role or password."""


@dataclass(frozen=True)
class Lifetimes:
    """How long what is handed out lasts, in seconds."""

    session: float = 12 * 3600.0  # from sign-in
    idle: float = 3600.0  # since a session was last used
    touch: float = 60.0  # a session's or token's last use is written at most this often


@dataclass(frozen=True)
class SignedIn:
    """A new session: the cookie's secret and who it is for."""

    secret: str
    principal: Principal


class People:
    """Accounts, sessions, tokens and the audit log, over the database."""

    def __init__(self, engine: Engine, lifetimes: Lifetimes | None = None) -> None:
        self.engine = engine
        self.lifetimes = lifetimes or Lifetimes()

    # accounts

    def add_user(self, email: str, name: str, role: str, password: str | None, actor: str) -> int:
        """Create an account; return its id."""
        email = checked_email(email)
        if not name.strip():
            raise PeopleError("a name is needed")
        password_hash = None if password is None else hash_password(password)
        with self.engine.begin() as conn:
            user_id = sql.add_user(conn, email, name.strip(), checked_role(role), password_hash)
            if user_id is None:
                raise PeopleError(f"there is already an account for {email}")
            sql.audit(conn, actor, "user.add", email, {"role": role})
        return user_id

    def users(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return sql.users(conn)

    def set_role(self, email: str, role: str, actor: str) -> None:
        self._change(email, {"role": checked_role(role)}, actor, "user.set_role", {"role": role})

    def disable(self, email: str, actor: str) -> None:
        """Disable an account and end its sessions (its tokens stop working with it)."""
        with self.engine.begin() as conn:
            user = self._user(conn, email)
            sql.update_user(conn, email, {"disabled": True})
            sql.revoke_user_sessions(conn, int(user["id"]))
            sql.audit(conn, actor, "user.disable", user["email"])

    def reset_password(self, email: str, password: str, actor: str) -> None:
        """Set a new password and end the account's sessions."""
        with self.engine.begin() as conn:
            user = self._user(conn, email)
            sql.update_user(conn, email, {"password_hash": hash_password(password)})
            sql.revoke_user_sessions(conn, int(user["id"]))
            sql.audit(conn, actor, "user.reset_password", user["email"])

    def _change(self, email: str, changes: dict[str, Any], actor: str, action: str, detail: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            user = self._user(conn, email)
            sql.update_user(conn, email, changes)
            sql.audit(conn, actor, action, user["email"], detail)

    def _user(self, conn: Connection, email: str) -> dict[str, Any]:
        user = sql.user_by_email(conn, email)
        if user is None:
            raise PeopleError(f"there is no account for {email}")
        return user

    def first_start(self, public_url: str) -> str | None:
        """With no account yet, create the first admin and return a one-time sign-in link for it; else None."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE users IN EXCLUSIVE MODE")  # two instances starting: one admin
            if sql.user_count(conn) > 0:
                return None
            user_id = sql.add_user(conn, FIRST_ADMIN, "Administrator", "admin", None)
            assert user_id is not None
            sql.audit(conn, "healthdash", "user.add", FIRST_ADMIN, {"role": "admin", "first_start": True})
            secret = self._link(conn, user_id)
        return f"{public_url}/?token={secret}"

    def sign_in_link(self, email: str, public_url: str, actor: str) -> str:
        """Return a one-time sign-in link for an account (valid LINK_MINUTES)."""
        with self.engine.begin() as conn:
            user = self._user(conn, email)
            if user["disabled"]:
                raise PeopleError(f"the account of {email} is disabled")
            secret = self._link(conn, int(user["id"]))
            sql.audit(conn, actor, "user.sign_in_link", user["email"])
        return f"{public_url}/?token={secret}"

    def _link(self, conn: Connection, user_id: int) -> str:
        secret = new_secret(LINK_PREFIX)
        expires = utc_now() + dt.timedelta(minutes=LINK_MINUTES)
        sql.add_token(conn, secret_hash(secret), kind="link", name="sign-in link", role="viewer", user_id=user_id,
                      expires_at=expires)  # fmt: skip
        return secret

    # sessions

    def sign_in(self, email: str, password: str, address: str | None) -> SignedIn | None:
        """Open a session for a matching email and password (None otherwise); audit either way."""
        with self.engine.begin() as conn:
            user = sql.user_by_email(conn, email)
            good = password_matches(password, user["password_hash"] if user else None)
            if user is None or not good or user["disabled"]:
                sql.audit(conn, email[:200] or "-", "sign_in.failed", None, {}, address)
                return None
            signed_in = self._session(conn, user, address, "password")
        return signed_in

    def sign_in_wait(self, email: str, address: str, throttle: SignInThrottle) -> float:
        """Return how many seconds to wait before a sign-in may be tried (0: go ahead), counting the failures that
        every instance recorded in the audit log."""
        actor = email[:200] or "-"  # as `sign_in` audits a failure
        with self.engine.connect() as conn:
            return sql.sign_in_wait(conn, actor, address, throttle.account_limit, throttle.address_limit,
                                    throttle.window)  # fmt: skip

    def redeem_link(self, secret: str, address: str | None) -> SignedIn | None:
        """Open a session with a one-time sign-in link (None if it is unknown, used or expired)."""
        if not secret.startswith(LINK_PREFIX):
            return None
        with self.engine.begin() as conn:
            row = sql.token_by_hash(conn, secret_hash(secret), "link")
            if row is None or row["id"] is None:
                sql.audit(conn, "-", "sign_in.failed", None, {"with": "link"}, address)
                return None
            sql.revoke_token(conn, int(row["token_id"]), "link")
            return self._session(conn, row, address, "link")

    def sign_in_proxied(self, email: str, default_role: str, address: str | None) -> Principal | None:
        """Return the person a trusted proxy vouches for, creating the account on first sight (None: disabled)."""
        email = checked_email(email)
        with self.engine.begin() as conn:
            user = sql.user_by_email(conn, email)
            if user is None:
                name = email.split("@", 1)[0]
                sql.add_user(conn, email, name, default_role, None)
                sql.audit(conn, email, "user.add", email, {"role": default_role, "via": "proxy"}, address)
                user = sql.user_by_email(conn, email)
                assert user is not None
            if user["disabled"]:
                return None
        return Principal(user["name"], user["role"], "proxy", user["email"], int(user["id"]))

    def _session(self, conn: Connection, user: dict[str, Any], address: str | None, how: str) -> SignedIn:
        secret = new_secret("")
        expires = utc_now() + dt.timedelta(seconds=self.lifetimes.session)
        session_id = sql.add_session(conn, secret_hash(secret), int(user["id"]), expires, address)
        sql.audit(conn, user["email"], "sign_in", None, {"with": how}, address)
        principal = Principal(user["name"], user["role"], "session", user["email"], int(user["id"]), session_id)
        return SignedIn(secret, principal)

    def session(self, secret: str) -> Principal | None:
        """Return who a live session is for (None: unknown, ended, expired or idle); note its use."""
        with self.engine.begin() as conn:
            row = sql.session_by_hash(conn, secret_hash(secret), self.lifetimes.idle)
            if row is None:
                return None
            if (utc_now() - row["last_seen_at"]).total_seconds() > self.lifetimes.touch:
                sql.touch_session(conn, int(row["session_id"]))
        return Principal(row["name"], row["role"], "session", row["email"], int(row["id"]), int(row["session_id"]))

    def sign_out(self, principal: Principal, address: str | None, everywhere: bool = False) -> None:
        """End the principal's session, or every session of the person."""
        with self.engine.begin() as conn:
            if everywhere and principal.user_id is not None:
                sql.revoke_user_sessions(conn, principal.user_id)
            elif principal.session_id is not None:
                sql.revoke_session(conn, principal.session_id)
            action = "sign_out.everywhere" if everywhere else "sign_out"
            sql.audit(conn, principal.actor, action, None, {}, address)

    # tokens

    def create_token(self, name: str, role: str, user_email: str | None, actor: str) -> tuple[int, str]:
        """Create an API token for a service (acting with `role`) or a person (acting with theirs); return its id
        and the token, which is not kept and cannot be shown again."""
        if not name.strip():
            raise PeopleError("a token needs a name")
        secret = new_secret(API_PREFIX)
        with self.engine.begin() as conn:
            user_id = None
            if user_email is not None:
                user = self._user(conn, user_email)
                user_id, role = int(user["id"]), user["role"]
            token_id = sql.add_token(conn, secret_hash(secret), kind="api", name=name.strip(), role=checked_role(role),
                                     user_id=user_id)  # fmt: skip
            sql.audit(conn, actor, "token.create", f"token {token_id}", {"name": name.strip(), "role": role})
        return token_id, secret

    def tokens(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return sql.tokens(conn)

    def revoke_token(self, token_id: int, actor: str) -> None:
        with self.engine.begin() as conn:
            if not sql.revoke_token(conn, token_id):
                raise PeopleError(f"there is no live API token with id {token_id}")
            sql.audit(conn, actor, "token.revoke", f"token {token_id}")

    def token(self, secret: str) -> Principal | None:
        """Return who an API or page token acts for (None: unknown, revoked or expired); note its use."""
        kind = "page" if secret.startswith(PAGE_PREFIX) else "api"
        with self.engine.begin() as conn:
            row = sql.token_by_hash(conn, secret_hash(secret), kind)
            if row is None:
                return None
            last = row["last_used_at"]
            if last is None or (utc_now() - last).total_seconds() > self.lifetimes.touch:
                sql.touch_token(conn, int(row["token_id"]))
        if row["id"] is None:  # a service's token
            return Principal(row["token_name"], row["token_role"], "token", token_id=int(row["token_id"]))
        session_id = None if row["session_id"] is None else int(row["session_id"])
        user = (row["name"], row["role"])
        if kind == "page":
            return Principal(*user, "page", row["email"], int(row["id"]), session_id, int(row["token_id"]))
        return Principal(*user, "token", row["email"], int(row["id"]), session_id, int(row["token_id"]))

    def page_token(self, principal: Principal) -> tuple[int, str]:
        """Create the token a page's kernel calls the API with as its visitor, bound to the visitor's session."""
        if principal.user_id is None:
            raise PeopleError("a page token is for a person")
        secret = new_secret(PAGE_PREFIX)
        expires = utc_now() + dt.timedelta(seconds=self.lifetimes.session)
        with self.engine.begin() as conn:
            token_id = sql.add_token(conn, secret_hash(secret), kind="page", name=f"page of {principal.actor}",
                                     role=principal.role, user_id=principal.user_id, session_id=principal.session_id,
                                     expires_at=expires)  # fmt: skip
        return token_id, secret

    def revoke_page_tokens(self, token_ids: list[int]) -> None:
        with self.engine.begin() as conn:
            for token_id in token_ids:
                sql.revoke_token(conn, token_id, "page")

    def owned_customers(self, principal: Principal) -> list[int]:
        """Return the ids of the customers a person owns (their `owner` is the person's email or name)."""
        if principal.user_id is None and principal.email is None:
            return []
        with self.engine.connect() as conn:
            return sql.owned_customers(conn, principal.email, principal.name)

    # audit

    def audit(self, actor: str, action: str, target: str | None, detail: dict[str, Any], address: str | None) -> None:
        with self.engine.begin() as conn:
            sql.audit(conn, actor, action, target, detail, address)

    def audit_entries(
        self, actor: str | None, since: dt.datetime | None, until: dt.datetime | None, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return sql.audit_entries(conn, actor, since, until, limit, offset)


def checked_email(email: str) -> str:
    email = email.strip()
    if not EMAIL.match(email):
        raise PeopleError(f"{email[:80]!r} is not an email address")
    return email
