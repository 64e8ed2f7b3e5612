"""A burst of visitors opening the same page at once: each is served, with the app's default caps and pools, by the
kernel ready first; afterwards every page has its preheated kernels back and none is left over."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from benchmarks import machine
from tests.api.client import Reply, call
from tests.conftest import TEST_TOKEN
from tests.databases import sample_data_copy
from tests.servers import PREHEATED, RunningServer, start_server
from tests.web.test_kernel_caps import kernel_of

pytestmark = [pytest.mark.slow]
PAGE = "/voila/render/dashboard.ipynb"
BURST = 10
POOLS = 3 + 1 + 1 + 1 + 1  # the dashboard's preheated kernels by default, and one for each other page
ANNOUNCED: dict[str, dt.datetime] = {}  # server URL -> a moment just after it printed its address


@pytest.fixture(scope="module")
def server(admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = Path(tmp_path_factory.mktemp("pools"))
    with (
        sample_data_copy(admin_url, template_db, "hd_pools") as url,
        start_server(url, folder, TEST_TOKEN, PREHEATED) as running,  # the default caps
    ):
        ANNOUNCED[running.url] = dt.datetime.now(dt.UTC)
        yield running


def kernels_running(server: RunningServer) -> int:
    return len(machine.page_kernels(server.process.pid))


def close_page(server: RunningServer, page: Reply) -> None:
    """Shut the page's kernel down as the page does when it is closed (echoing its `_xsrf` cookie)."""
    cookie = SimpleCookie()
    for header in page.headers.get_all("Set-Cookie") or []:
        cookie.load(header)
    xsrf = cookie["_xsrf"].value
    headers = {"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"}
    assert call(server, "POST", f"/voila/api/shutdown/{kernel_of(page)}", raw=b"", headers=headers).status == 204


def test_the_first_visitor_finds_the_score_board_built_before_the_address_was_printed(server: RunningServer) -> None:
    dashboard = call(server, "GET", "/api/dashboard")
    assert dashboard.status == 200
    assert dt.datetime.fromisoformat(json.loads(dashboard.body)["as_of"]) < ANNOUNCED[server.url]  # not built for it


def test_ten_visitors_of_one_address_opening_the_dashboard_at_once_are_all_served(server: RunningServer) -> None:
    assert kernels_running(server) == POOLS  # the address is printed once every pool is full
    pages, explore = sorted(machine.zygotes(server.process.pid), key=lambda pid: len(machine.children(pid)))[::-1]
    forked = set(machine.children(pages)) | set(machine.children(explore))
    assert forked == set(machine.page_kernels(server.process.pid))  # every kernel forked from a zygote
    assert len(machine.children(explore)) == 1  # Explore's, from the zygote that has pandas imported
    assert "healthdash.widgets.explore_page" in machine.command(explore)
    with ThreadPoolExecutor(BURST) as visitors:
        pages = list(visitors.map(lambda _: call(server, "GET", PAGE), range(BURST)))
    assert [page.status for page in pages] == [200] * BURST  # none over the default caps
    assert len({kernel_of(page) for page in pages}) == BURST  # a kernel of its own for each
    assert all(b"widget-view+json" in page.body and b"Traceback" not in page.body for page in pages)  # the page shown
    for page in pages:
        close_page(server, page)
    deadline = time.monotonic() + 120
    while kernels_running(server) != POOLS:  # every pool full again, and no kernel left over
        assert time.monotonic() < deadline, f"{kernels_running(server)} kernels, not {POOLS}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def server_without_kernels(
    admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server whose kernels cannot start: its Python kernel's program is missing."""
    folder = Path(tmp_path_factory.mktemp("no-kernels"))
    spec = folder / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    program = ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": program, "display_name": "Python 3", "language": "python"}))
    with (
        sample_data_copy(admin_url, template_db, "hd_no_kernels") as url,
        start_server(url, folder, TEST_TOKEN, {**PREHEATED, "JUPYTER_PATH": str(folder / "jupyter")}) as running,
    ):
        yield running


def test_a_page_whose_kernel_cannot_start_is_answered_at_once_with_a_clean_error(
    server_without_kernels: RunningServer,
) -> None:
    began = time.monotonic()
    page = call(server_without_kernels, "GET", PAGE)
    assert time.monotonic() - began < 10  # no visitor waits for a kernel that will never come
    assert page.status == 500
    assert b"Traceback" not in page.body and b"nonexistent" not in page.body
    assert call(server_without_kernels, "GET", "/api/dashboard").status == 200  # the API serves regardless
    assert "A kernel for dashboard.ipynb failed to start" in server_without_kernels.log.read_text(errors="replace")
