"""Faults injected into a running server: killed mid-batch, and abused by clients that hold bodies, send huge ones or
ask for more kernels than they may have. Run alone with `pytest -m faults`."""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from benchmarks import machine
from tests.api.client import call
from tests.conftest import TEST_TOKEN
from tests.raw import closed_within, connect, head
from tests.servers import RunningServer, start_server

pytestmark = [pytest.mark.faults, pytest.mark.slow]
BATCH = "/api/events/batch"
MB = 1024 * 1024


def stored(database_url: str, customer: int) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM events WHERE customer_id = :c"), {"c": customer}).scalar()
            )
    finally:
        engine.dispose()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("after", [0.05, 0.3, 0.8])
def test_a_batch_is_all_or_nothing_when_the_server_is_killed(fresh_db_url: str, tmp_path: Path, after: float) -> None:
    customer, count = 5, 10_000
    before = stored(fresh_db_url, customer)
    body = json.dumps({"events": [{"customer_id": customer, "type": "login"}] * count}).encode()
    with start_server(fresh_db_url, tmp_path, TEST_TOKEN) as server:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TEST_TOKEN}"}
        request = urllib.request.Request(server.url + BATCH, data=body, method="POST", headers=headers)

        def send() -> None:
            with contextlib.suppress(OSError):  # the server is killed under it
                urllib.request.urlopen(request, timeout=30).read()

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(after)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        sender.join(30)
    assert stored(fresh_db_url, customer) - before in (0, count)


def test_the_servers_memory_stays_bounded_under_abusive_clients(server: RunningServer) -> None:
    baseline = rss_mb(server.process.pid)
    held = []
    try:
        for _ in range(8):  # anonymous 95 MB bodies, each holding back its end
            sock = connect(server)
            sock.sendall(head("POST", BATCH, {"Content-Type": "application/json", "Content-Length": str(95 * MB)}))
            try:
                for _ in range(16):
                    sock.sendall(b" " * MB)
            except OSError:
                pass  # refused and closed: nothing more is read
            held.append(sock)
        for _ in range(8):  # authorised bodies over the limit
            sock = connect(server)
            headers = {"Content-Type": "application/json", "Content-Length": str(95 * MB)}
            headers["Authorization"] = f"Bearer {server.token}"
            sock.sendall(head("POST", BATCH, headers))
            held.append(sock)
        for _ in range(20):  # slow headers
            sock = connect(server)
            sock.sendall(b"GET /api/dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(sock)
        assert call(server, "GET", "/api/dashboard").status == 200  # still answering
        grown = rss_mb(server.process.pid) - baseline
        assert grown < 100, f"the server grew by {grown:.0f} MB"
    finally:
        for sock in held:
            sock.close()


def test_idle_abusive_connections_are_dropped(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /api/dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert closed_within(sock, 60) is not None


def kernels_of(pid: int) -> list[int]:
    """Return the process ids of the server's page kernels (forked from its kernel zygote)."""
    return machine.page_kernels(pid)


def test_many_page_loads_start_no_more_kernels_than_the_cap_and_memory_stays_bounded(
    module_db_url: str, tmp_path: Path
) -> None:
    caps = {"HEALTHDASH_MAX_PAGE_KERNELS": "3", "HEALTHDASH_MAX_KERNELS_PER_CLIENT": "2"}
    with start_server(module_db_url, tmp_path, TEST_TOKEN, caps) as server:
        baseline = rss_mb(server.process.pid)
        port = server.port

        def load(n: int, signed_in: bool = True) -> int:  # twelve visitors from six addresses, two each, all at once
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=120, source_address=(f"127.0.0.{2 + n // 2}", 0)
            )
            try:
                connection.request(
                    "GET", "/voila/render/dashboard.ipynb", headers=server.authorization if signed_in else {}
                )
                answer = connection.getresponse()
                answer.read()
                assert answer.status in (200, 302) or answer.getheader("Retry-After", "").isdigit()
                return answer.status
            finally:
                connection.close()

        with ThreadPoolExecutor(12) as visitors:
            assert list(visitors.map(lambda n: load(n, signed_in=False), range(12))) == [302] * 12  # to sign in
            assert kernels_of(server.process.pid) == []  # and no kernel for them
            statuses = list(visitors.map(load, range(12)))
        kernels = kernels_of(server.process.pid)
        assert statuses.count(200) <= 3 and statuses.count(503) >= 9, statuses
        assert len(kernels) <= 3
        total = rss_mb(server.process.pid) - baseline + sum(rss_mb(pid) for pid in kernels)
        assert total < 3 * 200, f"the server and its kernels grew by {total:.0f} MB"
