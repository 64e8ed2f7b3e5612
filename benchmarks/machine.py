"""What the benchmark reads about the machine and its processes, from /proc."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(text: str) -> list[str]:
    """Split /proc/<pid>/stat after the command name (which may hold spaces): fields 3 onwards."""
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float:
    """Return the CPU time a process has used (user and system), 0 if it is gone."""
    try:
        fields = stat_fields((proc / str(pid) / "stat").read_text())
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Return the processes whose parent is `pid`."""
    found = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                if int(stat_fields((entry / "stat").read_text())[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def descendants(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Return the processes below `pid`: its children, theirs, and so on."""
    found, queue = [], [pid]
    while queue:
        below = children(queue.pop(), proc)
        found += below
        queue += below
    return found


def command(pid: int, proc: Path = Path("/proc")) -> list[str]:
    """Return a process's command line ([] if it is gone)."""
    try:
        return (proc / str(pid) / "cmdline").read_text().split("\0")[:-1]
    except OSError:
        return []


def zygotes(server: int, proc: Path = Path("/proc")) -> list[int]:
    """Return a healthdash server's kernel zygote (the process its page kernels are forked from), if it has one."""
    return [pid for pid in children(server, proc) if "healthdash.kernel_zygote" in command(pid, proc)]


def page_kernels(server: int, proc: Path = Path("/proc")) -> list[int]:
    """Return a healthdash server's page kernels: its processes other than the kernel zygote they are forked from."""
    apart = set(zygotes(server, proc))
    return [pid for pid in descendants(server, proc) if pid not in apart]


def own_memory_mb(pid: int, proc: Path = Path("/proc")) -> float:
    """Return the memory only this process holds, in MB (its private pages: a forked process shares the rest with
    its parent, which its RSS counts too)."""
    total = 0
    try:
        for line in (proc / str(pid) / "smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("Private_Clean", "Private_Dirty"):
                total += int(rest.split()[0])
    except OSError:
        return 0.0
    return total / 1024


def memory_mb(pid: int, proc: Path = Path("/proc")) -> tuple[float, float]:
    """Return a process's resident memory now and at its peak, in MB (VmRSS, VmHWM)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def describe(proc: Path = Path("/proc")) -> dict[str, str]:
    """Return the machine's processor, core count, memory, system and load."""
    model = "unknown"
    try:
        for line in (proc / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory = next(x for x in (proc / "meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        total = f"{int(memory.split()[1]) / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        total = "unknown"
    return {
        "processor": f"{model}, {os.cpu_count()} cores",
        "memory": total,
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "memory reclaim": reclaim(),
        "load average at the start": load_average(proc),
    }


def reclaim(damon: Path = Path("/sys/kernel/mm/damon/admin/kdamonds")) -> str:
    """Say whether the kernel pages out memory left idle (a DAMON `pageout` scheme running), and after how long: the
    operating system's cache then keeps only what was read lately."""
    idle: list[float] = []
    for scheme in damon.glob("*/contexts/*/schemes/*"):
        try:
            context = scheme.parents[1]
            if (context.parents[1] / "state").read_text().strip() != "on":
                continue
            if (scheme / "action").read_text().strip() != "pageout":
                continue
            age = int((scheme / "access_pattern/age/min").read_text())
            interval = int((context / "monitoring_attrs/intervals/aggr_us").read_text())
        except (OSError, ValueError):
            continue
        idle.append(age * interval / 1e6)
    if not idle:
        return "no idle memory paged out by the kernel"
    return f"the kernel pages out memory idle for {min(idle):g} s (DAMON), the file cache included"


def load_average(proc: Path = Path("/proc")) -> str:
    """Return the 1, 5 and 15 minute load averages (other processes compete for the same cores)."""
    try:
        return " ".join((proc / "loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def wait_for_quiet(
    cores: float,
    longest: float,
    proc: Path = Path("/proc"),
    pause: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Wait (at most `longest` seconds) until the 1-minute load average is below `cores`; return the load then."""
    waited = 0.0
    while True:
        try:
            load = float((proc / "loadavg").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return math.nan
        if load < cores or waited >= longest:
            return load
        sleep(pause)
        waited += pause
