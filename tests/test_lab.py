"""`make lab`: the kernels read the server's API if given, else DATABASE_URL, else `make run`'s embedded database,
and JupyterLab serves the notebooks."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db.embedded import EmbeddedPostgres
from healthdash.lab import NOTEBOOKS, data_source, kernel_environment, lab_command
from healthdash.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).parents[1]
LAB_ADDRESS = re.compile(rb"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)")


def settings(**environ: str) -> Settings:
    return load_settings(environ)


def refuse(_: Settings) -> str:
    raise AssertionError("the embedded database was started although the data lies elsewhere")


def test_a_running_server_comes_first() -> None:
    environ = {"HEALTHDASH_API_URL": "http://10.0.0.5:8000/", "HEALTHDASH_API_TOKEN": "t" * 20}
    source = data_source(environ, settings(), refuse)
    assert source.kind == "api"
    assert source.environment == {"HEALTHDASH_API_URL": "http://10.0.0.5:8000", "HEALTHDASH_API_TOKEN": "t" * 20}
    assert "10.0.0.5:8000" in source.description


def test_with_a_server_and_a_database_the_analysis_functions_get_the_database() -> None:
    environ = {"HEALTHDASH_API_URL": "https://health.example.com"}
    source = data_source(environ, settings(DATABASE_URL="postgres://a@db/h"), refuse)
    assert source.environment == {
        "HEALTHDASH_API_URL": "https://health.example.com",
        "DATABASE_URL": "postgresql+psycopg2://a@db/h",
    }


def test_a_server_address_that_is_no_url_is_refused() -> None:
    with pytest.raises(SettingsError, match="HEALTHDASH_API_URL must be an http:// or https:// URL"):
        data_source({"HEALTHDASH_API_URL": "localhost:8000"}, settings(), refuse)


def test_database_url_without_a_server() -> None:
    source = data_source({}, settings(DATABASE_URL="postgresql://analyst:secret@db/health"), refuse)
    assert source.kind == "database"
    assert source.environment == {"DATABASE_URL": "postgresql+psycopg2://analyst:secret@db/health"}
    assert "secret" not in source.description


def test_the_kernels_get_only_the_chosen_source() -> None:
    source = data_source({}, settings(DATABASE_URL="postgresql://a@db/h"), refuse)
    environment = kernel_environment({"PATH": "/bin", "HEALTHDASH_API_TOKEN": "stale-token-0123456789"}, source)
    assert environment == {"PATH": "/bin", "DATABASE_URL": "postgresql+psycopg2://a@db/h"}


def test_the_command_opens_the_notebooks_folder() -> None:
    command = lab_command(NOTEBOOKS, 0, open_browser=False)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={ROOT / 'notebooks'}" in command
    assert "--ServerApp.open_browser=False" in command and "--ServerApp.port=0" in command


@pytest.fixture
def running_embedded() -> Iterator[EmbeddedPostgres]:
    """The embedded database as `make run` leaves it running, in a data dir of its own."""
    folder = Path(tempfile.mkdtemp(prefix="hd-lab-", dir="/tmp"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "data", durable=False)
    server.start()
    try:
        yield server
    finally:
        server.release()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_make_lab_shares_the_running_embedded_database_and_serves_jupyterlab(
    running_embedded: EmbeddedPostgres, tmp_path: Path
) -> None:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "HEALTHDASH_API_URL", "HEALTHDASH_API_TOKEN")
    }
    environment.update(
        HEALTHDASH_DATA_DIR=str(running_embedded.data_dir),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
    )
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        lab = subprocess.Popen(
            [sys.executable, "-m", "healthdash", "lab", "--port", "0", "--no-browser"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        address, token = _wait_for_address(lab, log)
        assert f"the notebooks read the embedded database in {running_embedded.data_dir}".encode() in log.read_bytes()
        page = _first_answer(f"{address}/lab?token={token}", lab, log)
        assert b"JupyterLab" in page
        with urllib.request.urlopen(f"{address}/api/contents/analysis?token={token}", timeout=30) as answer:
            listed = {item["name"] for item in json.loads(answer.read())["content"]}
        assert {"cohorts.ipynb", "what-if.ipynb", "declining-customer.ipynb"} <= listed
        # the lab's database is the running server's, loaded with the sample data: no second copy was started
        engine = create_engine(running_embedded.url("healthdash"), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() > 0
        finally:
            engine.dispose()
        assert len(list((running_embedded.data_dir / "users").iterdir())) == 2
    finally:
        lab.send_signal(signal.SIGTERM)
        status = lab.wait(timeout=60)
    assert status == 0, log.read_text(errors="replace")[-2000:]
    assert running_embedded.is_running(), "stopping the lab left `make run`'s database running"


def _wait_for_address(process: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = LAB_ADDRESS.search(log.read_bytes())
        if found:
            return found[1].decode(), found[2].decode()
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        time.sleep(0.2)
    raise AssertionError("JupyterLab did not print its address: " + log.read_text(errors="replace")[-2000:])


def _first_answer(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> bytes:
    """Return the body of the first 200 for `url`: Jupyter Server prints its address before the event loop has run
    the callback that listens on the port, so under load the first connections may be refused."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                assert answer.status == 200
                return bytes(answer.read())
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        time.sleep(0.2)
