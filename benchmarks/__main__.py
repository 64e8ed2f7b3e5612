"""`python -m benchmarks --scales "S M"`: measure healthdash at each scale and write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks import machine
from benchmarks.compare import compare
from benchmarks.datasets import (
    SCALES,
    SERVER_SETTINGS,
    bench_dir,
    checkpoint,
    ensure_dataset,
    mark_used,
    prewarm,
    start_server,
)
from benchmarks.pages import measure_pages
from benchmarks.report import ScaleResult, markdown
from benchmarks.run import NAIVE_BUDGET_SECONDS, PHASE_SECONDS, bench_scale, customer_count, write_history_of

NOTES = (
    "Every request goes to 127.0.0.1. Reads and single events are driven by wrk (one thread, as many connections "
    "as each row says; the answers computed afresh with each request sent once) when it is installed, else by an "
    "asyncio client; the reads with one connection that ask each item once, batches and the probes by an asyncio "
    "client. "
    "Each phase runs for the given seconds. With n connections always busy, latency is about n / throughput: the "
    "latency targets are measured with few connections, the throughput targets with enough to keep the server busy.",
    "`each query new` sends distinct list queries (every sort and order, filters, name searches, pages) one after "
    "the other, each one for the first time; `repeated` runs the same set again under load, mostly from cache.",
    "CPU columns: the share of one core the server process used, and the cores PostgreSQL's backends for the "
    "database used, while the phase ran. The server runs its Python on one core; PostgreSQL may use both.",
    "Full rescore: the score board's own builds, timed in the benchmark process against the same database: the "
    "first one reads every customer's usage of the last 90 days into memory; a rebuild on a new day moves that "
    "usage along by a day and reads the last two days again; a configuration change rescores from memory.",
    "Compare phase: a fresh healthdash server (its score board built by one dashboard read) and then the simple "
    "reference of `benchmarks/reference.py` (a thread per connection, per-request SQL over the raw tables) answer "
    "the same requests on the same data: each customer's health once in a random order (not read before), answers "
    "computed afresh by four clients at once (page sizes no kept answer holds, each asked once), the health of 200 "
    "of them again and again, the health with `events_limit=500`, and single events with 2 and 16 writers. The ratio "
    "is healthdash's answers per second over the reference's. The profile is py-spy's, when installed, over "
    "healthdash's health phases.",
    "Pages: servers started for the phase over the scale's data with the app's default settings (one preheated "
    "kernel per page, three for the dashboard), Debian's Chromium driven by Playwright at 1280 x 800 on the same "
    "machine. A script added to every page marks (performance.mark) the moment its first widget (.hd-page) is "
    "visible; times run from the start of the navigation. Cold view: a server without preheated kernels; the CPU time "
    "of the server and of the kernel the view started, until the HTML arrived (median of 3 after one not counted). "
    "Preheated: median of 3 loads after one that fills the browser's cache, each once the pools have refilled. "
    "Ten at once: ten plain GETs of the dashboard together, then ten tabs of one browser (one client address, under "
    "the default kernel caps). First visitor: a new server, the dashboard opened in a running browser (its cache "
    "empty) as soon as the address is printed.",
    "Freshness: a login on a day without one, sent for an at-risk customer while batches of 50 events arrive "
    "20 times a second (after one phase length of that load, so that what the ingestion phases wrote has been "
    "patched in); the time from the answer to the write until a read shows the changed score.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark for the chosen scales and write the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scales", default="S M", help='which scales, e.g. "S M L" (default "S M")')
    parser.add_argument("--seconds", type=float, default=PHASE_SECONDS, help="how long each load phase runs")
    parser.add_argument("--naive-budget", type=float, default=NAIVE_BUDGET_SECONDS, help="seconds for the naive way")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"), help="where to write the report")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=600.0,
        help="before each scale, wait up to this many seconds for the 1-minute load to drop below half the cores",
    )
    parser.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip the compare phase (healthdash's health and single events against the simple reference)",
    )
    parser.add_argument(
        "--no-pages",
        dest="pages",
        action="store_false",
        help="skip the pages phase (page views' cost, and the pages in Chromium: preheated, in bursts, after a start)",
    )
    args = parser.parse_args(argv)
    names = args.scales.replace(",", " ").split()
    unknown = [n for n in names if n not in SCALES]
    if unknown or not names:
        parser.error(f"scales are {', '.join(SCALES)}; got {args.scales!r}")

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    folder = bench_dir()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    about = machine.describe()
    server = start_server(folder)
    results: list[ScaleResult] = []
    try:
        for name in names:
            url = ensure_dataset(server, SCALES[name], say)
            seconds = checkpoint(server)  # what building the data wrote is on disk: no flush competes with commits
            say(f"{name}: checkpoint before the measurements took {seconds:.1f} s")
            say(f"{name}: what the requests read into shared buffers: {prewarm(url):.1f} s")
            load = machine.wait_for_quiet((os.cpu_count() or 1) / 2, args.wait_quiet)
            say(f"{name}: load average {load:.2f} at the start of the measurements")
            backfilled = write_history_of(url)  # before any server starts: none writes it while measured
            say(f"{name}: score history, {backfilled[0]} closed days written in {backfilled[1]:.1f} s")
            comparison = None
            if args.compare:  # first, on the data as the scale describes it: the write phases below add to it
                say(f"{name}: the compare phase, healthdash against the simple reference")
                comparison = compare(url, folder, customer_count(url), args.seconds, say)
            result = bench_scale(url, name, folder, say, args.seconds, args.naive_budget, backfilled)
            result.comparison = comparison
            if args.pages:
                say(f"{name}: the pages phase, in Chromium")
                result.pages = measure_pages(url, folder / f"pages-{name}", say)
            results.append(result)
            mark_used(server, SCALES[name])
            about["load average at the end"] = machine.load_average()
            args.output.write_text(markdown(results, about, SERVER_SETTINGS, NOTES), encoding="utf-8")
            say(f"wrote {args.output}")
    finally:
        server.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
