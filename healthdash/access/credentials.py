"""Secrets handed out once (session cookies, API and page tokens, sign-in links) and the hashes kept of them.

They are long random strings, so a plain SHA-256 is as good as a slow hash here; passwords are another matter
(`passwords.py`). The prefix says what a secret is, so that a token pasted in the wrong place is recognised.
"""

from __future__ import annotations

import hashlib
import secrets

API_PREFIX = "hd_"
PAGE_PREFIX = "hdp_"
LINK_PREFIX = "hdl_"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", errors="surrogatepass")).hexdigest()
