"""The roles a person or token acts with, each allowed what the one before it is, and more.

`viewer`: the pages and every read. `csm`: also records events. `admin`: also people, tokens and the audit log.
"""

from __future__ import annotations

ROLES = ("viewer", "csm", "admin")


class RoleError(ValueError):
    """A role that is not one of ROLES."""


def checked_role(role: str) -> str:
    """Return the role if it is one of ROLES; else raise RoleError naming them."""
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def role_allows(role: str, needed: str) -> bool:
    """Tell whether `role` may do what `needed` may."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)
