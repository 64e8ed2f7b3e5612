"""Passwords of the built-in accounts: hashed with argon2id, checked in constant time, never kept in clear."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024
_HASHER = PasswordHasher()  # argon2id with the library's recommended cost
# checked against when an email is unknown, so that a failed sign-in takes as long either way
_DECOY = _HASHER.hash("not a password of anyone's")


class PasswordError(ValueError):
    """A new password that is too short or too long."""


def hash_password(password: str) -> str:
    """Return the argon2id hash of a new password (PasswordError if it is too short or too long)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise PasswordError(f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters")
    return _HASHER.hash(password)


def password_matches(password: str, stored: str | None) -> bool:
    """Tell whether a password matches a stored hash (None: the account has no password)."""
    try:
        return _HASHER.verify(stored or _DECOY, password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
