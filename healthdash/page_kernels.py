"""The pages' preheated kernels: a pool per notebook that serves a burst of visitors as fast as the cores allow.

Voila's own pool hands a request the oldest kernel of its notebook's pool, ready or still starting, and starts its
replacement a second later: with ten requests for a page whose pool holds one kernel, nine requests each wait for
a kernel started for them, nine kernels starting at once on the same cores, every one of them ready late.

Here a request takes a kernel that has already run its notebook up to the page's request (the cell that waits for
it); when none is ready, it waits for whichever becomes ready first. Kernels are started as soon as one is taken or
a request waits, but never more at once than `parallel_starts` (the cores): each then starts at full speed, and the
first waiting request is served after one kernel start rather than after all of them. Each notebook has its own
pool size (`pool_sizes`, else `pool_size`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter, defaultdict, deque
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Dict, Float, Int
from voila.utils import ENV_VARIABLE
from voila.voila_kernel_manager import voila_kernel_manager_factory

from healthdash.forked_kernels import NOTEBOOK_VARIABLE

Prepared = dict[str, Any]  # Voila's record of a started kernel: its "kernel_id", "renderer" and render "task"

# Voila's preheating kernel manager, with no pool of its own: `PageKernels` keeps the pools
VoilaKernels: Any = voila_kernel_manager_factory(AsyncMappingKernelManager, preheat_kernel=True, default_pool_size=0)


class PageKernels(VoilaKernels):  # type: ignore[misc]
    """Voila's kernel manager with a pool per notebook that hands out the kernel ready first."""

    pool_size = Int(1, config=True, help="Kernels kept ready for each notebook that `pool_sizes` does not name.")
    pool_sizes = Dict(
        value_trait=Int(),
        config=True,
        help="Kernels kept ready for a notebook, by its path under the notebooks folder (e.g. dashboard.ipynb).",
    )
    parallel_starts = Int(
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
        config=True,
        help="Most kernels starting at once: more would only share the cores, every one of them ready later.",
    )
    start_timeout = Float(
        120.0,
        config=True,
        help="Seconds a kernel may take to reach its page's request; one that takes longer is handed out as it is.",
    )

    def __init__(self, **kwargs: Any) -> None:
        self._ready: defaultdict[str, deque[Prepared]] = defaultdict(deque)
        self._waiting: defaultdict[str, deque[asyncio.Future[Prepared]]] = defaultdict(deque)
        self._starting: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._arrivals: dict[str, asyncio.Event] = {}  # kernel being prepared -> set once it asks for its request
        super().__init__(**kwargs)  # fills every notebook's pool (through `fill_if_needed`)

    def size_of(self, notebook: str) -> int:
        """How many kernels are kept ready for a notebook."""
        return max(0, int(self.pool_sizes.get(notebook, self.pool_size)))

    def get_pool_size(self, notebook_name: str) -> int:
        """Tell Voila's page handler whether the notebook's pages take their kernel from the pool (0: they do not)."""
        return self.size_of(notebook_name)

    def fill_if_needed(self, delay: float | None = None, notebook_name: str | None = None, **kwargs: Any) -> None:
        """Start kernels until the notebook has as many ready or starting as its pool size and waiting requests."""
        if notebook_name is None:
            return
        wanted = self.size_of(notebook_name) + len(self._waiting[notebook_name])
        missing = wanted - len(self._ready[notebook_name]) - self._starting[notebook_name]
        for _ in range(missing):
            self._starting[notebook_name] += 1
            task = _event_loop().create_task(self._prepare(notebook_name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def get_rendered_notebook(
        self, notebook_name: str, extra_kernel_env_variables: dict[str, str] | None = None, **_: Any
    ) -> tuple[asyncio.Task[Any], list[str], str]:
        """Take a kernel for a page: a ready one, else the first to become ready; return what Voila renders from."""
        prepared = await self._take(notebook_name)
        renderer = prepared["renderer"]
        renderer.stop_generator = True  # the render stops after the cell waiting for the request: the page goes on
        self.log.info("Using pre-heated kernel: %s for %s", prepared["kernel_id"], notebook_name)
        return prepared["task"], renderer.rendered_cache, prepared["kernel_id"]

    async def filled(self, longest: float) -> None:
        """Return once no kernel is starting (every pool full and every request served), or after `longest`."""
        deadline = time.monotonic() + longest
        while any(self._starting.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def asking(self, kernel_id: str) -> None:
        """A kernel has asked the server for its page's request: it has run its notebook up to the visitor."""
        if (arrived := self._arrivals.get(kernel_id)) is not None:
            arrived.set()

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:
        for ready in self._ready.values():
            for prepared in [p for p in ready if p["kernel_id"] == kernel_id]:
                ready.remove(prepared)
        await super().shutdown_kernel(kernel_id, *args, **kwargs)

    async def shutdown_all(self, *args: Any, **kwargs: Any) -> None:
        """Shut down every kernel, those still starting as well.

        A server stopped while its pools fill (a signal in its first seconds) shuts down on an event loop of its own:
        the starts begun on the stopped one cannot be awaited there, and their kernels are shut down as they are
        found. A kernel gone meanwhile (its start failed, or it was shut down already) is no error at this point.
        """
        loop = asyncio.get_running_loop()
        starting = [task for task in self._tasks if task.get_loop() is loop]
        await self._shutdown_each(*args, **kwargs)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*starting, return_exceptions=True), timeout=10)
        self._ready.clear()
        await self._shutdown_each(*args, **kwargs)  # the kernels that finished starting meanwhile

    async def _shutdown_each(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().shutdown_all(*args, **kwargs)
        except Exception as error:  # one kernel's failure: each one left is shut down below on its own
            self.log.debug("shutting down every kernel at once: %s", error)
        ids = list(self.list_kernel_ids())
        shutdowns = (self.shutdown_kernel(kernel_id, *args, **kwargs) for kernel_id in ids)
        outcomes = await asyncio.gather(*shutdowns, return_exceptions=True)
        for kernel_id, outcome in zip(ids, outcomes, strict=True):
            if isinstance(outcome, Exception) and kernel_id in self:
                self.log.warning("kernel %s did not shut down: %s", kernel_id, outcome)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Cull idle page kernels, never a ready one: it waits for its visitor."""
        if any(p["kernel_id"] == kernel_id for ready in self._ready.values() for p in ready):
            return
        await super().cull_kernel_if_idle(kernel_id)

    async def _take(self, notebook: str) -> Prepared:
        ready = self._ready[notebook]
        while ready:
            prepared = ready.popleft()
            if prepared["kernel_id"] in self:  # not culled or gone meanwhile
                self.fill_if_needed(notebook_name=notebook)  # its replacement
                return prepared
        waiter: asyncio.Future[Prepared] = asyncio.get_running_loop().create_future()
        self._waiting[notebook].append(waiter)
        self.fill_if_needed(notebook_name=notebook)  # a kernel more, for this request
        try:
            return await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._waiting[notebook].remove(waiter)

    async def _prepare(self, notebook: str) -> None:
        """Start a kernel and run its notebook up to the page's request; hand it to a waiting request or the pool."""
        try:
            async with self._start_slots():
                prepared: Prepared = await self._initialize(notebook, None, **self._start_arguments(notebook))
                await self._at_request(prepared)
        except Exception as exc:  # the request waiting for it is told; the pool refills on the next
            self.log.error("A kernel for %s failed to start: %s", notebook, exc)
            self._starting[notebook] -= 1
            self._hand_over(notebook, None, exc)
            return
        self._starting[notebook] -= 1
        self._hand_over(notebook, prepared)

    def _hand_over(self, notebook: str, prepared: Prepared | None, failure: Exception | None = None) -> None:
        waiting = self._waiting[notebook]
        while waiting:
            waiter = waiting.popleft()
            if waiter.done():
                continue
            if prepared is not None:
                waiter.set_result(prepared)
            else:
                waiter.set_exception(failure or RuntimeError(f"no kernel for {notebook}"))
            return
        if prepared is not None:
            self._ready[notebook].append(prepared)
            if len(self._ready[notebook]) == self.size_of(notebook):
                self.log.info("Kernel pool of %s is filled with %s kernel(s)", notebook, self.size_of(notebook))

    async def _at_request(self, prepared: Prepared) -> None:
        """Wait until the kernel asks for its page's request (`asking`), or its run ended, or `start_timeout`."""
        task, kernel_id = prepared["task"], prepared["kernel_id"]
        arrived = self._arrivals[kernel_id] = asyncio.Event()
        asked = asyncio.ensure_future(arrived.wait())
        try:
            await asyncio.wait([task, asked], timeout=self.start_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            asked.cancel()
            del self._arrivals[kernel_id]

    def _start_slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self.parallel_starts))
        return self._slots

    def _start_arguments(self, notebook: str) -> dict[str, Any]:
        """The folder and environment of a preheated kernel (as Voila's pool gives them)."""
        env = {**self.default_env_variables, **os.environ}
        env[ENV_VARIABLE.VOILA_BASE_URL] = self.parent.base_url
        env[ENV_VARIABLE.VOILA_SERVER_URL] = self.parent.server_url
        env[ENV_VARIABLE.VOILA_APP_PORT] = str(self.parent.port)
        env[ENV_VARIABLE.VOILA_PREHEAT] = "True"
        env[NOTEBOOK_VARIABLE] = notebook  # which zygote forks it (see `forked_kernels.Zygotes`)
        return {"path": os.path.dirname(notebook), "env": env}


def _event_loop() -> asyncio.AbstractEventLoop:
    """The running event loop, or (at start-up, before the server runs it) the one the server will run."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()
