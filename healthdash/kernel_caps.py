"""How many page kernels may run: in all, and per client (address), so that anonymous visitors cannot exhaust memory.

Every page view holds a kernel process (about 125 MB) until the page closes or the kernel is culled. A page request
reserves a place before its kernel starts; the place becomes the kernel's once the page names it, and is given back
when the kernel is gone or the request ended without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class KernelCaps:
    """The page kernels running or starting, by client."""

    max_kernels: int = 8
    max_per_client: int = 4
    pending: dict[int, str] = field(default_factory=dict)  # reservation -> client
    kernels: dict[str, str] = field(default_factory=dict)  # kernel id -> client
    _next: int = 0

    def reserve(self, client: str, alive: Iterable[str]) -> int | None:
        """Reserve a place for a page's kernel; None when the server or this client is at its cap."""
        self.forget_all_but(alive)
        mine = sum(1 for c in (*self.pending.values(), *self.kernels.values()) if c == client)
        if len(self.pending) + len(self.kernels) >= self.max_kernels or mine >= self.max_per_client:
            return None
        self._next += 1
        self.pending[self._next] = client
        return self._next

    def started(self, reservation: int, kernel_id: str) -> None:
        """The reserved place now holds this kernel."""
        client = self.pending.pop(reservation, None)
        if client is not None:
            self.kernels[kernel_id] = client

    def release(self, reservation: int) -> None:
        """Give a reservation back (the request ended without a kernel)."""
        self.pending.pop(reservation, None)

    def forget_all_but(self, alive: Iterable[str]) -> None:
        """Forget the kernels that are gone (shut down by their page, or culled)."""
        running = set(alive)
        for kernel_id in [k for k in self.kernels if k not in running]:
            del self.kernels[kernel_id]
