"""The compare phase: a customer's health and single events, healthdash against the simple reference
(`benchmarks.reference`) on the same data in the same run, with requests made the same way, one after the other.

Health is measured for customers not read before (each customer once, in a random order, so healthdash has no answer
kept and computes it; its score board is built first, as in any running deployment), for answers computed afresh by
four clients at once (the same customers with page sizes of 51 to 100 events, which no answer kept holds, each asked
once, by wrk when it is installed: the throughput of computing answers), for customers read again, and with
`events_limit=500`. The reference is asked for other customers, drawn the same way: at L the side that went second
found in PostgreSQL's buffers the pages of events the first had just read. Then py-spy (when installed) samples the
server while it computes more answers (the same customers with page sizes of 49 events and fewer, which no answer
kept holds) and the report keeps the profile's top entries: the sampling takes a share of the two cores, so no
measured phase runs under it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from benchmarks import load
from benchmarks.report import AGAIN, FIRST, FIRST_BUSY, LONG, POSTS, POSTS_BUSY, Comparison, Side
from benchmarks.run import event_requests, running_server

ROOT = Path(__file__).resolve().parents[1]
PROFILE_ENTRIES = 15
REFERENCE_SEED = 12  # the order of the customers whose health the reference is asked (healthdash's: 11)
ENTRY_POINTS = ("__main__.py", "cli.py", "app.py")  # every sample of the event loop passes through these


def halves(customers: int, seed: int) -> tuple[list[int], list[int]]:
    """Return the customers' ids in a random order, split in two: those read first, those read with long pages."""
    order = list(range(1, customers + 1))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return order[:half], order[half:]


async def measure_health(port: int, customers: int, seconds: float, seed: int = 11, token: str = "") -> Side:
    """Run the health phases against a server on a port."""
    first, long = halves(customers, seed)

    def health(ids: Sequence[int], query: str = "") -> Callable[[int], load.Request]:
        return lambda n: load.Request("GET", f"/api/customers/{ids[n]}/health{query}", headers=load.bearer(token))

    again = [load.Request("GET", f"/api/customers/{i}/health", headers=load.bearer(token)) for i in first[:200]]
    count = min(len(first) * 50, round(seconds * load.ONCE_PER_SECOND))  # all of them, or more than can be sent
    afresh = [f"/api/customers/{first[n % len(first)]}/health?events_limit={100 - n // len(first)}"
              for n in range(count)]  # fmt: skip

    return _side(
        [
            (FIRST, await load.run_async(port, health(first), 1, seconds, len(first))),
            (FIRST_BUSY, await load.run_once(port, afresh, load.bearer(token), 4, seconds)),
            (AGAIN, await load.run_requests(port, again, seconds, 2)),
            (LONG, await load.run_async(port, health(long, "?events_limit=500"), 1, seconds, len(long))),
        ]
    )


async def computed_answers(port: int, customers: int, seconds: float, seed: int = 11, token: str = "") -> None:
    """Ask for answers no answer kept holds, for `seconds`: the first half of `measure_health`'s customers with page
    sizes of 49 events and fewer, each a new request to compute (for a profile of that path)."""
    first, long = halves(customers, seed)
    pages = [(limit, customer) for limit in range(49, 0, -1) for customer in first or long]

    def health(n: int) -> load.Request:
        limit, customer = pages[n]
        return load.Request("GET", f"/api/customers/{customer}/health?events_limit={limit}", headers=load.bearer(token))

    await load.run_async(port, health, 1, seconds, len(pages))


async def measure_events(port: int, token: str, customers: int, seconds: float, seed: int = 11) -> Side:
    """Run the single-event phases against a server on a port."""
    posts = event_requests(customers, token, 5000, seed=seed)
    return _side(
        [(label, await load.run_requests(port, posts, seconds, n)) for label, n in ((POSTS, 2), (POSTS_BUSY, 16))]
    )


def _side(phases: Sequence[tuple[str, load.LoadResult]]) -> Side:
    side = Side()
    for label, run in phases:
        side.phases[label] = (run.p(50), (run.requests - run.failures) / max(run.seconds, 1e-9))
    return side


@contextlib.contextmanager
def reference_server(url: str) -> Iterator[int]:
    """Run the reference implementation over a database; yield its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.reference", url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield int(line.strip().rstrip("/").rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def profiled(pid: int) -> Iterator[list[str]]:
    """Sample a process with py-spy while the context runs (nothing when py-spy is not installed); yield the top
    entries, filled in at the end: the share of samples in each function itself, then with what it called."""
    entries: list[str] = []
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        entries.append("py-spy is not installed (pip install py-spy): no profile")
        yield entries
        return
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "profile.txt"
        command = [spy, "record", "-p", str(pid), "-f", "raw", "-r", "200", "-o", str(out), "--nonblocking"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield entries
        finally:
            process.send_signal(2)  # py-spy writes its samples on SIGINT
            process.wait(30)
        if out.exists():
            entries.extend(top_entries(out.read_text(encoding="utf-8").splitlines()))


def top_entries(lines: Sequence[str], count: int = PROFILE_ENTRIES) -> list[str]:
    """Return the functions that took the most samples of busy threads (py-spy's raw format): by themselves, and
    healthdash's own with what they called."""
    itself: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in lines:
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        frames = stack.split(";")
        n = int(samples)
        total += n
        itself[frames[-1]] += n
        for frame in set(frames):
            if "healthdash/" in frame and not any(entry in frame for entry in ENTRY_POINTS):
                inclusive[frame] += n
    if not total:
        return []
    out = [f"itself: {n / total:.1%} {name}" for name, n in itself.most_common(count)]
    out += [f"in all: {n / total:.1%} {name}" for name, n in inclusive.most_common(count)]
    return out


def compare(url: str, folder: Path, customers: int, seconds: float, say: Callable[[str], None]) -> Comparison:
    """Measure healthdash on a fresh server, then the reference, on the same database."""
    with running_server(url, folder / "server-compare") as server:
        asyncio.run(_warm(server.port, server.token))
        ours = asyncio.run(measure_health(server.port, customers, seconds, token=server.token))
        with profiled(server.process.pid) as profile:  # after the measurements: sampling takes a share of the cores
            asyncio.run(computed_answers(server.port, customers, seconds, token=server.token))
        ours.phases.update(asyncio.run(measure_events(server.port, server.token, customers, seconds)).phases)
    with reference_server(url) as port:  # other customers: none whose pages healthdash's phases just read
        reference = asyncio.run(measure_health(port, customers, seconds, seed=REFERENCE_SEED))
        reference.phases.update(asyncio.run(measure_events(port, "", customers, seconds)).phases)
    result = Comparison(ours, reference, profile)
    for phase in ours.phases:
        (p50, rate), (ref_p50, ref_rate) = ours.phases[phase], reference.phases[phase]
        say(f"  compare {phase}: {rate:,.0f}/s p50 {p50:.2f} ms against {ref_rate:,.0f}/s p50 {ref_p50:.2f} ms")
    return result


async def _warm(port: int, token: str) -> None:
    """Read the dashboard once: the score board is built, as on any server that has been up for a while."""
    await load.run_async(port, lambda n: load.Request("GET", "/api/dashboard", headers=load.bearer(token)), 1, 60, 1)
