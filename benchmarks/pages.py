"""The pages phase: what a page view costs the server, and how soon a visitor sees a page in Chromium.

    python -m benchmarks.pages [--database-url URL] [--runs 3]

Every figure comes from a server started for it over the scale's database, with the app's default settings unless
said otherwise, and Debian's Chromium driven by Playwright (as the browser tests do). Times in the browser are taken
inside the page: a script added to every page marks (`performance.mark`) the moment its first widget is visible,
and the time is that mark's, counted from the start of the navigation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import secrets
import shutil
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from benchmarks import machine
from benchmarks.report import PagesResult, pages_lines
from healthdash.access import SESSION_COOKIE
from tests.servers import RunningServer, start_server
from tests.web.pages import BROKEN

PAGES = {
    "dashboard": "dashboard.ipynb",
    "customer list": "customers.ipynb",
    "customer detail": "customer.ipynb?id={customer}",
    "explore": "explore.ipynb",
    "validation": "validation.ipynb",
}
BURST = 10  # visitors opening the dashboard at the same moment
WIDGET_TIMEOUT = 60.0  # seconds a tab may take before it counts as failed
DEFAULTS = {
    "HEALTHDASH_KERNEL_POOL_SIZE": "",
    "HEALTHDASH_MAX_PAGE_KERNELS": "",
    "HEALTHDASH_MAX_KERNELS_PER_CLIENT": "",
}
COLD = {"HEALTHDASH_KERNEL_POOL_SIZE": "0"}
FIRST_WIDGET = ".hd-page"
MARK = "hd-first-widget"
HTML_AT = "data-hd-html"  # when the page's HTML had arrived, in seconds
SEEN_AT = "data-hd-first-widget"  # the mark's time in seconds, on <html>: a selector waits for it (no eval: CSP)
# added to every page before its own scripts: marks the first moment a page's first widget is on screen
MARK_FIRST_WIDGET = f"""(() => {{
  const shown = () => {{
    const el = document.querySelector({json.dumps(FIRST_WIDGET)});
    if (!el) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && (!el.checkVisibility || el.checkVisibility({{checkOpacity: true,
      checkVisibilityCSS: true}}));
  }};
  const timer = setInterval(() => {{
    if (!shown()) return;
    clearInterval(timer);
    const mark = performance.mark({json.dumps(MARK)});
    const html = performance.getEntriesByType("navigation")[0];
    document.documentElement.setAttribute({json.dumps(HTML_AT)}, String(html ? html.responseEnd / 1000 : NaN));
    document.documentElement.setAttribute({json.dumps(SEEN_AT)}, String(mark.startTime / 1000));
  }}, 10);
}})();"""
KERNEL_ID = re.compile(r'"kernelId": ?"([0-9a-f-]{36})"')
Say = Callable[[str], None]


# --- HTTP ---------------------------------------------------------------------------------------------------------


def page_url(server: RunningServer, page: str, customer: int) -> str:
    return f"{server.url}/voila/render/{PAGES[page].format(customer=customer)}"


@functools.cache
def visitor_session(database_url: str) -> str:
    """Return the session cookie (`name=secret`) of a signed-in admin of the database: the pages' visitor."""
    from tests.people import session_secret

    return f"{SESSION_COOKIE}={session_secret(database_url, 'admin')}"


def signed_in(server: RunningServer, url: str, **options: Any) -> urllib.request.Request:
    """Return a request for `url` as the signed-in visitor."""
    headers = {"Cookie": visitor_session(server.database_url), **options.pop("headers", {})}
    return urllib.request.Request(url, headers=headers, **options)


def most_at_risk(server: RunningServer) -> int:
    with urllib.request.urlopen(signed_in(server, server.url + "/api/dashboard"), timeout=60) as answer:
        return int(json.loads(answer.read())["top_at_risk"][0]["id"])


def fetch_page(server: RunningServer, url: str) -> tuple[str, str]:
    """GET a page to its end; return its kernel's id and the `_xsrf` cookie that closing it needs."""
    with urllib.request.urlopen(signed_in(server, url), timeout=120) as answer:
        html = answer.read().decode("utf-8", errors="replace")
        cookie: SimpleCookie = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or ():
            cookie.load(header)
    found = KERNEL_ID.search(html)
    if found is None:
        raise RuntimeError(f"{url}: the page names no kernel")
    return found[1], cookie["_xsrf"].value if "_xsrf" in cookie else ""


def close_page(server: RunningServer, kernel_id: str, xsrf: str) -> None:
    """Shut a page's kernel down as the page does when its tab closes."""
    session = visitor_session(server.database_url)
    request = urllib.request.Request(
        f"{server.url}/voila/api/shutdown/{kernel_id}",
        data=b"",
        method="POST",
        headers={"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}; {session}"},
    )
    with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=30):
        pass


def kernels(server: RunningServer) -> set[int]:
    return set(machine.page_kernels(server.process.pid))


