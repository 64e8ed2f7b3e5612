"""Entity tags of response bodies, computed once per body.

Tornado tags every GET answer with a hash of its body, at each request. The answers read most (the dashboard, pages
of the list, a customer's health read again) are the same bytes object many times over, kept with the score board's
snapshot: their tag is kept beside them, found by identity, so that a body read a thousand times is hashed once.
"""

from __future__ import annotations

import hashlib

KEPT = 64  # bodies whose tags are kept (each held alive while kept)


class EntityTags:
    """The tags of recently sent bodies, by identity; the oldest forgotten beyond `kept`."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._tags: dict[int, tuple[bytes, str]] = {}

    def tag(self, body: bytes) -> str:
        """Return the body's entity tag (quoted, as Tornado computes it)."""
        found = self._tags.get(id(body))
        if found is not None and found[0] is body:
            return found[1]
        tag = f'"{hashlib.sha1(body).hexdigest()}"'  # a tag, not a secret
        if len(self._tags) >= self.kept:
            del self._tags[next(iter(self._tags))]
        self._tags[id(body)] = (body, tag)
        return tag
