"""Write tokens: from HEALTHDASH_API_TOKENS, or one generated on first start and kept in the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TOKEN_FILE = "api-token"


def write_tokens(configured: tuple[str, ...], data_dir: Path) -> tuple[tuple[str, ...], bool]:
    """Return the tokens that authorise writes, and whether they were generated (rather than configured)."""
    if configured:
        return configured, False
    path = data_dir / TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text(encoding="ascii").strip()
    else:
        token = secrets.token_urlsafe(32)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
    return (token,), True
