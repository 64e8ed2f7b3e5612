"""`HEALTHDASH_AUTH=none`: a demo on this machine, where everyone is an admin, and which serves on loopback only."""

from __future__ import annotations

import pytest

from healthdash.settings import SettingsError, load_settings
from tests.api.client import call
from tests.servers import RunningServer, start_server

PRIVATE_DATABASE = True
SERVER_ENVIRONMENT = {"HEALTHDASH_AUTH": "none"}


def test_everyone_is_an_admin_and_no_first_admin_is_made(server: RunningServer) -> None:
    me = call(server, "GET", "/api/me", token=None).json()
    assert me == {"name": "anyone on this machine", "email": None, "role": "admin", "via": "open"}
    assert call(server, "GET", "/api/audit", token=None).status == 200
    assert "sign in as the first admin" not in server.log.read_text()


def test_it_refuses_any_address_but_loopback(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> None:
    with pytest.raises(SettingsError, match="loopback address only"):
        load_settings({"HEALTHDASH_AUTH": "none", "HEALTHDASH_HOST": "0.0.0.0"})
    folder = tmp_path_factory.mktemp("exposed")
    environment = {"HEALTHDASH_AUTH": "none", "HEALTHDASH_HOST": "0.0.0.0"}
    with (
        pytest.raises(RuntimeError, match="loopback address only"),
        start_server(database_url, folder, "", environment),
    ):
        pass
