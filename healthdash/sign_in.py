"""The sign-in and sign-out pages, and the one-time sign-in link: server-rendered forms, no script, no CDN.

A session's secret goes into an HttpOnly, SameSite=Lax cookie (Secure behind https) that lasts as long as the
session; the database keeps only its hash. Failed sign-ins are throttled per account and per address, counted in
the database so that every instance sees them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from tornado.web import HTTPError, RequestHandler

from healthdash.access import SESSION_COOKIE, Principal, SignedIn
from healthdash.access.throttle import SignInThrottle
from healthdash.api.context import ApiContext
from healthdash.error_pages import CleanErrors
from healthdash.security_headers import SecurityHeaders, new_nonce

HOME = "/voila/render/dashboard.ipynb"
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · healthdash</title>
<style nonce="{nonce}">
body{{font-family:system-ui,sans-serif;margin:4rem auto;max-width:22rem;color:#222;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}} input{{width:100%;padding:.5rem;box-sizing:border-box}}
button{{margin-top:1rem;padding:.5rem 1rem}} .error{{color:#b00020}} .quiet{{color:#666;font-size:.9rem}}
</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""
SIGN_IN_FORM = """{message}<form method="post" action="/login">{xsrf}
<input type="hidden" name="next" value="{next}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required
 value="{email}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password"
 autocomplete="current-password" required>
<button type="submit">Sign in</button></form>"""
SIGN_OUT_FORM = """<p>Signed in as {who} ({role}).</p><form method="post" action="/logout">{xsrf}
<button type="submit" name="everywhere" value="">Sign out</button>
<button type="submit" name="everywhere" value="yes">Sign out everywhere</button></form>
<p class="quiet"><a href="{home}">Back to the dashboard</a></p>"""


@dataclass(frozen=True)
class SessionCookie:
    """How the session cookie is set."""

    secure: bool = False
    max_age: float = 12 * 3600.0

    def set(self, handler: RequestHandler, secret: str) -> None:
        options: dict[str, Any] = {"httponly": True, "samesite": "Lax", "path": "/", "secure": self.secure}
        handler.set_cookie(SESSION_COOKIE, secret, expires_days=self.max_age / 86400, **options)

    def clear(self, handler: RequestHandler) -> None:
        handler.clear_cookie(SESSION_COOKIE, path="/")


def safe_next(target: str | None) -> str:
    """Return where to go after signing in: a path of this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target


class FormPage(CleanErrors, SecurityHeaders):
    """A small server-rendered page with its own policy: a nonce for its style, forms posted to this server only."""

    def initialize(self, api: ApiContext, throttle: SignInThrottle, cookie: SessionCookie) -> None:
        self.api = api
        self.throttle = throttle
        self.cookie = cookie

    def render_page(self, title: str, body: str, status: int = 200) -> None:
        nonce = new_nonce()
        policy = (
            f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'"
        )
        self.set_status(status)
        self.set_header("Content-Security-Policy", policy)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(PAGE.format(title=html.escape(title), nonce=nonce, body=body))

    def address(self) -> str:
        return self.request.remote_ip or ""

    def signed_in(self, signed: SignedIn, target: str) -> None:
        self.cookie.set(self, signed.secret)
        self.redirect(safe_next(target))


class SignInPage(FormPage):
    def get(self) -> None:
        """Show the sign-in form."""
        self.form(self.get_argument("next", HOME), "", "")

    def form(self, target: str, email: str, message: str, status: int = 200) -> None:
        xsrf = self.xsrf_form_html()
        shown = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
        body = SIGN_IN_FORM.format(message=shown, xsrf=xsrf, next=html.escape(safe_next(target)),
                                   email=html.escape(email))  # fmt: skip
        self.render_page("Sign in", body, status)

    async def post(self) -> None:
        """Check the email and password; open a session and go on, or show the form again."""
        self.check_xsrf_cookie()
        email = self.get_body_argument("email", "").strip()[:254]
        password = self.get_body_argument("password", "")
        target = self.get_body_argument("next", HOME)
        people = self.api.people
        if people is None:
            raise HTTPError(404)
        wait = await self.api.run(people.sign_in_wait, email, self.address(), self.throttle)
        if wait > 0:
            self.set_header("Retry-After", str(int(wait) + 1))
            minutes = max(1, round(wait / 60))
            message = f"Too many failed sign-ins: try again in about {minutes} minute{'s' if minutes > 1 else ''}."
            await self.api.run(people.audit, email or "-", "sign_in.throttled", None, {}, self.address())
            self.form(target, email, message, 429)
            return
        signed = await self.api.run(people.sign_in, email, password, self.address())
        if signed is None:  # the audit log counts the failure, on every instance
            self.form(target, email, "Wrong email or password.", 401)
            return
        self.signed_in(signed, target)


class SignOutPage(FormPage):
    async def get(self) -> None:
        """Show who is signed in, with the sign-out buttons."""
        principal = await self.current_principal()
        if principal is None:
            self.redirect("/login")
            return
        body = SIGN_OUT_FORM.format(who=html.escape(principal.actor), role=html.escape(principal.role),
                                    xsrf=self.xsrf_form_html(), home=HOME)  # fmt: skip
        self.render_page("Sign out", body)

    async def post(self) -> None:
        """End this session, or every session of its person; then show the sign-in form."""
        self.check_xsrf_cookie()
        principal = await self.current_principal()
        if principal is not None and self.api.people is not None:
            everywhere = self.get_body_argument("everywhere", "") == "yes"
            await self.api.run(self.api.people.sign_out, principal, self.address(), everywhere)
        self.api.access.forget()
        self.cookie.clear(self)
        self.redirect("/login")

    async def current_principal(self) -> Principal | None:
        secret = self.get_cookie(SESSION_COOKIE)
        if not secret:
            return None
        credentials = self.api.access.credentials({}, secret, self.address())
        return await self.api.access.identify(credentials)


class LinkLanding(FormPage):
    """The server's root: with `?token=` a one-time sign-in link (as Jupyter prints one); else the dashboard."""

    async def get(self) -> None:
        """Redeem a sign-in link, or go to the dashboard."""
        secret = self.get_argument("token", "")
        people = self.api.people
        if secret and people is not None:
            signed = await self.api.run(people.redeem_link, secret, self.address())
            if signed is None:
                self.form_expired()
                return
            self.signed_in(signed, HOME)
            return
        self.redirect(HOME)

    def form_expired(self) -> None:
        body = '<p class="error">This sign-in link is used or expired.</p><p><a href="/login">Sign in</a></p>'
        self.render_page("Sign in", body, 401)


def sign_in_routes(api: ApiContext, throttle: SignInThrottle, cookie: SessionCookie) -> list[Any]:
    """Return the routes of the sign-in pages and the root."""
    options = {"api": api, "throttle": throttle, "cookie": cookie}
    return [
        (r"/login", SignInPage, options),
        (r"/logout", SignOutPage, options),
        (r"/?", LinkLanding, options),
    ]
