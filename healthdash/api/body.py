"""A request body received piece by piece, within a size limit, so that no body is held whole before it is allowed.

The API's handlers stream their bodies (`tornado.web.stream_request_body`): the headers are judged first (token,
media type, declared length), then the body arrives here. A body over the limit is dropped as it arrives, never
kept; a refused request's body is read and dropped too, so that a client still sending it gets the answer rather than
a reset connection.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB


class RequestBody:
    """The bytes of a body received so far, kept only while they stay within `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = 0
        self._pieces = bytearray()

    def add(self, piece: bytes) -> None:
        """Take the next piece; past the limit, forget what was kept (the request is refused anyway)."""
        self.received += len(piece)
        if self.received > self.limit:
            self._pieces = bytearray()
        else:
            self._pieces += piece

    @property
    def too_large(self) -> bool:
        return self.received > self.limit

    def bytes(self) -> bytes:
        """Return the whole body (only meaningful when it is not too large)."""
        return bytes(self._pieces)


def declared_length(value: str | None) -> int | None:
    """Return a Content-Length header's value as a number, or None when it is absent or not a plain number."""
    if value is None or not value.strip().isascii() or not value.strip().isdigit():
        return None
    return int(value.strip())


def size_text(size: int) -> str:
    """Say a size as people write it: 8 MiB, 64 KiB or 1,500 bytes."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size:,} bytes"
