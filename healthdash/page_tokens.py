"""The tokens that pages' kernels call the API with, each bound to its visitor (and their session): handed to the
kernel with the page's request, revoked once the kernel is gone (or the session ends, or they expire). And whose
each page's kernel is: only its visitor (or an admin) may reach it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger("healthdash")
SWEEP_SECONDS = 5.0  # how often tokens of kernels that are gone are revoked
HEADER = "X-Healthdash-Page-Token"  # how the token reaches the kernel: Voila copies it into the kernel's environment
ROLE_HEADER = "X-Healthdash-Role"  # and the role the page is shown for


class PageTokens:
    """Which page token each kernel holds, and the revocation of those whose kernel has gone."""

    def __init__(self, revoke: Callable[[list[int]], Awaitable[None]]) -> None:
        self._revoke = revoke
        self._by_kernel: dict[str, int] = {}
        self._orphans: list[int] = []
        self._owners: dict[str, str] = {}

    def owned(self, kernel_id: str, actor: str) -> None:
        """Note whose page a kernel serves."""
        self._owners[kernel_id] = actor

    def owner(self, kernel_id: str) -> str | None:
        """Return whose page a kernel serves (None: a kernel not handed to anyone yet)."""
        return self._owners.get(kernel_id)

    def held(self, kernel_id: str, token_id: int) -> None:
        self._by_kernel[kernel_id] = token_id

    def unused(self, token_id: int) -> None:
        """A token whose page never got a kernel: revoked at the next sweep."""
        self._orphans.append(token_id)

    @property
    def kernels(self) -> set[str]:
        return set(self._by_kernel)

    async def sweep(self, running: Iterable[str]) -> int:
        """Revoke the tokens of kernels no longer running (and the unused ones); return how many."""
        alive = set(running)
        for kernel in [k for k in self._owners if k not in alive]:
            del self._owners[kernel]
        gone = [kernel for kernel in self._by_kernel if kernel not in alive]
        orphans = list(self._orphans)
        tokens = [self._by_kernel[k] for k in gone] + orphans
        if not tokens:
            return 0
        try:
            await self._revoke(tokens)
        except Exception as exc:  # the database is away: tried again at the next sweep
            log.warning("page tokens of closed pages not revoked yet: %s", str(exc).splitlines()[0])
            return 0
        for kernel in gone:
            self._by_kernel.pop(kernel, None)
        del self._orphans[: len(orphans)]
        return len(tokens)
