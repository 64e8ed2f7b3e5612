"""The sign-in page, sign-out and one-time sign-in links over HTTP: forms with a CSRF token and a strict policy,
cookies that scripts cannot read, throttled guessing, and sessions that end."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from healthdash.access import SESSION_COOKIE
from tests.api.client import call
from tests.forms import cookies_of, form, sign_in
from tests.people import PASSWORD, ensure_person, people_of
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # signs people in and out, and throttles an address


def test_the_sign_in_page_is_a_plain_form_under_a_strict_policy(server: RunningServer) -> None:
    page = call(server, "GET", "/login?next=/voila/render/customers.ipynb", token=None)
    text = page.body.decode()
    assert '<form method="post" action="/login">' in text
    assert 'value="/voila/render/customers.ipynb"' in text
    assert "<script" not in text and "https://" not in text
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "form-action 'self'" in policy and "script-src" not in policy
    assert page.headers["Cache-Control"] == "no-store"


def test_signing_in_sets_a_cookie_scripts_cannot_read_and_goes_where_asked(
    server: RunningServer, database_url: str
) -> None:
    email = ensure_person(database_url, "csm", "signs.in@example.com")
    reply = sign_in(server, email, PASSWORD, target="/voila/render/customers.ipynb")
    assert reply.status == 302
    assert reply.headers["Location"] == "/voila/render/customers.ipynb"
    cookie = cookies_of(reply)[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # the public address is plain http here
    me = call(server, "GET", "/api/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie.value}"}, token=None)
    assert me.json()["email"] == email and me.json()["via"] == "session"


def test_a_sign_in_never_sends_the_visitor_to_another_site(server: RunningServer, database_url: str) -> None:
    email = ensure_person(database_url, "viewer", "goes.home@example.com")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        assert sign_in(server, email, PASSWORD, target=target).headers["Location"] == "/voila/render/dashboard.ipynb"


def test_a_form_without_its_csrf_token_is_refused(server: RunningServer, database_url: str) -> None:
    email = ensure_person(database_url, "viewer", "no.csrf@example.com")
    fields = urlencode({"email": email, "password": PASSWORD}).encode()
    reply = call(server, "POST", "/login", raw=fields, token=None,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert reply.status == 403
    assert SESSION_COOKIE not in cookies_of(reply)


def test_wrong_passwords_are_refused_then_throttled_and_audited(server: RunningServer, database_url: str) -> None:
    email = ensure_person(database_url, "csm", "guessed@example.com")
    for _ in range(5):
        wrong = sign_in(server, email, "not the password")
        assert wrong.status == 401
        assert "Wrong email or password." in wrong.body.decode()
        assert SESSION_COOKIE not in cookies_of(wrong)
    throttled = sign_in(server, email, PASSWORD)  # even the right one, until the window has passed
    assert throttled.status == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in throttled.body.decode()
    with people_of(database_url) as people:
        _, entries = people.audit_entries(email, None, None, 100, 0)
    actions = [e["action"] for e in entries]
    assert actions.count("sign_in.failed") == 5 and "sign_in.throttled" in actions and "sign_in" not in actions


def test_signing_out_ends_the_session_and_everywhere_ends_them_all(server: RunningServer, database_url: str) -> None:
    email = ensure_person(database_url, "viewer", "leaves@example.com")
    first, second = (cookies_of(sign_in(server, email, PASSWORD))[SESSION_COOKIE].value for _ in range(2))

    def reads(secret: str) -> int:
        return call(server, "GET", "/api/me", headers={"Cookie": f"{SESSION_COOKIE}={secret}"}, token=None).status

    assert reads(first) == 200 and reads(second) == 200
    page = call(server, "GET", "/logout", headers={"Cookie": f"{SESSION_COOKIE}={first}"}, token=None)
    assert "Sign out everywhere" in page.body.decode() and email in page.body.decode()
    xsrf, cookie = form(server)
    out = call(
        server,
        "POST",
        "/logout",
        raw=f"_xsrf={xsrf}&everywhere=yes".encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"_xsrf={cookie}; {SESSION_COOKIE}={first}",
        },
        token=None,
    )
    assert out.status == 302 and out.headers["Location"] == "/login"
    assert cookies_of(out)[SESSION_COOKIE].value == ""
    assert reads(first) == 401 and reads(second) == 401


def test_a_sign_in_link_works_once(server: RunningServer, database_url: str) -> None:
    email = ensure_person(database_url, "admin", "linked@example.com")
    with people_of(database_url) as people:
        link = people.sign_in_link(email, server.url, "tests")
    assert link.startswith(f"{server.url}/?token=hdl_")
    path = link[len(server.url) :]
    used = call(server, "GET", path, token=None)
    assert used.status == 302 and used.headers["Location"] == "/voila/render/dashboard.ipynb"
    assert cookies_of(used)[SESSION_COOKIE].value
    again = call(server, "GET", path, token=None)
    assert again.status == 401 and "used or expired" in again.body.decode()
    assert call(server, "GET", "/", token=None).headers["Location"] == "/voila/render/dashboard.ipynb"


def test_the_first_start_prints_a_one_time_link_that_signs_in_the_first_admin(server: RunningServer) -> None:
    printed = re.search(
        r"sign in as the first admin \(this link works once, within an hour\): (\S+)", server.log.read_text()
    )
    assert printed and printed[1].startswith(f"{server.url}/?token=hdl_")
    used = call(server, "GET", printed[1][len(server.url) :], token=None)
    assert used.status == 302
    secret = cookies_of(used)[SESSION_COOKIE].value
    me = call(server, "GET", "/api/me", headers={"Cookie": f"{SESSION_COOKIE}={secret}"}, token=None).json()
    assert (me["email"], me["role"]) == ("admin@localhost", "admin")
