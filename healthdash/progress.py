"""A progress bar with an estimate of the time left, for long commands (on stderr)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

QUIET_SECONDS = 5.0  # between lines when the stream is not a terminal


def format_duration(seconds: float) -> str:
    """Return a duration as 42s, 3m05s or 1h02m."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Track work done against an estimated total and show it with the time left."""

    def __init__(
        self,
        total: float,
        label: str,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        width: int = 30,
    ) -> None:
        self.total = max(total, 1e-9)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.width = width
        self.done = 0.0
        self.note = ""
        self.started = clock()
        self._shown = -QUIET_SECONDS
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, units: float, note: str | None = None) -> None:
        """Record that more work is done, and show it."""
        self.done = min(self.total, self.done + units)
        if note is not None:
            self.note = note
        now = self.clock()
        if self._live or now - self._shown >= QUIET_SECONDS:
            self._shown = now
            self._write(self.line(now))

    def finish(self, note: str) -> None:
        """Show the final line."""
        self.done = self.total
        self.note = note
        self._write(self.line(self.clock()))
        if self._live:
            self.stream.write("\n")
        self.stream.flush()

    def line(self, now: float) -> str:
        """Return the progress line: label, bar, percentage, elapsed time, time left and the note."""
        share = self.done / self.total
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = now - self.started
        if share >= 1:
            left = "done"
        elif share > 0:
            left = f"about {format_duration(elapsed * (1 - share) / share)} left"
        else:
            left = "estimating"
        return f"{self.label} [{bar}] {share:4.0%}  {format_duration(elapsed)} elapsed, {left}  {self.note}".rstrip()

    def _write(self, line: str) -> None:
        if self._live:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
