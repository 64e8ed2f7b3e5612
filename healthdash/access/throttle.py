"""Failed sign-ins, counted per account and per address: past a few in a window, further attempts are refused
until it has passed, right password or not. A sign-in clears its account's count (not its address's).

The counts are read from the audit log in PostgreSQL (`People.sign_in_wait`), which records every failure, so that
failures on one instance count on every other: spreading guesses over the instances behind a proxy gains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCOUNT_LIMIT = 5  # failures per account within the window
ADDRESS_LIMIT = 20  # failures per address within the window
WINDOW = 300.0  # seconds


@dataclass(frozen=True)
class SignInThrottle:
    """How many failed sign-ins within how many seconds stop further attempts."""

    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window: float = WINDOW
