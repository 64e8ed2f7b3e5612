"""Page kernels forked from the kernel zygote (`kernel_zygote.py`) instead of started as new interpreters.

`ZygoteProcess` starts the zygote with the pages' modules and stops it with the server. `ForkedProvisioner` is the
kernel provisioner the server's kernel managers use (jupyter_client's, named `healthdash-forked` by the package's
entry point): it prepares a kernel exactly as jupyter_client's local provisioner does (connection file, environment,
command) and then asks the zygote to fork it; a command the zygote does not run, or a zygote that is not there,
starts the kernel as a new process, as before. `ForkedKernel` stands for the forked process where the provisioner
expects a `Popen`: its exit code comes from the zygote, signals go to its process group. `Zygotes` keeps the
zygotes of particular notebooks (Explore's, with pandas imported), each started when first needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from traitlets import Unicode

from healthdash.kernel_zygote import read_line, runs_here

PROVISIONER = "healthdash-forked"  # the entry point's name (pyproject.toml)
NOTEBOOK_VARIABLE = "PAGE_KERNEL_NOTEBOOK"  # a preheated kernel's notebook, in its environment (not a setting)
START_SECONDS = 60.0  # the longest the zygote may take to import the kernels' modules


class ForkedKernel:
    """A kernel the zygote forked, with the part of `Popen`'s interface that the provisioner uses."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, connection: socket.socket) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._connection = connection  # the zygote writes `exit N` on it once the kernel has ended

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                line = self._connection.recv(64)
            except BlockingIOError:
                return None
            except OSError:
                line = b""
            if line.startswith(b"exit "):
                self.returncode = int(line.split()[1])
            elif _alive(self.pid):  # the zygote went without a word: the kernel notices it and ends
                return None
            else:
                self.returncode = -signal.SIGKILL
            self._connection.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.01)
        return code

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkedProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, whose kernels the zygote forks when it can."""

    zygote_socket = Unicode("", config=True, help="The kernel zygote's socket; empty: kernels start as processes.")
    zygotes: Zygotes | None = None  # the server's other zygotes, by the notebook whose kernels they fork

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        if not self.zygote_socket or not runs_here(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        env = {str(k): str(v) for k, v in (kwargs.get("env") or os.environ).items()}
        cwd = str(kwargs.get("cwd") or Path.cwd())
        request = json.dumps({"argv": cmd, "env": env, "cwd": cwd}).encode() + b"\n"
        try:
            path = self.zygote_socket
            if self.zygotes is not None and (notebook := notebook_of(env)) in self.zygotes:
                path = await asyncio.to_thread(self.zygotes.socket, notebook)  # started when first needed
            pid, connection = await asyncio.to_thread(_fork, path, request)
        except (OSError, ValueError, RuntimeError) as exc:
            self.log.warning("The kernel zygote did not fork a kernel (%s): starting it as a process", exc)
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedKernel(pid, connection)  # type: ignore[assignment]  # what it uses of a Popen
        self.pid = self.pgid = pid  # the child leads its own process group, as a spawned kernel does
        self.cwd = cwd
        return self.connection_info


def notebook_of(env: dict[str, str]) -> str:
    """The notebook a page kernel is for: named by the pools (NOTEBOOK_VARIABLE), else by its page request's path."""
    named = env.get(NOTEBOOK_VARIABLE) or env.get("SCRIPT_NAME", "")
    return named.rsplit("/", 1)[-1]


def _fork(path: str, request: bytes) -> tuple[int, socket.socket]:
    """Send a kernel's request to the zygote; return the forked kernel's pid and the connection that reports its end."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(10.0)
        connection.connect(path)
        connection.sendall(request)
        answer = read_line(connection, 4096)
    except BaseException:
        connection.close()
        raise
    word, _, rest = answer.decode(errors="replace").strip().partition(" ")
    if word != "pid":
        connection.close()
        raise ConnectionError(rest or answer.decode(errors="replace"))
    connection.setblocking(False)  # `ForkedKernel.poll` only looks whether the end has been reported
    return int(rest), connection


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ZygoteProcess:
    """The server's kernel zygote: started with the modules its kernels import first, stopped with the server."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        self.folder = Path(tempfile.mkdtemp(prefix="healthdash-kernels-"))  # 0700: only the server's user
        self.socket = str(self.folder / "zygote")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, longest: float = START_SECONDS) -> None:
        """Start the zygote and return once it accepts requests (RuntimeError if it ends or takes too long)."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "healthdash.kernel_zygote", self.socket, *self.modules], stdin=subprocess.PIPE
        )
        deadline = time.monotonic() + longest
        while not os.path.exists(self.socket):
            if self.process.poll() is not None:
                raise RuntimeError(f"the kernel zygote ended at start with code {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the kernel zygote was not ready within {longest:.0f} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the zygote and every kernel it forked that is still running."""
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # type: ignore[union-attr]
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        with contextlib.suppress(OSError):
            os.unlink(self.socket)
        with contextlib.suppress(OSError):
            self.folder.rmdir()


class Zygotes:
    """Zygotes for the kernels of particular notebooks, each started when a kernel of its notebook is first asked for.

    Explore's kernels import pandas and numpy (0.35 CPU-seconds), which no other page needs: a zygote of their own
    has them imported, so that the other pages' kernels do not carry them.
    """

    def __init__(self, modules: dict[str, list[str]]) -> None:
        self.modules = modules  # notebook -> what its zygote imports
        self._running: dict[str, ZygoteProcess] = {}
        self._lock = threading.Lock()

    def __contains__(self, notebook: object) -> bool:
        return notebook in self.modules

    def socket(self, notebook: str) -> str:
        """Return the socket of the notebook's zygote, starting it first if need be (blocking: in a thread)."""
        with self._lock:
            zygote = self._running.get(notebook)
            if zygote is None or zygote.process is None or zygote.process.poll() is not None:
                zygote = ZygoteProcess(self.modules[notebook])
                zygote.start()
                self._running[notebook] = zygote
            return zygote.socket

    def stop(self) -> None:
        with self._lock:
            for zygote in self._running.values():
                zygote.stop()
            self._running.clear()
