"""Measure each page's time to its first visible widget, cold and preheated, and take the README's screenshots.

    .venv/bin/python -m tests.web.capture [--runs 5] [--settle 20] [--no-screenshots]

It starts its own database (TEST_DATABASE_URL's server, or a throwaway embedded PostgreSQL) with the sample data,
then the app twice over it: without preheated kernels (every page view starts a kernel: cold) and with one
preheated kernel per notebook. Each page is loaded `runs` times in Chromium, `settle` seconds apart so that the
preheated pool is full again, with the browser's cache warm (one visit first, not counted). It writes
docs/performance-pages.md and docs/screenshots/*.png.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.conftest import TEST_TOKEN
from tests.databases import standalone_sample_database
from tests.people import sign_in_browser
from tests.servers import RunningServer, start_server
from tests.web.conftest import ONE_CLIENT, launch_chromium
from tests.web.pages import visit

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "Dashboard": "dashboard.ipynb",
    "Customer list": "customers.ipynb",
    "Customer detail": "customer.ipynb?id={customer}",
    "Explore": "explore.ipynb",
}
SCREENSHOTS = {
    "dashboard": "dashboard.ipynb",
    "customers": "customers.ipynb",
    "customer": "customer.ipynb?id={customer}",
    "explore": "explore.ipynb",
}


@contextlib.contextmanager
def app_server(database_url: str, folder: Path, pool_size: int) -> Iterator[RunningServer]:
    env = {"HEALTHDASH_KERNEL_POOL_SIZE": str(pool_size), **ONE_CLIENT}  # every visit comes from this machine
    folder.mkdir(parents=True, exist_ok=True)
    with start_server(database_url, folder, TEST_TOKEN, extra_env=env, timeout=120) as server:
        yield server


def most_at_risk(server: RunningServer) -> int:
    request = urllib.request.Request(server.url + "/api/dashboard", headers=server.authorization)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return int(json.loads(answer.read())["top_at_risk"][0]["id"])


Timings = dict[str, list[tuple[float, float]]]
WHEN = """() => [performance.getEntriesByType('navigation')[0].responseEnd / 1000, performance.now() / 1000]"""


def time_pages(browser: Any, server: RunningServer, runs: int, settle: float) -> Timings:
    """Seconds from navigation to the page's HTML being complete and to the first visible widget, `runs` times."""
    customer = most_at_risk(server)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    sign_in_browser(context, server.url, server.database_url)
    times: Timings = {name: [] for name in PAGES}
    try:
        for run in range(runs + 1):
            for name, path in PAGES.items():
                time.sleep(settle)
                seen = visit(context, f"{server.url}/voila/render/{path.format(customer=customer)}")
                html, widget = (float(t) for t in seen.page.evaluate(WHEN))
                problems = seen.problems()
                seen.page.goto("about:blank")  # closing the page shuts its kernel down
                seen.page.close()
                if problems:
                    raise RuntimeError(f"{name}: {problems}")
                if run:  # the first round only warms the browser's cache
                    times[name].append((html, widget))
                print(f"  {name:16s} run {run}: HTML {html:5.2f} s, widget {widget:5.2f} s", flush=True)
    finally:
        context.close()
    return times


def screenshots(browser: Any, server: RunningServer, folder: Path, settle: float) -> None:
    """Screenshots of the pages at 1280 x 800 and, for the dashboard and detail, at 420 px wide."""
    customer = most_at_risk(server)
    folder.mkdir(parents=True, exist_ok=True)
    shots = [(name, path, 1280, 800) for name, path in SCREENSHOTS.items()]
    shots += [(f"{name}-narrow", SCREENSHOTS[name], 420, 900) for name in ("dashboard", "customer")]
    for name, path, width, height in shots:
        time.sleep(settle)
        context = browser.new_context(viewport={"width": width, "height": height})
        sign_in_browser(context, server.url, server.database_url)
        try:
            seen = visit(context, f"{server.url}/voila/render/{path.format(customer=customer)}")
            time.sleep(1.0)  # fonts and late layout
            if seen.problems():
                raise RuntimeError(f"{name}: {seen.problems()}")
            seen.page.screenshot(path=str(folder / f"{name}.png"))
            seen.page.goto("about:blank")
        finally:
            context.close()
        print(f"  screenshot {name}.png", flush=True)


def report(cold: Timings, warm: Timings, runs: int, load: float) -> str:
    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} s ({min(values):.1f}\u2013{max(values):.1f})"

    def cells(timings: list[tuple[float, float]]) -> str:
        return f"{cell([h for h, _ in timings])} | {cell([w for _, w in timings])}"

    rows = "\n".join(f"| {name} | {cells(cold[name])} | {cells(warm[name])} |" for name in PAGES)
    return f"""# Time to first visible widget

Measured {dt.date.today().isoformat()} with `python -m tests.web.capture`: headless Chromium at 1280 x 800 on the
same machine as the server ({os.cpu_count()} CPUs, shared: mean load average {load:.1f} during the measurement), the
sample data, the browser's cache warm. Times run from the start of navigation to

- **HTML**: the page's HTML has arrived, that is, its notebook has run in a kernel and the widgets have their data;
- **widget**: the page's first widget is visible. Voila shows a page once all of it is ready, so this is the moment
  the visitor can read the page; the difference to HTML is Voila's JavaScript starting up and fetching the widgets'
  state from the kernel.

Median of {runs} loads per page, range in brackets.

| Page | Cold: HTML | Cold: widget | Preheated: HTML | Preheated: widget |
|---|---|---|---|---|
{rows}

- **Cold** (`HEALTHDASH_KERNEL_POOL_SIZE=0`): the request starts a Python kernel, which imports the widgets,
  builds the page and fetches its data from the API.
- **Preheated** (the default, one kernel per notebook): a kernel has already imported everything and built the
  page's widgets; on the request it only receives the query string and fetches fresh data through the API (the
  server answers the dashboard and the list from its score cache; Explore reads the scores from the database).
  The pool refills one second after each use, which takes a kernel start; a second view of the same page within
  those seconds waits for that kernel, so it is no faster than cold. Raise `HEALTHDASH_KERNEL_POOL_SIZE` when many
  people open the same page at once.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds between page loads")
    parser.add_argument("--no-screenshots", action="store_true")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "performance-pages.md")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hd-capture-", dir="/tmp"))
    folder.chmod(0o755)  # the embedded database's server account must reach its data dir below
    try:
        loads: list[float] = []
        with standalone_sample_database(folder) as database_url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            print("cold (no preheated kernels):", flush=True)
            with app_server(database_url, folder / "cold", pool_size=0) as server:
                cold = time_pages(browser, server, args.runs, settle=2.0)
            loads.append(os.getloadavg()[1])
            print("preheated (one kernel per notebook):", flush=True)
            with app_server(database_url, folder / "warm", pool_size=1) as server:
                warm = time_pages(browser, server, args.runs, settle=args.settle)
                loads.append(os.getloadavg()[1])
                if not args.no_screenshots:
                    screenshots(browser, server, args.screenshots, settle=args.settle)
            browser.close()
        args.report.write_text(report(cold, warm, args.runs, statistics.mean(loads)), encoding="utf-8")
        print(f"wrote {args.report}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
