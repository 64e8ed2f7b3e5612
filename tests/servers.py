"""The one way the tests and the benchmark run a healthdash server: a subprocess on a port it picks itself.

The server is started with HEALTHDASH_PORT=0, binds a free port and prints the address it got ("healthdash is
serving http://127.0.0.1:PORT/"); the launcher reads that line from the server's log, waits until /api/healthz
answers there, and stops the server with SIGTERM at the end. No port is chosen ahead of time, so two servers never
race for one. This module is not installed with the package: `benchmarks/` imports it from the checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVE = (sys.executable, "-m", "healthdash", "serve")
SERVING = re.compile(rb"healthdash is serving (\S+)/ ")
LOOPBACK = "127.0.0.1"
PREHEATED = {"HEALTHDASH_KERNEL_POOL_SIZE": "1"}  # one kernel per page kept ready, as a deployment has by default


@dataclass
class RunningServer:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path
    database_url: str = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        anonymous: bool = False,
    ) -> tuple[int, dict[str, str], Any]:
        """Send a request with the server's token (none when `anonymous`); return status, headers and the decoded
        JSON body (or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        if not anonymous:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), _decode(resp.read(), resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), _decode(err.read(), err.headers)

    @property
    def authorization(self) -> dict[str, str]:
        """The header that authorises a request with the server's (bootstrap) token."""
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> tuple[int, dict[str, str], Any]:
        return self.request("GET", path)

    def post_event(self, customer_id: int, body: Any) -> tuple[int, dict[str, str], Any]:
        return self.request(
            "POST", f"/api/customers/{customer_id}/events", body, {"Authorization": f"Bearer {self.token}"}
        )


def _decode(data: bytes, headers: Any) -> Any:
    if "json" in (headers.get("Content-Type") or ""):
        return json.loads(data)
    return data.decode("utf-8", errors="replace")


@contextlib.contextmanager
def start_server(
    database_url: str, data_dir: Path, token: str, extra_env: dict[str, str] | None = None, timeout: float = 60.0
) -> Iterator[RunningServer]:
    """Run `python -m healthdash serve` over a database on 127.0.0.1 until the context exits; log to data_dir.

    No kernels are preheated for the pages unless `extra_env` asks for them (HEALTHDASH_KERNEL_POOL_SIZE): a test of
    the API has no use for them, and each one is a Python process starting up beside the tests.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HEALTHDASH_HOST": LOOPBACK,
        "HEALTHDASH_DATA_DIR": str(data_dir),
        "HEALTHDASH_API_TOKENS": token,
        "HEALTHDASH_KERNEL_POOL_SIZE": "0",
        **(extra_env or {}),
    }
    log = data_dir / "server.log"
    with launch(env, log, timeout=timeout) as (url, process):
        yield RunningServer(url, token, process, log, database_url)


@contextlib.contextmanager
def launch(
    env: Mapping[str, str],
    log: Path,
    command: Sequence[str] = SERVE,
    cwd: Path = ROOT,
    timeout: float = 60.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run a server command with `env` and HEALTHDASH_PORT=0 until the context exits; yield its address and process.

    Its output goes to `log`. The context is entered once /api/healthz answers at the address the server printed.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), cwd=cwd, env={**env, "HEALTHDASH_PORT": "0"}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield _wait_until_up(process, log, timeout), process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    """Return the address the server printed, once /api/healthz answers 200 there."""
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{_tail(log)}")
        url = url or _printed_address(log)
        if url is not None and _answers(url):
            return url
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer in {timeout} s:\n{_tail(log)}")


def _printed_address(log: Path) -> str | None:
    match = SERVING.search(log.read_bytes())
    return match[1].decode() if match else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/api/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def loopback_socket() -> Iterator[socket.socket]:
    """Hold a TCP socket bound to a free loopback port (not listening) until the context exits.

    Nothing else can take its port meanwhile: a connection to it is refused, or, handed to a program that listens
    on it (HAProxy's `bind fd@N`), reaches that program.
    """
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        yield sock


def wait_for_history(database_url: str, days: int = 180, timeout: float = 120.0) -> None:
    """Wait until a server over this database has written `days` closed days of score history."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM score_history_days")).scalar_one() >= days:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the score history did not reach {days} days in {timeout} s")
            time.sleep(0.1)
    finally:
        engine.dispose()
