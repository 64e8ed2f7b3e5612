"""Errors as RFC 9457 problem details (`application/problem+json`), and the status of each refusal of a write."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from healthdash.recording import EventRejected, KeyReused, Refusal

STATUS_OF: dict[Refusal, int] = {"invalid": 422, "conflict": 409}


class Problem(Exception):
    """An error to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def document(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready document."""
        title = HTTPStatus(self.status).phrase
        body: dict[str, Any] = {
            "type": "about:blank",  # the status code says it all; `detail` says what exactly
            "title": title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def refused(exc: EventRejected | KeyReused) -> Problem:
    """Answer a write that the stored data refuses: 409 for a record no longer in the state it needs, else 422."""
    if isinstance(exc, KeyReused):
        detail = "this Idempotency-Key came with another batch before; send a new key with a new batch"
        return Problem(422, detail, errors=[{"field": "Idempotency-Key", "message": detail}])
    return Problem(STATUS_OF[exc.kind], str(exc), errors=[{"field": exc.field, "message": str(exc)}])
