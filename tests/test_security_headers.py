"""The pieces of the answers' hardening that need no server: cookies, nonces, sizes, status phrases."""

from __future__ import annotations

from healthdash.api.body import size_text
from healthdash.error_pages import phrase_of
from healthdash.security_headers import cookie_options, with_nonce


def test_cookies_are_secure_only_behind_https() -> None:
    assert cookie_options(https=True) == {"samesite": "Lax", "expires_days": None, "secure": True}
    assert "secure" not in cookie_options(https=False)


def test_every_script_tag_gets_the_nonce_and_nothing_else_changes() -> None:
    html = '<script>a()</script><script src="/x.js"></script><scripts><p>&lt;script&gt;</p>'
    assert with_nonce(html, "n") == (
        '<script nonce="n">a()</script><script nonce="n" src="/x.js"></script><scripts><p>&lt;script&gt;</p>'
    )


def test_sizes_are_said_as_people_write_them() -> None:
    assert [size_text(n) for n in (8 * 1024 * 1024, 65536, 1500)] == ["8 MiB", "64 KiB", "1,500 bytes"]


def test_an_unknown_status_still_has_a_phrase() -> None:
    assert phrase_of(404) == "Not Found" and phrase_of(599) == "Error"
