"""docker-compose.yml and the proxy configuration, checked without a Docker engine."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import make_url

from tests.deploy.buildfiles import Dockerfile, Instruction, interpolate, parse_dockerfile, variables
from tests.deploy.conftest import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
NO_ENVIRONMENT: dict[str, str] = {}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as `docker compose config` would see it with no variables set."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    resolved: dict[str, Any] = _interpolated(raw)
    return resolved


def _interpolated(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _interpolated(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolated(v) for v in node]
    return interpolate(node, NO_ENVIRONMENT) if isinstance(node, str) else node


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"][name]
    return found


def published(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (host port, container port) for each published port."""
    pairs = []
    for entry in spec.get("ports", []):
        parts = str(entry).split(":")
        pairs.append((parts[-2], parts[-1]))
    return pairs


def volume_mounts(spec: dict[str, Any]) -> dict[str, str]:
    """Return mount target -> source for short-syntax volumes."""
    mounts = {}
    for entry in spec.get("volumes", []):
        source, target, *_ = entry.split(":")
        mounts[target] = source
    return mounts


def test_default_services_are_the_database_and_the_app(compose: dict[str, Any]) -> None:
    default = {name for name, spec in compose["services"].items() if not spec.get("profiles")}
    assert default == {"db", "app"}


def test_database_is_official_postgres_16_or_newer(compose: dict[str, Any]) -> None:
    image = service(compose, "db")["image"]
    name, _, tag = image.partition(":")
    assert name in ("postgres", "docker.io/library/postgres")
    assert int(re.match(r"\d+", tag).group()) >= 16  # type: ignore[union-attr]


def test_database_loads_the_schema_once_into_a_named_volume(compose: dict[str, Any]) -> None:
    mounts = volume_mounts(service(compose, "db"))
    data = mounts["/var/lib/postgresql/data"]
    assert data in compose["volumes"], "a named volume, not a host folder"
    (init,) = [target for target in mounts if target.startswith("/docker-entrypoint-initdb.d/")]
    assert init.endswith(".sql")
    assert (ROOT / mounts[init]).resolve() == (ROOT / "db" / "init.sql").resolve()
    (entry,) = [e for e in service(compose, "db")["volumes"] if e.split(":")[1] == init]
    assert entry.endswith(":ro")


def test_database_is_checked_with_pg_isready_over_tcp_and_not_published(compose: dict[str, Any]) -> None:
    db = service(compose, "db")
    test = " ".join(db["healthcheck"]["test"])
    # over TCP: during the init scripts the image's temporary server answers on its unix socket only
    assert "pg_isready" in test and "-h 127.0.0.1" in test
    assert "ports" not in db and "network_mode" not in db
    for network in db["networks"]:
        assert compose["networks"][network].get("internal") is True


