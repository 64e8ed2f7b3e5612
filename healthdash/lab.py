"""`make lab`: JupyterLab on notebooks/, its kernels pointed at the data.

Where the data comes from, in this order: a running healthdash server (`HEALTHDASH_API_URL`, with
`HEALTHDASH_API_TOKEN` if given), else `DATABASE_URL`, else the embedded database that `make run` uses, started if it
is not running and shared if it is (never a second copy). The kernels inherit the answer as environment variables:
`healthdash.client.ApiClient.from_environment()` reads the first, `healthdash.analysis` the other two. This process
stays the embedded database's user while JupyterLab runs, and passes a SIGTERM on to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from healthdash.client import TOKEN_VARIABLE, URL_VARIABLE
from healthdash.db.database import describe_url, resolve_database_url
from healthdash.settings import Settings, SettingsError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@dataclass(frozen=True)
class DataSource:
    """What the kernels read, told to them as environment variables."""

    kind: str  # "api", "database" or "embedded"
    environment: dict[str, str]
    description: str


def data_source(
    environ: Mapping[str, str],
    settings: Settings,
    embedded: Callable[[Settings], str] = lambda s: resolve_database_url(None, s.data_dir),
) -> DataSource:
    """Return the data the kernels should read: the server's API, DATABASE_URL, or the embedded database."""
    api_url = environ.get(URL_VARIABLE, "").strip().rstrip("/")
    if api_url:
        if not api_url.startswith(("http://", "https://")):
            raise SettingsError(f"{URL_VARIABLE} must be an http:// or https:// URL, got {api_url!r}")
        variables = {URL_VARIABLE: api_url}
        token = environ.get(TOKEN_VARIABLE, "").strip()
        if token:
            variables[TOKEN_VARIABLE] = token
        if settings.database_url:  # healthdash.analysis reads a database, when there is one to read
            variables["DATABASE_URL"] = settings.database_url
        return DataSource("api", variables, f"the healthdash server at {api_url}")
    if settings.database_url:
        return DataSource(
            "database", {"DATABASE_URL": settings.database_url}, f"DATABASE_URL {describe_url(settings.database_url)}"
        )
    url = embedded(settings)
    return DataSource("embedded", {"DATABASE_URL": url}, f"the embedded database in {settings.data_dir}")


def lab_command(notebooks: Path, port: int, open_browser: bool, extra: Sequence[str] = ()) -> list[str]:
    """Return the command that starts JupyterLab on the notebooks folder."""
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={notebooks}",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.open_browser={open_browser}",
        # as root (a container) like `make run`: JupyterLab refuses to unless told
        *(["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []),
        *extra,
    ]


def kernel_environment(environ: Mapping[str, str], source: DataSource) -> dict[str, str]:
    """Return JupyterLab's (and so its kernels') environment: this one, with the data source's variables only."""
    cleared = {URL_VARIABLE, TOKEN_VARIABLE, "DATABASE_URL"}
    kept = {name: value for name, value in environ.items() if name not in cleared}
    return {**kept, **source.environment}


def run_lab(settings: Settings, port: int, open_browser: bool, extra: Sequence[str] = ()) -> int:
    """Start JupyterLab on notebooks/ with the kernels pointed at the data; return its exit status."""
    source = data_source(os.environ, settings)
    print(f"healthdash lab: the notebooks read {source.description}", flush=True)
    child = subprocess.Popen(
        lab_command(NOTEBOOKS, port, open_browser, extra), env=kernel_environment(os.environ, source)
    )

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # JupyterLab has the terminal's Ctrl-C (it asks to confirm)
    return child.wait()
