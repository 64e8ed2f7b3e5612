"""Bootstrap tokens: from HEALTHDASH_API_TOKENS, or one generated on first start and kept in the data directory."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

TOKEN_FILE = "api-token"


def write_tokens(configured: tuple[str, ...], data_dir: Path) -> tuple[tuple[str, ...], bool]:
    """Return the bootstrap tokens (acting as an admin), and whether they were generated (rather than configured)."""
    if configured:
        return configured, False
    path = data_dir / TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # write the whole token aside, then link it into place: a process starting at the same moment either
        # wins the link or reads the complete token of the one that did
        fd, staging = tempfile.mkstemp(dir=data_dir, prefix=".api-token-")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(staging, path)
        finally:
            os.unlink(staging)
    return (path.read_text(encoding="ascii").strip(),), True