def settle(server: RunningServer, quiet: float = 0.05, longest: float = 60.0) -> None:
    """Wait until the server and its kernels use less than `quiet` of a core (its pools have filled)."""
    began = time.monotonic()
    while time.monotonic() - began < longest:
        family = [server.process.pid, *kernels(server)]
        before = sum(machine.cpu_seconds(p) for p in family)
        time.sleep(0.5)
        if sum(machine.cpu_seconds(p) for p in family) - before < quiet / 2:
            return


# --- the server's cost --------------------------------------------------------------------------------------------


def measure_cold(server: RunningServer, result: PagesResult, say: Say, runs: int) -> None:
    """CPU-seconds (server and the view's kernel) and the kernel's RSS of page views that find no kernel ready."""
    customer = most_at_risk(server)
    for page in PAGES:
        cpu, rss, own = [], [], []
        for _ in range(runs + 1):  # the first view of each page warms the server's own caches, not counted
            settle(server)
            before_kernels = kernels(server)
            serving = [server.process.pid, *machine.zygotes(server.process.pid)]  # the zygote forks the kernel
            before = sum(machine.cpu_seconds(pid) for pid in serving)
            kernel_id, xsrf = fetch_page(server, page_url(server, page, customer))
            started = kernels(server) - before_kernels
            spent = sum(machine.cpu_seconds(pid) for pid in serving) - before
            spent += sum(machine.cpu_seconds(pid) for pid in started)
            rss.append(sum(machine.memory_mb(pid)[0] for pid in started))
            own.append(sum(machine.own_memory_mb(pid) for pid in started))
            close_page(server, kernel_id, xsrf)
            cpu.append(spent)
        result.cold_cpu[page] = statistics.median(cpu[1:])
        result.view_rss_mb[page] = statistics.median(rss[1:])
        result.view_own_mb[page] = statistics.median(own[1:])
        cost = (
            f"{result.cold_cpu[page]:.2f} CPU-s, its kernel {result.view_rss_mb[page]:.0f} MB RSS, "
            f"{result.view_own_mb[page]:.0f} MB of its own"
        )
        say(f"  cold view of the {page}: {cost}")


async def _burst_html(server: RunningServer, url: str) -> list[tuple[float, str, str] | None]:
    """GET `url` BURST times at once: seconds until each HTML is complete, its kernel and cookie (None: failed)."""
    loop = asyncio.get_running_loop()
    began = time.perf_counter()

    def one() -> tuple[float, str, str] | None:
        try:
            kernel_id, xsrf = fetch_page(server, url)
        except OSError:
            return None
        return time.perf_counter() - began, kernel_id, xsrf

    return list(await asyncio.gather(*(loop.run_in_executor(None, one) for _ in range(BURST))))


def measure_burst_html(server: RunningServer, result: PagesResult, say: Say) -> None:
    """BURST plain GETs of the dashboard at once; then their kernels are shut down."""
    settle(server)
    views = asyncio.run(_burst_html(server, page_url(server, "dashboard", 0)))
    for view in views:
        if view is not None:
            close_page(server, view[1], view[2])
    result.burst_html = sorted(view[0] for view in views if view is not None)
    result.burst_html_failures = sum(1 for view in views if view is None)
    failed = result.burst_html_failures
    say(f"  {BURST} dashboards at once (HTTP): HTML in {_spread(result.burst_html)}, {failed} failed")


# --- the browser --------------------------------------------------------------------------------------------------


async def _open(context: Any, url: str) -> tuple[float, float]:
    """Open `url` in a new tab; seconds from its navigation to its HTML and to its first widget visible (in-page)."""
    page = await context.new_page()
    try:
        await page.goto(url, wait_until="commit", timeout=WIDGET_TIMEOUT * 1000)
        await page.wait_for_selector(f"html[{SEEN_AT}]", state="attached", timeout=WIDGET_TIMEOUT * 1000)
        body = await page.inner_text("body")
        if any(phrase in body for phrase in BROKEN):
            raise RuntimeError("the page shows an error")
        html = float(await page.get_attribute("html", HTML_AT) or "nan")
        return html, float(await page.get_attribute("html", SEEN_AT) or "nan")
    finally:
        await page.goto("about:blank")  # leaving the page shuts its kernel down
        await page.close()


@contextlib.asynccontextmanager
async def chromium(server_url: str, database_url: str) -> Any:
    from playwright.async_api import async_playwright

    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            await context.add_init_script(MARK_FIRST_WIDGET)
            name, secret = visitor_session(database_url).split("=", 1)
            await context.add_cookies([{"name": name, "value": secret, "url": server_url}])  # the visitor signed in
            yield context
        finally:
            await browser.close()


