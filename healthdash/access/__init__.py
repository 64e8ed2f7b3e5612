"""Who may use healthdash and how: accounts and roles, sessions and tokens, the audit log, and the authenticator
that the pages, the kernels' websockets and the API share."""

from healthdash.access.authenticator import SESSION_COOKIE, Authenticator, Credentials, ProxyRefused
from healthdash.access.people import Lifetimes, People, PeopleError, SignedIn
from healthdash.access.principal import Principal
from healthdash.access.roles import ROLES, RoleError

__all__ = [
    "ROLES",
    "SESSION_COOKIE",
    "Authenticator",
    "Credentials",
    "Lifetimes",
    "People",
    "PeopleError",
    "Principal",
    "ProxyRefused",
    "RoleError",
    "SignedIn",
]
