"""The server's identity provider: Jupyter's hook through which Voila's pages, the kernels' websockets and every
other Jupyter handler learn who a request is from. It asks the same authenticator as the API handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.web import HTTPError, RequestHandler

from healthdash.access import SESSION_COOKIE, Authenticator, Principal, ProxyRefused
from healthdash.api.problem import Problem


@dataclass
class PersonUser(User):
    """Jupyter's user, carrying the principal it was made from."""

    principal: Principal | None = None


class HealthdashIdentity(IdentityProvider):
    """Sessions, tokens or the trusted proxy's header, through `healthdash.access.Authenticator`."""

    @property
    def authenticator(self) -> Authenticator:
        server: Any = self.parent  # the HealthdashServer that made this provider
        access: Authenticator = server.api_context.access
        return access

    async def get_user(self, handler: RequestHandler) -> PersonUser | None:
        """Return the user of a request, None for nobody (pages then go to the sign-in page, websockets get 403)."""
        access = self.authenticator
        credentials = access.credentials(handler.request.headers, handler.get_cookie(SESSION_COOKIE),
                                         handler.request.remote_ip)  # fmt: skip
        try:
            principal = await access.identify(credentials)
        except ProxyRefused:
            raise HTTPError(403, "the user header is accepted only from the trusted proxies") from None
        except Problem as exc:  # the database did not answer within the deadline
            raise HTTPError(exc.status, exc.detail) from None
        if principal is None:
            return None
        return PersonUser(username=principal.actor, name=principal.name, principal=principal)

    def get_handlers(self) -> list[Any]:
        """None of Jupyter's: the app's sign-in and sign-out pages are its own (`healthdash.sign_in`)."""
        return []

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True


class KernelOwners(Authorizer):
    """A page's kernel (its websocket, its REST resource, its shutdown) is its visitor's, or an admin's."""

    def is_authorized(self, handler: RequestHandler, user: Any, action: str, resource: str) -> bool:
        principal = principal_of(user)
        if principal is None:
            return False
        if resource != "kernels" or principal.role == "admin":
            return True
        tokens = handler.settings.get("healthdash_page_tokens")
        kernel_id = getattr(handler, "kernel_id", None) or handler.path_kwargs.get("kernel_id")
        owner = tokens.owner(str(kernel_id)) if tokens is not None and kernel_id else None
        return owner is None or owner == principal.actor


def principal_of(user: Any) -> Principal | None:
    """Return the principal of a handler's current user (None for nobody)."""
    return user.principal if isinstance(user, PersonUser) else None
