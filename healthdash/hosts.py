"""The names this server answers to (`healthdash.gate` refuses a request for any other Host before any handler).

A page in a browser can be made to talk to this server under a name an attacker controls (DNS rebinding): the
browser then sends that name as Host, and the same-origin checks (the kernel websocket's included) compare with it.
Answering only to the names the server is known by closes that door. Requests without a Host header (HTTP/1.0
health checks) come from no browser and are answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ANY = "*"


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """Say whether a request's Host header names this server (a request without one comes from no browser)."""
    return header is None or ANY in allowed or host_name(header) in allowed


def host_name(header: str) -> str:
    """Return the name in a Host header, without port, brackets or a final dot, in lower case."""
    text = header.strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    name = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return name.rstrip(".")


def allowed_hosts(public_url: str | None, bound_host: str, configured: Iterable[str]) -> frozenset[str]:
    """Return the names to answer to: loopback, the public URL's host, the address bound to and the configured ones."""
    names = set(LOOPBACK_NAMES)
    if public_url:
        names.add(host_name(urlsplit(public_url).netloc.rsplit("@", 1)[-1]))
    if bound_host not in ("", "0.0.0.0", "::", "*"):
        names.add(host_name(f"[{bound_host}]" if ":" in bound_host else bound_host))
    names.update(ANY if name.strip() == ANY else host_name(name) for name in configured if name.strip())
    return frozenset(names)
