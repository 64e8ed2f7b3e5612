"""Who a request acts for: a person signed in (by session, page token, their API token or the proxy), a service's
token, or nobody in particular on a loopback demo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from healthdash.access.roles import role_allows

Via = Literal["session", "page", "token", "proxy", "bootstrap", "open"]


@dataclass(frozen=True)
class Principal:
    """The identity behind a request, and the role it acts with."""

    name: str
    role: str
    via: Via
    email: str | None = None
    user_id: int | None = None
    session_id: int | None = None
    token_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log and `recorded_by` name it: the person's email, else the token's name."""
        return self.email or self.name

    def may(self, needed: str) -> bool:
        return role_allows(self.role, needed)
