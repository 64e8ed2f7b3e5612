"""Kernels forked from the kernel zygote: they run code like a kernel started as a process, with ipykernel already
imported; they are interrupted, shut down and stopped with the zygote; the zygote runs nothing but kernels."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager

from healthdash.forked_kernels import PROVISIONER, ZygoteProcess, Zygotes, notebook_of

KERNEL = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


@pytest.fixture(scope="module")
def zygote() -> Iterator[ZygoteProcess]:
    process = ZygoteProcess(["json"])
    process.start()
    yield process
    process.stop()


def ipywidgets_control_protocol() -> str:
    from ipywidgets._version import __control_protocol_version__

    return str(__control_protocol_version__)


def spec_folder(tmp_path: Path, argv: list[str], zygote_socket: str) -> Path:
    """A kernel spec whose kernels the healthdash provisioner starts with the given zygote."""
    folder = tmp_path / "kernels"
    spec = folder / "forked"
    spec.mkdir(parents=True)
    provisioner = {"provisioner_name": PROVISIONER, "config": {"zygote_socket": zygote_socket}}
    body = {
        "argv": argv,
        "display_name": "forked",
        "language": "python",
        "metadata": {"kernel_provisioner": provisioner},
    }
    (spec / "kernel.json").write_text(json.dumps(body))
    return folder


@contextlib.asynccontextmanager
async def started(tmp_path: Path, zygote: ZygoteProcess, argv: list[str] = KERNEL) -> AsyncIterator[AsyncKernelManager]:
    """A kernel started by the healthdash provisioner with `zygote`, in `tmp_path`, shut down at the end."""
    specs = KernelSpecManager(kernel_dirs=[str(spec_folder(tmp_path, argv, zygote.socket))])
    manager = AsyncKernelManager(kernel_name="forked", kernel_spec_manager=specs, transport="ipc")
    manager.connection_file = str(tmp_path / "kernel.json")
    await manager.start_kernel(cwd=str(tmp_path), env={**os.environ, "FORKED_TEST": "given"})
    try:
        yield manager
    finally:
        if await manager.is_alive():
            await manager.shutdown_kernel(now=True)
        await manager.cleanup_resources()


@contextlib.asynccontextmanager
async def ready_client(manager: AsyncKernelManager, timeout: float = 30) -> AsyncIterator[Any]:
    """A client of the kernel, its channels started and the kernel answering."""
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=timeout)
        yield client
    finally:
        client.stop_channels()


async def evaluate(manager: AsyncKernelManager, expression: str, timeout: float = 30) -> str:
    """Print `expression` in the kernel and return what it printed."""
    printed: list[str] = []

    def hook(message: dict[str, Any]) -> None:
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    async with ready_client(manager, timeout) as client:
        reply = await client.execute_interactive(
            f"import os, sys\nprint(repr(({expression})))", timeout=timeout, output_hook=hook
        )
        assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(printed).strip()


def test_a_forked_kernel_runs_code_in_its_folder_and_environment_with_ipykernel_already_imported(
    zygote: ZygoteProcess, tmp_path: Path
) -> None:
    async def body() -> None:
        async with started(tmp_path, zygote) as kernel:
            facts = await evaluate(
                kernel, "os.getppid(), os.getcwd(), os.environ['FORKED_TEST'], 'json' in sys.modules"
            )
            assert zygote.process is not None and kernel.provisioner is not None
            assert facts == repr((zygote.process.pid, str(tmp_path), "given", True))  # forked, not a new interpreter
            assert os.getpgid(kernel.provisioner.pid) == kernel.provisioner.pid  # its own group, as a spawned one

    asyncio.run(body())


def test_a_forked_kernel_sends_every_widgets_state_in_one_message_when_a_page_asks(
    zygote: ZygoteProcess, tmp_path: Path
) -> None:
    """ipywidgets was imported by the zygote before any kernel existed: a page's request for all states (the
    control comm) is still answered at once, rather than refused and replaced by a request per widget."""

    async def body() -> None:
        async with started(tmp_path, zygote) as kernel, ready_client(kernel) as client:
            made = await client.execute_interactive(
                "import ipywidgets\nsliders = [ipywidgets.IntSlider(value=n) for n in (3, 4)]", timeout=30
            )
            assert made["content"]["status"] == "ok", made["content"]
            control, version = "page-control", {"version": ipywidgets_control_protocol()}
            for kind, content in (
                ("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}}),
                ("comm_msg", {"comm_id": control, "data": {"method": "request_states"}}),
            ):
                client.shell_channel.send(client.session.msg(kind, content, metadata=version))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                message = await client.get_iopub_msg(timeout=30)
                kind, content = message["msg_type"], message["content"]
                assert not (kind == "comm_close" and content.get("comm_id") == control), "control comm refused"
                if kind == "comm_msg" and content["comm_id"] == control:
                    break
            else:
                raise AssertionError("no answer to request_states")
            assert content["data"]["method"] == "update_states"
            values = [state["state"].get("value") for state in content["data"]["states"].values()]
            assert sorted(v for v in values if v in (3, 4)) == [3, 4]  # both sliders, in the one message

    asyncio.run(body())


def test_a_forked_kernel_is_interrupted_and_shut_down_like_a_spawned_one(zygote: ZygoteProcess, tmp_path: Path) -> None:
    async def body() -> None:
        async with started(tmp_path, zygote) as kernel:
            async with ready_client(kernel) as client:
                client.execute("import time; time.sleep(60)")
                await asyncio.sleep(0.5)
                began = time.monotonic()
                await kernel.interrupt_kernel()
                while (message := await client.get_shell_msg(timeout=10))["msg_type"] != "execute_reply":
                    pass
                assert message["content"]["ename"] == "KeyboardInterrupt" and time.monotonic() - began < 5
            assert kernel.provisioner is not None
            pid = kernel.provisioner.pid
            await kernel.shutdown_kernel()
            assert not await kernel.is_alive()
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)  # ended, and reaped by the zygote

    asyncio.run(body())


def test_a_kernel_killed_from_outside_is_seen_dead_with_its_signal(zygote: ZygoteProcess, tmp_path: Path) -> None:
    async def body() -> None:
        async with started(tmp_path, zygote) as kernel:
            assert kernel.provisioner is not None
            os.kill(kernel.provisioner.pid, 9)
            deadline = time.monotonic() + 10
            while await kernel.is_alive():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            assert await kernel.provisioner.poll() == -9

    asyncio.run(body())


def ask(zygote: ZygoteProcess, request: bytes) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(10)
        connection.connect(zygote.socket)
        connection.sendall(request)
        return connection.recv(1024).decode()


def test_the_zygote_runs_no_command_but_a_kernel_of_its_own_interpreter(zygote: ZygoteProcess, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for argv in (["/bin/sh", "-c", f"touch {marker}"], ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "x"]):
        request = json.dumps({"argv": argv, "env": {}, "cwd": str(tmp_path)}).encode() + b"\n"
        assert ask(zygote, request).startswith("error not a kernel of this interpreter")
    assert ask(zygote, b"not json\n").startswith("error")
    assert ask(zygote, json.dumps({"argv": KERNEL, "cwd": "/"}).encode() + b"\n").startswith("error")
    time.sleep(0.2)
    assert not marker.exists()
    assert zygote.process is not None and zygote.process.poll() is None  # still serving
    assert oct(os.stat(zygote.socket).st_mode & 0o777) == "0o600"  # only the server's user reaches it


def test_a_command_the_zygote_does_not_run_starts_as_a_process(zygote: ZygoteProcess, tmp_path: Path) -> None:
    argv = [sys.executable, "-I", "-m", "ipykernel_launcher", "-f", "{connection_file}"]  # not the form it forks

    async def body() -> None:
        async with started(tmp_path, zygote, argv) as kernel:
            assert await evaluate(kernel, "os.getppid()") == str(os.getpid())  # started by this process, not forked

    asyncio.run(body())


def test_stopping_the_zygote_stops_the_kernels_it_forked(tmp_path: Path) -> None:
    zygote = ZygoteProcess([])
    zygote.start()

    async def body() -> None:
        async with started(tmp_path, zygote) as kernel:
            assert kernel.provisioner is not None
            pid = kernel.provisioner.pid
            assert await evaluate(kernel, "1 + 1") == "2"
            zygote.stop()
            assert not os.path.exists(zygote.socket)
            deadline = time.monotonic() + 10
            while await kernel.is_alive():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)

    asyncio.run(body())


def test_a_notebooks_own_zygote_starts_when_first_asked_for_and_again_if_it_died() -> None:
    assert notebook_of({"PAGE_KERNEL_NOTEBOOK": "explore.ipynb"}) == "explore.ipynb"  # a preheated kernel's
    assert notebook_of({"SCRIPT_NAME": "/voila/render/explore.ipynb"}) == "explore.ipynb"  # a page request's
    assert notebook_of({}) == ""
    zygotes = Zygotes({"explore.ipynb": ["json"]})
    assert "explore.ipynb" in zygotes and "dashboard.ipynb" not in zygotes
    try:
        first = zygotes.socket("explore.ipynb")
        assert os.path.exists(first) and zygotes.socket("explore.ipynb") == first  # started once
        os.kill(zygotes._running["explore.ipynb"].process.pid, 9)  # type: ignore[union-attr]
        zygotes._running["explore.ipynb"].process.wait()  # type: ignore[union-attr]
        again = zygotes.socket("explore.ipynb")
        assert again != first and os.path.exists(again)  # a new one in its place
    finally:
        zygotes.stop()
    assert not os.path.exists(again)
