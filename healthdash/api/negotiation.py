"""Content negotiation: which of the media types an endpoint answers in the request's Accept header prefers."""

from __future__ import annotations

import math

from healthdash.api.problem import Problem


def negotiated(accept: str | None, offered: tuple[str, ...]) -> str:
    """Return the offered media type the Accept header prefers (the first offered on a tie); 406 for none."""
    if accept is None or not accept.strip():
        return offered[0]
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]

    def quality(media: str) -> float:
        kind = media.split("/")[0]
        matching = [(pattern.count("*"), q) for pattern, q in ranges if pattern in (media, f"{kind}/*", "*/*")]
        return min(matching)[1] if matching else 0.0  # the most specific range that matches decides

    best = max(offered, key=quality)
    if quality(best) <= 0:
        raise Problem(406, f"this endpoint answers {' or '.join(offered)}; the Accept header asks for neither")
    return best


def _media_range(text: str) -> tuple[str, float]:
    """Read one range of an Accept header: its media type (lower case) and weight (1 unless given; bad ones too)."""
    media, *parameters = (part.strip() for part in text.split(";"))
    given = [value for name, _, value in (p.partition("=") for p in parameters) if name.strip().lower() == "q"]
    try:
        q = float(given[0]) if given else 1.0
    except ValueError:
        q = 1.0
    return media.lower(), min(max(q, 0.0), 1.0) if math.isfinite(q) else 1.0