async def measure_browser(server: RunningServer, result: PagesResult, say: Say, runs: int) -> None:
    """Each page preheated (median of `runs`, the browser's cache warm), then BURST dashboards in tabs at once."""
    customer = most_at_risk(server)
    async with chromium(server.url, server.database_url) as context:
        for page in PAGES:
            seconds = []
            for _ in range(runs + 1):  # the first load fills the browser's cache, not counted
                await asyncio.to_thread(settle, server)
                seconds.append(await _open(context, page_url(server, page, customer)))
            result.preheated_html[page] = statistics.median(html for html, _ in seconds[1:])
            result.preheated_widget[page] = statistics.median(widget for _, widget in seconds[1:])
            say(
                f"  preheated {page}: HTML after {result.preheated_html[page]:.2f} s, "
                f"first widget after {result.preheated_widget[page]:.2f} s"
            )
        await asyncio.to_thread(settle, server)
        url = page_url(server, "dashboard", customer)
        tabs = await asyncio.gather(*(_open(context, url) for _ in range(BURST)), return_exceptions=True)
    result.burst_tabs = sorted(t[1] for t in tabs if isinstance(t, tuple))
    result.burst_tab_failures = [str(t).splitlines()[0] for t in tabs if isinstance(t, BaseException)]
    say(
        f"  {BURST} dashboards in tabs at once: first widget in {_spread(result.burst_tabs)}, "
        f"{len(result.burst_tab_failures)} failed"
    )


async def _first_visitor(database_url: str, folder: Path, result: PagesResult) -> None:
    """Start a server and open the dashboard as soon as it prints its address (the browser already running, its
    visitor signed in: a cookie holds for the host whatever the port)."""
    async with chromium("http://127.0.0.1", database_url) as context:
        began = time.monotonic()
        with start_server(database_url, folder, secrets.token_urlsafe(24), DEFAULTS, timeout=300) as server:
            result.announced = time.monotonic() - began
            _, result.first_visitor = await _open(context, page_url(server, "dashboard", 0))
            result.idle_kernel_rss_mb, result.idle_kernel_own_mb = idle_kernels(server)
            result.zygote_mb = [
                (machine.memory_mb(pid)[0], machine.own_memory_mb(pid)) for pid in machine.zygotes(server.process.pid)
            ]


def idle_kernels(server: RunningServer) -> tuple[list[float], list[float]]:
    """The RSS of each preheated kernel once the pools are full and idle, and the memory of its own of each."""
    settle(server)
    pids = kernels(server)
    return sorted(machine.memory_mb(pid)[0] for pid in pids), sorted(machine.own_memory_mb(pid) for pid in pids)


def measure_pages(database_url: str, folder: Path, say: Say, runs: int = 3, wait_quiet: float = 300.0) -> PagesResult:
    """Run the whole pages phase over a database (first waiting up to `wait_quiet` s for the machine to be quiet)."""
    result = PagesResult()
    result.cores = os.cpu_count() or 1
    load = result.load = machine.wait_for_quiet(result.cores / 2, wait_quiet)
    result.notes.append(f"load average when the pages phase began: {machine.load_average()}")
    say(f"  pages: load average {load:.2f} at the start")
    say("  pages: the first visitor after a start")
    asyncio.run(_first_visitor(database_url, folder / "first", result))
    say(f"  address printed {result.announced:.1f} s after the start; first widget {result.first_visitor:.2f} s later")
    say(f"  idle preheated kernels: {_mb(result.idle_kernel_rss_mb)}, of their own {_mb(result.idle_kernel_own_mb)}")
    say(f"  kernel zygotes: {', '.join(f'{rss:.0f} MB RSS, {own:.0f} MB own' for rss, own in result.zygote_mb)}")
    with start_server(database_url, folder / "cold", secrets.token_urlsafe(24), {**DEFAULTS, **COLD}, 300) as server:
        measure_cold(server, result, say, runs)
    with start_server(database_url, folder / "warm", secrets.token_urlsafe(24), DEFAULTS, 300) as server:
        measure_burst_html(server, result, say)
        asyncio.run(measure_browser(server, result, say, runs))
    result.notes.append(f"load average after it: {machine.load_average()}")
    return result


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.2f}\u2013{max(values):.2f} s (median {statistics.median(values):.2f})"


def _mb(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values) + " MB" if values else "-"


@contextlib.contextmanager
def _sample_database(folder: Path) -> Iterator[str]:
    from tests.databases import standalone_sample_database

    with standalone_sample_database(folder) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="a database with data (default: a new one, sample data)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait-quiet", type=float, default=300.0, help="seconds to wait for a quiet machine first")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hd-pages-", dir="/tmp"))
    folder.chmod(0o755)  # the embedded database's server account must reach its data dir below

    def say(text: str) -> None:
        print(text, flush=True)

    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        url = args.database_url or stack.enter_context(_sample_database(folder))
        result = measure_pages(url, folder, say, args.runs, args.wait_quiet)
    print("\n".join(pages_lines(result)))


if __name__ == "__main__":
    main()