def test_app_is_built_here_and_reaches_the_database_on_a_private_network(compose: dict[str, Any]) -> None:
    app, db = service(compose, "app"), service(compose, "db")
    build = app["build"]
    assert (ROOT / (build if isinstance(build, str) else build["context"]) / "Dockerfile").is_file()
    url = make_url(app["environment"]["DATABASE_URL"])
    assert (url.host, url.port) == ("db", 5432)
    assert url.database == db["environment"]["POSTGRES_DB"]
    assert url.username == db["environment"]["POSTGRES_USER"]
    assert url.password == db["environment"]["POSTGRES_PASSWORD"]
    assert set(app["networks"]) & set(db["networks"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"


def test_app_publishes_its_port_and_checks_its_health(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    app = service(compose, "app")
    assert published(app) == [("8000", dockerfile.final.env()["HEALTHDASH_PORT"])]
    image_check = dockerfile.final.last("HEALTHCHECK").arguments.split(" CMD ", 1)[1]
    assert app["healthcheck"]["test"] == ["CMD", *Instruction("CMD", image_check).exec_form()]
    assert "/api/healthz" in (ROOT / "deploy" / "healthcheck.py").read_text()


def test_app_restarts_and_is_bounded(compose: dict[str, Any]) -> None:
    for name in ("app", "replica"):
        spec = service(compose, name)
        assert spec["restart"] == "unless-stopped"
        assert _bytes(spec["mem_limit"]) >= 512 * 2**20
        assert 64 <= int(spec["pids_limit"]) <= 4096
        assert spec["init"] is True


def _bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", str(text).lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


def test_app_keeps_its_data_dir_in_a_volume(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    mounts = volume_mounts(service(compose, "app"))
    assert mounts[dockerfile.final.env()["HEALTHDASH_DATA_DIR"]] in compose["volumes"]


def test_proxy_profile_runs_several_replicas_behind_haproxy(compose: dict[str, Any]) -> None:
    replica, proxy = service(compose, "replica"), service(compose, "proxy")
    assert replica["profiles"] == proxy["profiles"] == ["proxy"]
    assert replica["deploy"]["replicas"] >= 2
    assert replica["build"] == service(compose, "app")["build"]
    assert replica["environment"].items() >= service(compose, "app")["environment"].items()
    assert replica["depends_on"]["db"]["condition"] == "service_healthy"
    assert proxy["image"].split(":")[0] == "haproxy"
    assert volume_mounts(proxy)["/usr/local/etc/haproxy/haproxy.cfg"] == "./deploy/haproxy.cfg"
    assert set(proxy["networks"]) & set(replica["networks"])
    assert proxy["depends_on"]["replica"]["condition"] == "service_healthy"


def test_proxy_profile_signs_people_in_with_oauth2_proxy_in_front_of_haproxy(compose: dict[str, Any]) -> None:
    sso, proxy = service(compose, "sso"), service(compose, "proxy")
    assert sso["profiles"] == ["proxy"]
    assert sso["image"].split(":")[0] == "quay.io/oauth2-proxy/oauth2-proxy"
    env = sso["environment"]
    (bind,) = re.findall(r"^\s*bind :(\d+)", HAPROXY_CFG.read_text(), flags=re.MULTILINE)
    assert env["OAUTH2_PROXY_UPSTREAMS"] == f"http://proxy:{bind}/"  # oauth2-proxy forwards to HAProxy
    assert env["OAUTH2_PROXY_PASS_USER_HEADERS"] == "true"  # with X-Forwarded-Email
    assert env["OAUTH2_PROXY_PROXY_WEBSOCKETS"] == "true"  # the kernels' websockets pass
    assert env["OAUTH2_PROXY_COOKIE_SECRET"] == "" and env["OAUTH2_PROXY_CLIENT_ID"] == ""  # to fill in
    emails = env["OAUTH2_PROXY_AUTHENTICATED_EMAILS_FILE"]
    assert (ROOT / volume_mounts(sso)[emails]).is_file()
    listening = env["OAUTH2_PROXY_HTTP_ADDRESS"].rsplit(":", 1)[1]
    assert published(sso) == [("8080", listening)]
    assert set(sso["networks"]) & set(proxy["networks"])


def test_proxy_profile_replicas_trust_the_user_header_from_haproxy_alone(compose: dict[str, Any]) -> None:
    replica, proxy, sso = service(compose, "replica"), service(compose, "proxy"), service(compose, "sso")
    assert replica["environment"]["HEALTHDASH_AUTH"] == "proxy"
    ((network, settings),) = proxy["networks"].items()  # HAProxy sits on one network, at a fixed address
    trusted = replica["environment"]["HEALTHDASH_TRUSTED_PROXIES"]
    assert trusted == settings["ipv4_address"], "the replicas trust HAProxy's address and nothing else"
    apps = compose["networks"][network]
    assert apps["internal"] is True, "nothing outside reaches HAProxy or the replicas"
    (subnet,) = [c["subnet"] for c in apps["ipam"]["config"]]
    assert ipaddress.ip_address(trusted) in ipaddress.ip_network(subnet)
    assert network in replica["networks"] and network in sso["networks"]
    assert "ipv4_address" not in str(sso["networks"]), "oauth2-proxy does not take the trusted address"
    # what one reaches from outside is oauth2-proxy, never an instance in proxy mode nor HAProxy
    assert "ports" not in replica and "ports" not in proxy
    assert [name for name, spec in compose["services"].items() if spec.get("ports") and spec.get("profiles")] == ["sso"]


def test_proxy_keeps_each_browser_on_one_instance(compose: dict[str, Any]) -> None:
    config = HAPROXY_CFG.read_text()
    lines = [line.split("#")[0].strip() for line in config.splitlines()]
    assert any(re.fullmatch(r"cookie \S+ insert indirect nocache httponly dynamic", line) for line in lines)
    assert any(line.startswith("dynamic-cookie-key ") for line in lines)
    (template,) = [line for line in lines if line.startswith("server-template ")]
    target = template.split()[-1]
    replicas = service(compose, "replica")
    assert target == f"replica:{service(compose, 'app')['ports'][0].split(':')[-1]}"
    assert int(template.split()[2].split("-")[-1]) >= replicas["deploy"]["replicas"]
    assert "option httpchk GET /api/healthz" in lines
    assert any(line.startswith("timeout tunnel ") for line in lines), "kernel websockets outlive request timeouts"


def test_every_compose_variable_has_a_default(compose: dict[str, Any]) -> None:
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in variables(raw):
        assert re.search(r"\$\{" + name + r":?-", raw), f"${{{name}}} needs a default: `docker compose up` must work"


def test_interpolation_follows_compose() -> None:
    assert interpolate("a${X:-d}b", {}) == "adb"
    assert interpolate("a${X:-d}b", {"X": ""}) == "adb"
    assert interpolate("a${X-d}b", {"X": ""}) == "ab"
    assert interpolate("${X}", {"X": "v"}) == "v"
    assert interpolate("$$HOME", {}) == "$HOME"
    with pytest.raises(AssertionError):
        interpolate("${X:?required}", {})


def test_files_the_compose_file_names_exist(compose: dict[str, Any]) -> None:
    for spec in compose["services"].values():
        for source in volume_mounts(spec).values():
            if source.startswith("."):
                assert (ROOT / source).exists(), source
    assert Path(ROOT / "Dockerfile").is_file()
