"""Load generators for the benchmark: wrk with a generated Lua script, and a lean asyncio HTTP/1.1 client.

Both keep connections alive, stop after a number of requests or seconds, and only ever talk to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LOOPBACK = "127.0.0.1"


@dataclass
class LoadResult:
    """What a load run measured: latencies in milliseconds (or wrk's percentiles), requests and failures."""

    requests: int
    seconds: float
    failures: int = 0
    latencies: list[float] = field(default_factory=list)
    quantiles: dict[int, float] = field(default_factory=dict)  # from wrk: percentile -> milliseconds

    def p(self, q: int) -> float:
        """Return a latency percentile in milliseconds (interpolated between the closest ranks; NaN for none)."""
        if q in self.quantiles:
            return self.quantiles[q]
        return float(np.percentile(self.latencies, q)) if self.latencies else math.nan

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Request:
    """One HTTP request of a load run."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {LOOPBACK}", "Connection: keep-alive"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method == "POST":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """Return the header that authorises a request with this token (none for an empty token)."""
    return (("Authorization", f"Bearer {token}"),) if token else ()


def have_wrk() -> bool:
    """Tell whether wrk is installed."""
    return shutil.which("wrk") is not None


# the end of every wrk script here: its results as one JSON line (`parse_wrk`)
_REPORT = (
    "function done(summary, latency, requests)\n"
    "  local e = summary.errors\n"
    '  io.write(string.format(\'WRKJSON {"requests": %d, "duration_us": %d, "failures": %d, '
    '"p50": %d, "p95": %d, "p99": %d}\\n\', summary.requests, summary.duration, '
    "e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(95), "
    "latency:percentile(99)))\n"
    "end\n"
)


def lua_script(requests: Sequence[Request]) -> str:
    """Return a wrk script that sends the requests round-robin and prints its results as one JSON line."""

    def quote(value: str | bytes) -> str:
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        return json.dumps(text, ensure_ascii=False)  # a valid Lua string: quotes and backslashes escaped

    rows = []
    for r in requests:
        headers = ", ".join(f"[{quote(k)}] = {quote(v)}" for k, v in r.headers)
        rows.append(f"  {{{quote(r.method)}, {quote(r.path)}, {{{headers}}}, {quote(r.body) if r.body else 'nil'}}},")
    return (
        "local requests = {\n" + "\n".join(rows) + "\n}\n"
        "local i = 0\n"
        "function setup(thread) thread:set('offset', math.random(1, #requests)) end\n"
        "function init(args) i = offset or 0 end\n"
        "function request()\n"
        "  i = i % #requests + 1\n"
        "  local r = requests[i]\n"
        "  return wrk.format(r[1], r[2], r[3], r[4])\n"
        "end\n" + _REPORT
    )


ONCE_PER_SECOND = 20_000  # paths a run of each request once hands wrk per second of the phase: more than it can send


def once_script(paths_file: str, headers: Sequence[tuple[str, str]]) -> str:
    """Return a wrk script that GETs the paths of a file (one a line) in order, and prints its results as
    `lua_script`'s does. wrk runs for its whole duration: the file must hold more paths than it can send."""
    fields = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers)
    return (
        f"local headers = {{{fields}}}\n"
        "local paths = {}\n"
        "local sent = 0\n"
        f"function init(args) for line in io.lines({json.dumps(paths_file)}) do paths[#paths + 1] = line end end\n"
        "function request()\n"
        "  sent = sent % #paths + 1\n"
        '  return wrk.format("GET", paths[sent], headers)\n'
        "end\n" + _REPORT
    )


def parse_wrk(output: str) -> LoadResult:
    """Read the JSON line the script prints."""
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            data = json.loads(line[len("WRKJSON ") :])
            quantiles = {q: data[f"p{q}"] / 1000 for q in (50, 95, 99)}
            return LoadResult(data["requests"], data["duration_us"] / 1e6, data["failures"], quantiles=quantiles)
    raise RuntimeError(f"wrk printed no results:\n{output[-2000:]}")


async def run_requests(port: int, requests: Sequence[Request], seconds: float, connections: int) -> LoadResult:
    """Send the requests round-robin for a number of seconds: with wrk when it is installed, else from here."""
    if have_wrk():
        return await asyncio.to_thread(run_wrk, port, requests, seconds, connections)
    return await run_async(port, lambda n: requests[n % len(requests)], connections, seconds)


def run_wrk(port: int, requests: Sequence[Request], seconds: float, connections: int, threads: int = 1) -> LoadResult:
    """Send the requests round-robin with wrk for a number of seconds; return its measurements."""
    return _wrk(port, lambda folder: lua_script(requests), seconds, connections, threads)


def _wrk(port: int, script: Callable[[Path], str], seconds: float, connections: int, threads: int = 1) -> LoadResult:
    """Run wrk with the script made by `script(folder)` (which may write the files it reads into that folder)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "script.lua"
        path.write_text(script(Path(folder)), encoding="utf-8")
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        command += ["-s", str(path), f"http://{LOOPBACK}:{port}/"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    return parse_wrk(done.stdout + done.stderr)


async def run_once(
    port: int, paths: Sequence[str], headers: Sequence[tuple[str, str]], connections: int, seconds: float
) -> LoadResult:
    """GET each path once, in order, for a number of seconds or until every path is answered: with wrk (one thread,
    the client that takes least of the machine's two cores from the server) when it is installed and there are more
    paths than it can send in the time, else from here."""
    wanted = round(seconds * ONCE_PER_SECOND)
    if not have_wrk() or len(paths) < wanted:
        return await run_async(port, lambda n: Request("GET", paths[n], headers=tuple(headers)), connections, seconds,
                               len(paths))  # fmt: skip
    result = await asyncio.to_thread(_run_wrk_once, port, paths[:wanted], headers, seconds, connections)
    if result.requests >= wanted:  # it went round the paths again: some answers were kept ones
        raise RuntimeError(f"wrk sent all {wanted:,} paths in {seconds:g} s: raise ONCE_PER_SECOND")
    return result


def _run_wrk_once(
    port: int, paths: Sequence[str], headers: Sequence[tuple[str, str]], seconds: float, connections: int
) -> LoadResult:
    def script(folder: Path) -> str:
        listed = folder / "paths.txt"
        listed.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
        return once_script(str(listed), headers)

    return _wrk(port, script, seconds, connections)


async def run_async(
    port: int,
    make: Callable[[int], Request],
    connections: int,
    seconds: float,
    limit: int | None = None,
) -> LoadResult:
    """Send requests (the n-th made by `make(n)`) over keep-alive connections for a time or a number of requests."""
    deadline = time.monotonic() + seconds
    counter = iter(range(limit if limit is not None else 10**12))
    result = LoadResult(0, 0.0)
    started = time.monotonic()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        try:
            while time.monotonic() < deadline:
                n = next(counter, None)
                if n is None:
                    return
                began = time.perf_counter()
                writer.write(make(n).encode())
                status = await read_response(reader)
                result.latencies.append((time.perf_counter() - began) * 1000)
                result.requests += 1
                if status >= 400:
                    result.failures += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    result.seconds = time.monotonic() - started
    return result


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (with a Content-Length body); return its status."""
    status, _, _ = await read_full_response(reader)
    return status


async def read_full_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Read one response with a Content-Length body: its status, headers (lower-case names) and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body
