"""Who uses an embedded PostgreSQL server, and the watchdog that stops it once none of them is alive.

The watchdog runs as a script (``python -P watchdog.py DATA_DIR UID GID POSTGRES_COMMAND...``) so that it
imports nothing but the standard library: it starts the server as its child, then polls the registered users.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

POLL_SECONDS = 0.5
STOP_TIMEOUT_SECONDS = 60.0


def process_start_time(pid: int) -> int | None:
    """Return when a live process started (clock ticks since boot), or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name in parentheses may contain spaces
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's exclusive lock, waiting for other processes to release it."""
    with open(data_dir / "lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def register_user(users_dir: Path) -> Path:
    """Record the current process as a user of the server and return its registration file."""
    pid = os.getpid()
    registration = users_dir / f"{pid}-{secrets.token_hex(4)}"
    registration.write_text(str(process_start_time(pid)))
    return registration


def count_live_users(users_dir: Path) -> int:
    """Count the registered processes still alive, forgetting those that are gone."""
    live = 0
    for registration in users_dir.iterdir():
        pid = registration.name.partition("-")[0]
        start_time = process_start_time(int(pid)) if pid.isdigit() else None
        if start_time is not None and str(start_time) == registration.read_text():
            live += 1
        else:
            registration.unlink()
    return live


def shut_down(server: subprocess.Popen[bytes]) -> None:
    """Stop the server with a fast shutdown, killing it if that takes too long."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def watch(data_dir: Path, server: subprocess.Popen[bytes]) -> None:
    """Stop the server once none of its registered users is alive; return when it has exited."""
    while True:
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=POLL_SECONDS)
            return
        with data_dir_lock(data_dir):
            if server.poll() is None and count_live_users(data_dir / "users") == 0:
                shut_down(server)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)


def main(argv: list[str]) -> None:
    """Start the server command as the given account and watch it."""
    data_dir, uid, gid, *command = argv
    signal.signal(signal.SIGTERM, _exit_on_signal)
    server = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        cwd=data_dir,
        user=int(uid),
        group=int(gid),
        extra_groups=[] if os.geteuid() == 0 else None,
    )
    try:
        watch(Path(data_dir), server)
    finally:
        if server.poll() is None:
            shut_down(server)


if __name__ == "__main__":
    main(sys.argv[1:])
