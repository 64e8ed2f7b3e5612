"""Failed sign-ins, counted per account and per address: past a few in a window, further attempts are refused
until it has passed, right password or not."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

ACCOUNT_LIMIT = 5  # failures per account within the window
ADDRESS_LIMIT = 20  # failures per address within the window
WINDOW = 300.0  # seconds
MAX_KEYS = 100_000  # past this many keys the oldest are forgotten


@dataclass
class SignInThrottle:
    """Per-process counts of recent failures (each instance counts its own)."""

    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window: float = WINDOW
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)

    def retry_after(self, account: str, address: str) -> float:
        """Return how many seconds to wait before trying again (0: go ahead)."""
        now = self.clock()
        waits = [
            self._wait(f"account:{account.lower()}", self.account_limit, now),
            self._wait(f"address:{address}", self.address_limit, now),
        ]
        return max(waits)

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        if len(self._failures) >= MAX_KEYS:
            self._failures.clear()
        for key in (f"account:{account.lower()}", f"address:{address}"):
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, account: str) -> None:
        self._failures.pop(f"account:{account.lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        recent = [t for t in self._failures.get(key, []) if now - t < self.window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return 0.0 if len(recent) < limit else recent[-limit] + self.window - now
