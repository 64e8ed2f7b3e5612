"""Who a request is from, in every mode: a session cookie or a bearer token (built-in accounts), a header a trusted
proxy sets (single sign-on), or nobody in particular (a loopback demo).

The pages, their kernels' websockets and the API all ask this one object (through the server's identity provider
and the API handlers). Answers are kept a few seconds, so that a page full of requests costs one database lookup,
and a revoked session or token stops working within CACHE_SECONDS on every instance.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from healthdash.access.people import People, PeopleError
from healthdash.access.principal import Principal

T = TypeVar("T")
Mode = Literal["builtin", "proxy", "none"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CACHE_SECONDS = 4.0
CACHE_SIZE = 10_000
SESSION_COOKIE = "healthdash-session"
OPEN = Principal("anyone on this machine", "admin", "open")


class ProxyRefused(Exception):
    """A request carries the proxy's user header but does not come from a trusted proxy."""


@dataclass(frozen=True)
class Credentials:
    """What a request presents: its Authorization header, session cookie, peer address and the proxy's header."""

    authorization: str | None
    session: str | None
    address: str
    proxy_user: str | None = None


@dataclass
class Authenticator:
    """Resolve credentials to a Principal (None: nobody the server knows)."""

    people: People | None
    run: Callable[..., Awaitable[Any]]  # runs a blocking call in the thread pool
    mode: Mode = "builtin"
    bootstrap_tokens: tuple[str, ...] = ()
    trusted_proxies: Sequence[Network] = ()
    default_role: str = "viewer"
    proxy_header: str = "X-Forwarded-Email"
    cache_seconds: float = CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)

    async def identify(self, credentials: Credentials) -> Principal | None:
        """Return who presents these credentials; raise ProxyRefused for a user header from an untrusted address."""
        if self.mode == "none":
            return OPEN
        token = bearer_token(credentials.authorization)
        if token is not None:
            return await self._token(token)
        if self.mode == "proxy":
            if credentials.proxy_user is None:
                return None
            if not self.trusted(credentials.address):
                raise ProxyRefused(credentials.address)
            return await self._cached(f"proxy {credentials.proxy_user.strip().lower()}", self._proxied, credentials)
        if credentials.session:
            return await self._cached(f"session {credentials.session}", self._people_call, "session",
                                      credentials.session)  # fmt: skip
        return None

    def credentials(self, headers: Mapping[str, str], session: str | None, address: str | None) -> Credentials:
        """Return what a request presents: its headers (Authorization, the proxy's), its session cookie, its peer."""
        proxy_user = headers.get(self.proxy_header) if self.mode == "proxy" else None
        return Credentials(headers.get("Authorization"), session, address or "", proxy_user)

    def trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)

    def forget(self) -> None:
        """Drop every kept answer (after a sign-out on this instance, say)."""
        self._cache.clear()

    async def _token(self, token: str) -> Principal | None:
        candidate = token.encode()
        if any([hmac.compare_digest(candidate, t.encode()) for t in self.bootstrap_tokens]):
            return Principal("bootstrap token", "admin", "bootstrap")
        return await self._cached(f"token {token}", self._people_call, "token", token)

    async def _cached(self, key: str, fn: Callable[..., Awaitable[Principal | None]], *args: Any) -> Principal | None:
        now = self.clock()
        kept = self._cache.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        principal = await fn(*args)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, principal)
        return principal

    async def _people_call(self, method: str, secret: str) -> Principal | None:
        if self.people is None:
            return None
        result: Principal | None = await self.run(getattr(self.people, method), secret)
        return result

    async def _proxied(self, credentials: Credentials) -> Principal | None:
        if self.people is None or credentials.proxy_user is None:
            return None
        try:
            result: Principal | None = await self.run(
                self.people.sign_in_proxied, credentials.proxy_user, self.default_role, credentials.address
            )
        except PeopleError:
            return None
        return result


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an `Authorization: Bearer <token>` header (also `token <token>`, as Jupyter sends)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() not in ("bearer", "token") or not token.strip():
        return None
    return token.strip()


def parse_networks(text: str) -> tuple[Network, ...]:
    """Parse a comma-separated list of addresses and networks (ValueError naming one that is not)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
