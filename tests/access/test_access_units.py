"""The small parts of access control: roles, passwords, secrets, bearer headers, proxies' networks, and
the page tokens' sweep."""

from __future__ import annotations

import asyncio

import pytest

from healthdash.access.authenticator import OPEN, Authenticator, Credentials, ProxyRefused, bearer_token, parse_networks
from healthdash.access.credentials import API_PREFIX, new_secret, secret_hash
from healthdash.access.passwords import PasswordError, hash_password, password_matches
from healthdash.access.roles import RoleError, checked_role, role_allows
from healthdash.page_tokens import PageTokens
from healthdash.settings import SettingsError, load_settings


def test_each_role_may_what_the_one_below_may() -> None:
    assert role_allows("admin", "csm") and role_allows("csm", "viewer") and role_allows("viewer", "viewer")
    assert not role_allows("viewer", "csm") and not role_allows("csm", "admin")
    assert not role_allows("owner", "viewer")
    with pytest.raises(RoleError, match="viewer, csm, admin"):
        checked_role("owner")


def test_passwords_are_hashed_with_argon2id_and_checked() -> None:
    stored = hash_password("a long enough password")
    assert stored.startswith("$argon2id$") and "a long enough" not in stored
    assert password_matches("a long enough password", stored)
    assert not password_matches("a long enough passworD", stored)
    assert not password_matches("anything at all", None)  # no password: never matches, in the same time
    assert not password_matches("anything at all", "not a hash")
    with pytest.raises(PasswordError, match="10 to 1024"):
        hash_password("short")


def test_secrets_say_what_they_are_and_only_their_hash_is_kept() -> None:
    one, two = new_secret(API_PREFIX), new_secret(API_PREFIX)
    assert one.startswith("hd_") and one != two and len(one) > 40
    assert secret_hash(one) == secret_hash(one) != secret_hash(two)
    assert len(secret_hash(one)) == 64


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("token abc", "abc"), ("Basic abc", None), ("Bearer", None),
     (None, None), ("abc", None)],
)  # fmt: skip
def test_a_bearer_header_gives_its_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_the_proxy_s_header_counts_only_from_its_networks() -> None:
    async def run(fn, *args):  # type: ignore[no-untyped-def]
        return fn(*args)

    access = Authenticator(None, run, mode="proxy", trusted_proxies=parse_networks("10.0.0.0/8, ::1"))
    assert access.trusted("10.1.2.3") and access.trusted("::1")
    assert not access.trusted("192.168.0.1") and not access.trusted("not an address")
    forged = access.credentials({"X-Forwarded-Email": "a@b.c"}, None, "192.168.0.1")
    with pytest.raises(ProxyRefused):
        asyncio.run(access.identify(forged))
    assert asyncio.run(access.identify(access.credentials({}, None, "192.168.0.1"))) is None
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        parse_networks("10.0.0.0/8, nonsense")


def test_without_authentication_everyone_is_the_open_principal_and_bootstrap_tokens_act_as_admins() -> None:
    async def run(fn, *args):  # type: ignore[no-untyped-def]
        return fn(*args)

    assert asyncio.run(Authenticator(None, run, mode="none").identify(Credentials(None, None, "127.0.0.1"))) is OPEN
    builtin = Authenticator(None, run, bootstrap_tokens=("a bootstrap token",))
    bootstrap = asyncio.run(builtin.identify(Credentials("Bearer a bootstrap token", None, "127.0.0.1")))
    assert bootstrap is not None and bootstrap.role == "admin" and bootstrap.via == "bootstrap"
    assert asyncio.run(builtin.identify(Credentials("Bearer another", "a session", "127.0.0.1"))) is None
    assert asyncio.run(builtin.identify(Credentials(None, "a session", "127.0.0.1"))) is None


def test_settings_of_access_are_checked() -> None:
    assert load_settings({}).auth == "builtin"
    with pytest.raises(SettingsError, match="HEALTHDASH_AUTH must be one of builtin, proxy, none"):
        load_settings({"HEALTHDASH_AUTH": "ldap"})
    with pytest.raises(SettingsError, match="loopback address only"):
        load_settings({"HEALTHDASH_AUTH": "none", "HEALTHDASH_HOST": "0.0.0.0"})
    assert load_settings({"HEALTHDASH_AUTH": "none"}).auth == "none"
    with pytest.raises(SettingsError, match="needs HEALTHDASH_TRUSTED_PROXIES"):
        load_settings({"HEALTHDASH_AUTH": "proxy"})
    with pytest.raises(SettingsError, match=r"'10\.0\.0\.300' is not an address or network"):
        load_settings({"HEALTHDASH_AUTH": "proxy", "HEALTHDASH_TRUSTED_PROXIES": "10.0.0.300"})
    with pytest.raises(SettingsError, match="HEALTHDASH_DEFAULT_ROLE must be one of"):
        load_settings({"HEALTHDASH_DEFAULT_ROLE": "owner"})
    proxied = load_settings({"HEALTHDASH_AUTH": "proxy", "HEALTHDASH_TRUSTED_PROXIES": "10.0.0.0/8"})
    assert proxied.trusted_proxies == ("10.0.0.0/8",)


def test_page_tokens_are_revoked_once_their_kernel_has_gone() -> None:
    revoked: list[list[int]] = []
    failing = [True]

    async def revoke(ids: list[int]) -> None:
        if failing[0]:
            raise OSError("the database is away")
        revoked.append(ids)

    tokens = PageTokens(revoke)
    tokens.held("kernel-a", 1)
    tokens.held("kernel-b", 2)
    tokens.unused(3)
    assert asyncio.run(tokens.sweep(["kernel-a"])) == 0  # the database is away: kept for the next sweep
    failing[0] = False
    assert asyncio.run(tokens.sweep(["kernel-a"])) == 2
    assert revoked == [[2, 3]] and tokens.kernels == {"kernel-a"}
    assert asyncio.run(tokens.sweep(["kernel-a"])) == 0
