"""The sign-in form driven over plain HTTP, as a browser posts it: its CSRF token and cookie first, then the fields."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from tests.api.client import Reply, call
from tests.servers import RunningServer


def cookies_of(reply: Reply) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in reply.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return jar


def form(server: RunningServer) -> tuple[str, str]:
    """Open the sign-in form; return its CSRF token and the cookie that goes with it."""
    page = call(server, "GET", "/login", token=None)
    assert page.status == 200
    xsrf = re.search(rb'name="_xsrf" value="([^"]+)"', page.body)
    assert xsrf
    return xsrf[1].decode(), cookies_of(page)["_xsrf"].value


def sign_in(server: RunningServer, email: str, password: str, target: str = "") -> Reply:
    xsrf, cookie = form(server)
    fields = urlencode({"_xsrf": xsrf, "email": email, "password": password, "next": target})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"_xsrf={cookie}"}
    return call(server, "POST", "/login", raw=fields.encode(), headers=headers, token=None)
