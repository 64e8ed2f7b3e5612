"""The Dockerfile and its build context, checked without a Docker engine; its start command run for real."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.buildfiles import (
    Dockerfile,
    Instruction,
    build_context,
    is_ignored,
    parse_dockerfile,
    parse_dockerignore,
)
from tests.deploy.conftest import ROOT
from tests.servers import launch

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
IMAGE_VENV_BIN = "/opt/venv/bin"
BUILD_TOOLS = ("gcc", "g++", "cc ", "make", "build-essential", "libpq-dev", "python3-dev", "clang")


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def context() -> list[str]:
    return build_context(ROOT, parse_dockerignore(DOCKERIGNORE.read_text(encoding="utf-8")))


def test_builds_in_one_stage_and_runs_in_a_slim_python_one(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2
    version = dockerfile.args["PYTHON_VERSION"]
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert required.startswith(">=")
    assert tuple(map(int, version.split("."))) >= tuple(map(int, required[2:].split(".")))
    for stage in dockerfile.stages:
        assert stage.base.startswith("python:${PYTHON_VERSION}-slim"), stage.base


def test_the_final_image_has_no_build_tools(dockerfile: Dockerfile) -> None:
    final = dockerfile.final
    for run in final.all("RUN"):
        assert "pip install" not in run.arguments and "apt-get install" not in run.arguments, run.arguments
        assert not any(tool in run.arguments for tool in BUILD_TOOLS), run.arguments
    copies = [c.arguments for c in final.all("COPY") + final.all("ADD")]
    assert copies and all(c.startswith("--from=") for c in copies), "the final stage copies only built results"


def test_dependencies_come_from_pyproject_and_the_app_is_installed_where_it_runs(dockerfile: Dockerfile) -> None:
    build = dockerfile.stage("build")
    runs = " && ".join(r.arguments for r in build.all("RUN"))
    assert "tomllib" in runs and "pyproject.toml" in runs and "pip install -r" in runs
    # editable: the package keeps finding notebooks/ and db/init.sql beside it, so the folder must not move
    assert "pip install --no-deps -e ." in runs
    workdir = build.last("WORKDIR").arguments
    assert f"--from=build {workdir} {workdir}" in [c.arguments for c in dockerfile.final.all("COPY")]
    assert dockerfile.final.last("WORKDIR").arguments == workdir
    venv = f"--from=build {IMAGE_VENV_BIN.removesuffix('/bin')} {IMAGE_VENV_BIN.removesuffix('/bin')}"
    assert venv in [c.arguments for c in dockerfile.final.all("COPY")]
    assert dockerfile.final.env()["PATH"].startswith(IMAGE_VENV_BIN + ":")


def test_runs_as_an_unprivileged_user_with_a_writable_data_dir(dockerfile: Dockerfile) -> None:
    final = dockerfile.final
    user = final.last("USER").arguments
    assert user.split(":")[0] not in ("root", "0")
    keywords = [i.keyword for i in final.instructions]
    assert keywords.index("USER") < keywords.index("CMD")
    setup = " ".join(r.arguments for r in final.all("RUN"))
    uid, gid = user.split(":")
    assert f"groupadd --system --gid {gid} " in setup
    assert f"useradd --system --uid {uid} " in setup
    account = setup.split("--shell /usr/sbin/nologin ")[1].split()[0]
    data_dir = final.env()["HEALTHDASH_DATA_DIR"]
    assert f"install -d -o {account} -g {account} -m 0750 {data_dir}" in setup


def test_listens_on_every_interface_of_the_container(dockerfile: Dockerfile) -> None:
    env = dockerfile.final.env()
    assert env["HEALTHDASH_HOST"] == "0.0.0.0"
    assert dockerfile.final.last("EXPOSE").arguments == env["HEALTHDASH_PORT"] == "8000"


def test_checks_its_own_health_with_a_script_that_is_in_the_image(dockerfile: Dockerfile, context: list[str]) -> None:
    check = dockerfile.final.last("HEALTHCHECK").arguments
    assert "--interval=" in check and "--timeout=" in check
    command = Instruction("CMD", check.split(" CMD ", 1)[1]).exec_form()
    (script,) = [a for a in command if a.endswith(".py")]
    workdir = dockerfile.final.last("WORKDIR").arguments
    assert Path(script).relative_to(workdir).as_posix() in context


def test_the_build_context_holds_what_the_app_needs_and_nothing_private(context: list[str]) -> None:
    needed = ["pyproject.toml", "README.md", "db/init.sql", "deploy/healthcheck.py"]
    needed += [
        p.relative_to(ROOT).as_posix() for p in (ROOT / "healthdash").rglob("*.py") if "__pycache__" not in p.parts
    ]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb")]
    assert set(needed) <= set(context), sorted(set(needed) - set(context))
    for path in context:
        top = path.split("/")[0]
        assert top not in (".venv", ".git", "tests", ".env", ".hypothesis", ".mypy_cache", ".ruff_cache"), path
        assert "__pycache__" not in path and not path.endswith(".pyc"), path


def test_dockerignore_reader_follows_dockers_rules() -> None:
    rules = parse_dockerignore("*\n!keep\n!deep/file.txt\n**/__pycache__\nkeep/secret*\n")
    assert is_ignored("other", rules)
    assert is_ignored("other/inside.py", rules)
    assert not is_ignored("keep/module.py", rules)
    assert is_ignored("keep/secret.key", rules)
    assert is_ignored("keep/sub/__pycache__/x.pyc", rules)
    assert not is_ignored("deep/file.txt", rules)
    assert is_ignored("deep/other.txt", rules)
    with pytest.raises(AssertionError):
        parse_dockerignore("[abc]")


@pytest.fixture
def image_layout(tmp_path: Path, dockerfile: Dockerfile, context: list[str]) -> Path:
    """A copy of the build context as the image lays it out (its WORKDIR), next to nothing else."""
    app = tmp_path / dockerfile.final.last("WORKDIR").arguments.strip("/")
    for relative in context:
        (app / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, app / relative)
    return app


def container_environment(dockerfile: Dockerfile, database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment the image's start command sees, mapped onto this machine.

    The image's virtualenv is this checkout's; the data dir a fresh empty folder; the port is the one the server
    picks when launched. The coverage measurement of this test run is not passed on: the copied code is not the code
    under measurement.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALTHDASH_", "COVERAGE_PROCESS_"))}
    env.pop("DATABASE_URL", None)
    for name, value in dockerfile.final.env().items():
        if name == "PATH":
            value = value.replace(IMAGE_VENV_BIN, str(Path(sys.executable).parent)).replace("$PATH", env["PATH"])
        env[name] = value
    env.update(DATABASE_URL=database_url, HEALTHDASH_DATA_DIR=str(data_dir))
    return env


@pytest.fixture
def container(
    dockerfile: Dockerfile, image_layout: Path, sample_db_url: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o750)
    env = container_environment(dockerfile, sample_db_url, data_dir)
    command = dockerfile.final.last("CMD").exec_form()
    executable = shutil.which(command[0], path=env["PATH"])
    assert executable is not None
    with launch(env, tmp_path / "container.log", [executable, *command[1:]], cwd=image_layout) as (url, process):
        env["HEALTHDASH_PORT"] = url.rsplit(":", 1)[1]  # the port it got, where the image's health check looks
        yield url, env, process


def listening_ipv4_addresses(port: int) -> set[str]:
    """Return the (hex) IPv4 addresses with a socket listening on a TCP port, from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            found.add(address)
    return found


