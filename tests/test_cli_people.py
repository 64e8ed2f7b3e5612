"""`python -m healthdash users …` and `tokens …`: accounts and tokens managed from the command line, audited."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.access.credentials import secret_hash
from tests.people import people_of
from tests.servers import ROOT


def cli(database_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run a command over a database, its standard input not a terminal; return status, output and errors."""
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "healthdash", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_accounts_are_added_listed_changed_and_disabled(fresh_db_url: str) -> None:
    code, out, _ = cli(fresh_db_url, "users", "add", "Ana@Example.com", "--name", "Ana", "--role", "csm",
                       stdin="a long enough password\n")  # fmt: skip
    assert (code, out) == (0, "added Ana@Example.com (csm)\n")
    code, _, err = cli(
        fresh_db_url, "users", "add", "ana@example.com", "--name", "Ana again", stdin="another one 123\n"
    )
    assert code == 1 and "already an account for ana@example.com" in err
    code, _, err = cli(fresh_db_url, "users", "add", "bo@example.com", "--name", "Bo", stdin="short\n")
    assert code == 1 and "10 to 1024 characters" in err
    assert cli(fresh_db_url, "users", "set-role", "ana@example.com", "admin")[0] == 0
    code, out, _ = cli(fresh_db_url, "users", "list")
    assert re.search(r"^Ana@Example\.com\s+Ana\s+admin\s+active", out, re.M)
    with people_of(fresh_db_url) as people:
        assert people.sign_in("ana@example.com", "a long enough password", "127.0.0.1") is not None
        assert cli(fresh_db_url, "users", "reset-password", "ana@example.com", stdin="a brand new password\n")[0] == 0
        assert people.sign_in("ana@example.com", "a long enough password", "127.0.0.1") is None
        signed = people.sign_in("ana@example.com", "a brand new password", "127.0.0.1")
        assert signed is not None and people.session(signed.secret) is not None
        assert cli(fresh_db_url, "users", "disable", "ana@example.com")[0] == 0
        assert people.session(signed.secret) is None  # its sessions ended with it
        _, entries = people.audit_entries(None, None, None, 100, 0)
    actions = [e["action"] for e in entries if e["target"] == "Ana@Example.com"]
    assert actions == ["user.disable", "user.reset_password", "user.set_role", "user.add"]
    assert all(e["actor"].startswith("command line") for e in entries if e["target"] == "Ana@Example.com")


def test_a_token_is_shown_once_kept_as_a_hash_listed_and_revoked(fresh_db_url: str) -> None:
    code, secret, err = cli(fresh_db_url, "tokens", "create", "--name", "CRM sync", "--role", "csm")
    secret = secret.strip()
    assert code == 0 and secret.startswith("hd_") and "shown this once" in err
    with people_of(fresh_db_url) as people:
        principal = people.token(secret)
    assert principal is not None and (principal.name, principal.role, principal.email) == ("CRM sync", "csm", None)
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT token_hash, name FROM api_tokens")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in stored] == [(secret_hash(secret), "CRM sync")]
    code, out, _ = cli(fresh_db_url, "tokens", "list")
    assert secret not in out and re.search(r"^1\s+CRM sync\s+csm\s+\(service\).*\slive$", out, re.M)
    assert cli(fresh_db_url, "tokens", "revoke", "1")[0] == 0
    code, _, err = cli(fresh_db_url, "tokens", "revoke", "1")
    assert code == 1 and "no live API token with id 1" in err
    with people_of(fresh_db_url) as people:
        assert people.token(secret) is None


def test_a_person_s_token_acts_with_their_role_and_a_link_signs_them_in_once(fresh_db_url: str) -> None:
    cli(fresh_db_url, "users", "add", "cy@example.com", "--name", "Cy", "--role", "viewer", "--no-password")
    _, secret, _ = cli(fresh_db_url, "tokens", "create", "--name", "Cy's laptop", "--role", "admin",
                       "--user", "cy@example.com")  # fmt: skip
    code, link, _ = cli(fresh_db_url, "users", "link", "cy@example.com")
    assert code == 0 and "/?token=hdl_" in link
    with people_of(fresh_db_url) as people:
        principal = people.token(secret.strip())
        assert principal is not None and (principal.role, principal.email) == ("viewer", "cy@example.com")
        link_secret = link.strip().split("token=", 1)[1]
        assert people.redeem_link(link_secret, "127.0.0.1") is not None
        assert people.redeem_link(link_secret, "127.0.0.1") is None
