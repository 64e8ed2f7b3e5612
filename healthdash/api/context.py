"""What the API handlers share: the service, the score board, the thread pool and the write tokens."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from healthdash.scoreboard import ScoreBoard
from healthdash.service import HealthService

T = TypeVar("T")


@dataclass
class ApiContext:
    """Per-process state of the API."""

    service: HealthService
    board: ScoreBoard
    executor: ThreadPoolExecutor
    tokens: tuple[str, ...]

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking (database) work in the thread pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def token_is_valid(self, presented: str) -> bool:
        """Compare a presented token with every configured one in constant time."""
        candidate = presented.encode()
        matches = [hmac.compare_digest(candidate, token.encode()) for token in self.tokens]
        return any(matches)
