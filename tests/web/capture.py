"""Take the README's screenshots of the pages (how fast they open is measured by `make bench`: benchmarks/pages.py).

    .venv/bin/python -m tests.web.capture [--settle 5]

It starts its own database (TEST_DATABASE_URL's server, or a throwaway embedded PostgreSQL) with the sample data,
then the app over it with its preheated kernels, and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
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
SCREENSHOTS = {
    "dashboard": "dashboard.ipynb",
    "customers": "customers.ipynb",
    "customer": "customer.ipynb?id={customer}",
    "explore": "explore.ipynb",
    "validation": "validation.ipynb?days=90&horizon=30&lead=7",
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


def screenshots(
    browser: Any, server: RunningServer, folder: Path, settle: float, pages: Sequence[str] = tuple(SCREENSHOTS)
) -> None:
    """Screenshots of the pages at 1280 x 800 and, for the dashboard and detail, at 420 px wide."""
    customer = most_at_risk(server)
    folder.mkdir(parents=True, exist_ok=True)
    shots = [(name, path, 1280, 800) for name, path in SCREENSHOTS.items() if name in pages]
    shots += [(f"{name}-narrow", SCREENSHOTS[name], 420, 900) for name in ("dashboard", "customer") if name in pages]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds between page loads")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--pages", nargs="+", choices=tuple(SCREENSHOTS), default=tuple(SCREENSHOTS),
                        help="which pages (default: all)")  # fmt: skip
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hd-capture-", dir="/tmp"))
    folder.chmod(0o755)  # the embedded database's server account must reach its data dir below
    try:
        with standalone_sample_database(folder) as database_url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            with app_server(database_url, folder / "warm", pool_size=1) as server:
                screenshots(browser, server, args.screenshots, settle=args.settle, pages=args.pages)
            browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
