"""Start real healthdash servers as subprocesses for the HTTP and browser tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunningServer:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """Send a request; return status, headers and the decoded JSON body (or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), _decode(resp.read(), resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), _decode(err.read(), err.headers)

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PREHEATED = {"HEALTHDASH_KERNEL_POOL_SIZE": "1"}  # one kernel per page kept ready, as a deployment has by default


@contextlib.contextmanager
def start_server(
    database_url: str, data_dir: Path, token: str, extra_env: dict[str, str] | None = None, timeout: float = 60.0
) -> Iterator[RunningServer]:
    """Run `python -m healthdash serve` on a free port until the context exits.

    No kernels are preheated for the pages unless `extra_env` asks for them (HEALTHDASH_KERNEL_POOL_SIZE): a test of
    the API has no use for them, and each one is a Python process starting up beside the tests.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HEALTHDASH_PORT": str(port),
        "HEALTHDASH_HOST": "127.0.0.1",
        "HEALTHDASH_DATA_DIR": str(data_dir),
        "HEALTHDASH_API_TOKENS": token,
        "HEALTHDASH_KERNEL_POOL_SIZE": "0",
        **(extra_env or {}),
    }
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "healthdash", "serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = RunningServer(f"http://127.0.0.1:{port}", token, process, log)
    try:
        _wait_until_up(running, timeout)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server.log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/api/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer in {timeout} s:\n{server.log.read_text(errors='replace')[-3000:]}")
