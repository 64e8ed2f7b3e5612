"""deploy/haproxy.cfg run outside Docker, for the tests that put it in front of real servers."""

from __future__ import annotations

import re

from tests.servers import RunningServer


def local_config(shipped: str, listening_fd: int, servers: list[RunningServer], source: str | None = None) -> str:
    """Return the shipped configuration with its Docker specifics replaced: a socket handed over and fixed servers
    (reached from the address `source` when given, as from HAProxy's own address in Docker)."""
    replacements = [
        ("bind :8080", f"bind fd@{listening_fd}"),
        (" resolvers docker init-addr none", ""),
    ]
    for old, new in replacements:
        assert shipped.count(old) == 1, f"deploy/haproxy.cfg changed: update this test ({old!r})"
        shipped = shipped.replace(old, new)
    origin = f" source {source}" if source else ""
    lines = "".join(f"    server app{n} {s.url.removeprefix('http://')}{origin}\n" for n, s in enumerate(servers, 1))
    shipped, count = re.subn(r"^    server-template .*\n", lines, shipped, flags=re.MULTILINE)
    assert count == 1
    return shipped