def test_the_start_command_serves_healthz_from_the_image_layout(
    container: tuple[str, dict[str, str], subprocess.Popen[bytes]], image_layout: Path, tmp_path: Path
) -> None:
    url, env, process = container
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (tmp_path / "container.log").read_text(errors="replace")[-3000:]
        try:
            with urllib.request.urlopen(url + "/api/healthz", timeout=2) as response:
                assert response.status == 200
                break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, (tmp_path / "container.log").read_text(errors="replace")[-3000:]
            time.sleep(0.1)

    # bound to every interface, as the published port needs inside a container
    assert "00000000" in listening_ipv4_addresses(int(url.rsplit(":", 1)[1]))
    # the code that runs is the copy laid out like the image, which finds its notebooks and schema beside it
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import healthdash.app as a, healthdash.db.database as d; print(a.NOTEBOOKS, d.INIT_SQL)",
        ],
        cwd=image_layout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where == [str(image_layout / "notebooks"), str(image_layout / "db" / "init.sql")]
    assert Path(where[1]).is_file()
    # no token configured: one was generated into the writable data dir, readable by its owner only
    token = Path(env["HEALTHDASH_DATA_DIR"]) / "api-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600

    healthcheck = [sys.executable, str(image_layout / "deploy" / "healthcheck.py")]
    assert subprocess.run(healthcheck, env=env, capture_output=True).returncode == 0
    process.terminate()
    process.wait(timeout=15)
    failed = subprocess.run(healthcheck, env=env, capture_output=True, text=True)
    assert failed.returncode == 1
    assert "healthz:" in failed.stderr
