"""The process the pages' kernels are forked from, with Python, ipykernel and the pages' widgets already imported.

    python -m healthdash.kernel_zygote SOCKET [MODULE ...]

A page kernel started as a new interpreter spends about 0.4 CPU-seconds importing ipykernel, ipywidgets and the
page's widgets before it runs its notebook's first cell: over half of what a page view that finds no preheated kernel
costs, and what a burst of visitors waits for. The server starts this process once (`forked_kernels.py`); it imports
all that, then listens on a unix socket in the server's private folder. For each kernel the server sends the
kernel's command, environment and folder; the zygote forks, the child becomes the kernel (a session of its own, the
environment it was given, `ipykernel`'s own entry point), and the zygote answers with the child's pid and, once the
child has exited, its exit code. A forked kernel shares the zygote's memory until it writes to it.

Protocol, one connection per kernel: the server sends one JSON line `{"argv": [...], "env": {...}, "cwd": "..."}`;
the zygote answers `pid N` (or `error TEXT`) and later `exit N`, each a line. Only `PYTHON -m ipykernel_launcher ...`
with this interpreter is run: the zygote never executes any other command. It exits, stopping the kernels it
forked, once its standard input closes (the server has gone) or on SIGTERM.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
from typing import Any, NoReturn

KERNEL_MODULE = "ipykernel_launcher"
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipywidgets")  # always; the server adds the pages' modules
LONGEST_REQUEST = 1 << 20  # bytes of one request line (a kernel's environment)
REQUEST_SECONDS = 5.0  # the server sends its request at once; a connection that does not is dropped
STOP_SECONDS = 3.0  # how long the kernels get to end on SIGTERM when the zygote stops, before SIGKILL


def runs_here(argv: list[str]) -> bool:
    """Tell whether a kernel command is ipykernel's entry point under this interpreter: the only one forked."""
    return (
        len(argv) >= 3
        and argv[1:3] == ["-m", KERNEL_MODULE]
        and os.path.realpath(argv[0]) == os.path.realpath(sys.executable)
    )


def preload(modules: list[str]) -> None:
    """Import what every kernel needs before it runs a cell; no thread may be left running (it would not survive
    a fork, holding whatever lock it held)."""
    for name in (*PRELOAD, *modules):
        importlib.import_module(name)
    if threading.active_count() != 1:
        raise RuntimeError(f"importing the kernels' modules started threads: {threading.enumerate()}")


class Zygote:
    """The zygote's loop: accept a request, fork a kernel, report its pid and later its exit code."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, tuple[int, socket.socket]] = {}  # pid -> (its pidfd, the server's connection)

    def serve(self) -> None:
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "server")
        while True:
            for key, _ in self.selector.select():
                if key.data == "accept":
                    self._accept()
                elif key.data == "server":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return  # the server has gone
                else:
                    self._reap(key.data)

    def stop(self) -> None:
        """Stop every kernel still running: SIGTERM to its session, SIGKILL to those left after STOP_SECONDS."""
        for pid in self.children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self.children and time.monotonic() < deadline:
            for pid in list(self.children):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    self._forget(pid, None)
            time.sleep(0.05)
        for pid in list(self.children):
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self._forget(pid, None)

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        try:
            connection.settimeout(REQUEST_SECONDS)
            request = _request(connection)
            if not runs_here(request["argv"]):
                raise ValueError(f"not a kernel of this interpreter: {request['argv'][:3]}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            with contextlib.suppress(OSError):
                connection.sendall(f"error {exc}\n".encode())
            connection.close()
            return
        pid = os.fork()
        if pid == 0:
            self._become_kernel(request)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = (pidfd, connection)
        self.selector.register(pidfd, selectors.EVENT_READ, pid)
        with contextlib.suppress(OSError):
            connection.sendall(f"pid {pid}\n".encode())

    def _reap(self, pid: int) -> None:
        _, status = os.waitpid(pid, 0)
        self._forget(pid, os.waitstatus_to_exitcode(status))

    def _forget(self, pid: int, code: int | None) -> None:
        pidfd, connection = self.children.pop(pid)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(pidfd)
        os.close(pidfd)
        with contextlib.suppress(OSError):
            connection.sendall(f"exit {code if code is not None else -signal.SIGKILL}\n".encode())
        connection.close()

    def _become_kernel(self, request: dict[str, Any]) -> NoReturn:
        """In the child: drop the zygote's sockets and signal handlers, take the kernel's session, environment and
        folder, and run ipykernel's entry point with the kernel's arguments."""
        code = 1
        try:
            zygote = os.getppid()
            os.setsid()  # its own session and process group: the server signals the group, as for a spawned kernel
            for pidfd, connection in self.children.values():
                os.close(pidfd)
                connection.close()
            self.selector.close()
            self.listener.close()
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(number, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)  # not the server's pipe: only the zygote watches that
            os.close(null)
            os.environ.clear()
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            argv = [*request["argv"][3:], f"--IPKernelApp.parent_handle={zygote}"]  # ends if the zygote goes
            sys.argv = [KERNEL_MODULE, *argv]
            import ipywidgets
            from ipykernel import kernelapp

            app = kernelapp.IPKernelApp.instance()  # what ipykernel's entry point does, with one step between
            app.initialize(argv)  # type: ignore[no-untyped-call]
            # ipywidgets registers its comm targets when it is first imported into a running kernel; preloaded
            # before any kernel existed, it is told now. Without its control target a page cannot ask for every
            # widget's state in one message and falls back to a request per widget.
            ipywidgets.register_comm_target()
            app.start()  # type: ignore[no-untyped-call]
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def read_line(connection: socket.socket, longest: int) -> bytes:
    """Read one line (both sides of the protocol send whole lines); ConnectionError if the other side ends it early,
    ValueError past `longest` bytes."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the connection ended within a line")
        data += chunk
        if len(data) > longest:
            raise ValueError("the line is too long")
    return data


def _request(connection: socket.socket) -> dict[str, Any]:
    request = json.loads(read_line(connection, LONGEST_REQUEST))
    if not isinstance(request, dict) or not isinstance(request.get("env"), dict):
        raise ValueError("a request is an object with argv, env and cwd")
    if not all(isinstance(part, str) for part in request["argv"]) or not isinstance(request["cwd"], str):
        raise ValueError("argv is a list of strings and cwd a string")
    return request


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, number)


def main(argv: list[str]) -> None:
    path, modules = argv[0], argv[1:]
    preload(modules)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    binding = f"{path}.{os.getpid()}"
    listener.bind(binding)
    os.chmod(binding, 0o600)
    listener.listen(64)
    os.rename(binding, path)  # the socket appears once it accepts: the server waits for the path
    zygote = Zygote(listener)

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops the zygote
    try:
        zygote.serve()
    finally:
        zygote.stop()
        with contextlib.suppress(OSError):
            os.unlink(path)


if __name__ == "__main__":
    main(sys.argv[1:])
