"""One server for the web app and the REST API: standalone Voila with the API handlers mounted first."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from jupyter_server.utils import url_path_join
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback
from tornado.netutil import bind_sockets
from traitlets import Any as AnyTrait
from traitlets import Dict, Instance, List
from traitlets.config import Config
from voila.app import Voila

from healthdash.access import Authenticator, Lifetimes, People
from healthdash.access.authenticator import parse_networks
from healthdash.access.throttle import SignInThrottle
from healthdash.api.context import ApiContext, BodyLimits
from healthdash.api.routes import api_handlers
from healthdash.board import ScoreBoard
from healthdash.clock import utc_now
from healthdash.db.database import resolve_database_url
from healthdash.db.engine import async_connector, make_engine
from healthdash.db.listener import ChangeListener
from healthdash.db.loop_reader import LoopReader
from healthdash.error_pages import NotFoundPage
from healthdash.forked_kernels import PROVISIONER, ForkedProvisioner, ZygoteProcess, Zygotes
from healthdash.gate import GateLimits, RequestGate
from healthdash.hosts import allowed_hosts
from healthdash.identity import HealthdashIdentity, KernelOwners
from healthdash.kernel_caps import KernelCaps
from healthdash.memory import freeze_long_lived_objects, space_out_collections, tune_malloc
from healthdash.notary import PagesNotary
from healthdash.page_kernels import PageKernels
from healthdash.page_routes import page_routes
from healthdash.page_templates import share_compiled_templates
from healthdash.page_tokens import HEADER, ROLE_HEADER, SWEEP_SECONDS, PageTokens
from healthdash.page_warmup import warm_api, warm_pages
from healthdash.score_history import HistoryKeeper, HistoryRecorder
from healthdash.security_headers import HEADERS as SECURITY_HEADERS
from healthdash.security_headers import cookie_options
from healthdash.service import HealthService
from healthdash.settings import PAGES, Settings, get_settings
from healthdash.sign_in import SessionCookie, sign_in_routes
from healthdash.tokens import write_tokens
from healthdash.vocabulary import VALIDATION_DAYS, VALIDATION_HORIZON, VALIDATION_LEAD

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "templates"
SWITCH_INTERVAL = 0.001  # seconds
POOL_FILL_SECONDS = 120.0  # the longest the server waits for its preheated kernels before it says it is serving
FIRST_READS = ("/api/dashboard", "/api/customers")  # what the pages' kernels read first, read once before serving
# imported by the kernel zygote before it forks a page's kernel: the widgets of every page but Explore
ZYGOTE_MODULES = ("request", "dashboard_page", "customers_page", "customer_page", "validation_page")
log = logging.getLogger("healthdash")


class HealthdashServer(Voila):  # type: ignore[misc]
    """Voila serving the notebooks, with the healthdash API and a home-page redirect ahead of its own routes."""

    name = "healthdash"
    api_context = AnyTrait(None, help="The ApiContext shared by the API handlers (set before start).")
    sockets = List(
        Instance(socket.socket),
        help="The listening sockets, bound before start so that their port is known (HEALTHDASH_PORT=0 picks one).",
    )

    allowed_hosts = AnyTrait(
        frozenset({"localhost", "127.0.0.1", "::1"}), help="The Host names the server answers to (others get 400)."
    )
    gate_limits = Instance(GateLimits, args=(), help="The sizes a request's URL, headers and query may have.")
    http_options = Dict(
        help="Keyword arguments of Tornado's HTTPServer: the body, buffer and header limits and the timeouts."
    )
    session_cookie = Instance(SessionCookie, args=(), help="How the session cookie is set (Secure behind https).")
    page_tokens = AnyTrait(None, help="The PageTokens of the pages' kernels (set before start).")

    def init_handlers(self) -> list[Any]:
        ours: list[Any] = api_handlers(self.server_url, self.api_context)
        # the sign-in pages and the root (a one-time sign-in link, else the dashboard); no notebook tree
        signing = sign_in_routes(self.api_context, SignInThrottle(), self.session_cookie)
        ours += [(url_path_join(self.server_url, pattern), *rest) for pattern, *rest in signing]
        return ours + page_routes(super().init_handlers(), set())

    def init_settings(self) -> dict[str, Any]:
        """Voila's settings, with the page notebooks trusted as the app's own code (see healthdash.notary), and what
        the page handler needs to give each kernel its visitor's token."""
        settings: dict[str, Any] = super().init_settings()
        self.contents_manager.notary = PagesNotary(parent=self.contents_manager)  # type: ignore[no-untyped-call]
        settings["healthdash_api"] = self.api_context
        settings["healthdash_page_tokens"] = self.page_tokens
        if self.voila_configuration.preheat_kernel:
            # Voila's own pool is empty (its pool size is 0): PageKernels keeps the pages' pools instead
            voila_kernels: Any = settings["kernel_manager"]
            self.kernel_manager = settings["kernel_manager"] = PageKernels(
                parent=self,
                connection_dir=self.connection_dir,
                kernel_spec_manager=self.kernel_spec_manager,
                allowed_message_types=voila_kernels.allowed_message_types,
            )
        return settings

    def setup_template_dirs(self) -> None:
        """Find the page template in healthdash/templates first (Voila's lab page without its CDN assets)."""
        super().setup_template_dirs()
        self.template_paths.insert(0, str(TEMPLATES))

    def listen(self) -> None:
        """Serve on the sockets bound before start until the event loop stops (Voila binds its port here)."""
        gate = RequestGate(self.app, self.allowed_hosts, self.gate_limits)
        HTTPServer(gate, **self.http_options).add_sockets(self.sockets)
        self.ioloop = IOLoop.current()  # what Voila's SIGTERM handler stops
        try:
            self.ioloop.start()
        except KeyboardInterrupt:
            self.log.info("Interrupted")
        finally:
            self.stop()


def authenticator(settings: Settings, people: People, context: ApiContext, tokens: tuple[str, ...]) -> Authenticator:
    """Return the authenticator of the configured mode (HEALTHDASH_AUTH), shared by the pages and the API."""
    mode: Any = settings.auth
    return Authenticator(
        people,
        context.read,  # a database that hangs answers 503 within the deadline, not a hanging sign-in
        mode=mode,
        bootstrap_tokens=tokens,
        trusted_proxies=parse_networks(",".join(settings.trusted_proxies)),
        default_role=settings.default_role,
        proxy_header=settings.proxy_user_header,
    )


def first_start(people: People, settings: Settings) -> str | None:
    """With built-in accounts and none yet, create the first admin; return its one-time sign-in link (else None)."""
    if settings.auth != "builtin":
        return None
    try:
        return people.first_start(api_url(settings))
    except sqlalchemy.exc.ProgrammingError as exc:  # the people tables taken away from an upgraded database
        raise RuntimeError(
            "the database has no table of people (users, sessions, api_tokens, audit_log): load "
            f"db/upgrades/0002_people.sql into it, see docs/users-and-access.md ({exc.orig})"
        ) from None


def api_url(settings: Settings) -> str:
    """Return the address at which kernels reach this server (never taken from a request's Host header)."""
    if settings.public_url:
        return settings.public_url
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "", "*") else settings.host
    host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
    return f"http://{host}:{settings.port}"


def gate_limits(settings: Settings) -> GateLimits:
    """Return the sizes a request's URL, headers and query may have (larger: 414, 431 or 400 before any handler)."""
    return GateLimits(settings.max_url_length, settings.max_header_size, settings.max_query_parameters)


def http_options(settings: Settings) -> dict[str, Any]:
    """Return the HTTP server's limits: what a connection may send, and for how long it may take.

    A body larger than HEALTHDASH_MAX_BODY_SIZE is refused unless its route takes more (the API's handlers read their
    bodies piece by piece and raise the limit for the batch route once the request is authorised); headers are
    answered 431 past HEALTHDASH_MAX_HEADER_SIZE (see `healthdash.gate`), and the connection is closed past twice the
    URL and header limits together; a connection that sends nothing (or its headers too slowly) is closed after
    HEALTHDASH_IDLE_TIMEOUT seconds, one whose body takes longer than HEALTHDASH_BODY_TIMEOUT seconds as well.
    """
    return {
        "max_body_size": settings.max_body_size,
        "max_buffer_size": max(settings.max_batch_body_size, settings.max_body_size) + settings.max_header_size,
        "max_header_size": gate_limits(settings).hard_header_size,
        "idle_connection_timeout": settings.idle_timeout,
        "body_timeout": settings.body_timeout,
    }


def voila_config(settings: Settings, zygote_socket: str = "") -> Config:
    """Return the Voila configuration of the app.

    Every page keeps HEALTHDASH_KERNEL_POOL_SIZE preheated kernels, or as many as HEALTHDASH_KERNEL_POOL_SIZES names
    for it (0: none, each view starts its own; the analysis notebooks keep none): each has run its notebook up to the
    cell that waits for the page request (`healthdash.widgets.wait_for_page_request` / `page_query_string`), so a
    page only fetches its data and shows it. A burst of views takes the kernels ready first (see `PageKernels`).
    Kernels whose page is closed are shut down by the page (see PageHandler); those idle for
    HEALTHDASH_KERNEL_IDLE_TIMEOUT are culled, page open or not. Page kernels are capped (`KernelCaps`).
    Pages render with healthdash/templates only: no template or theme override. With `zygote_socket`, kernels
    are forked from the kernel zygote listening there (see `forked_kernels`).
    """
    config = Config()
    config.Voila.ip = settings.host
    config.Voila.port = settings.port
    config.Voila.open_browser = False
    config.Voila.root_dir = str(NOTEBOOKS)
    https = (settings.public_url or "").startswith("https://")
    config.Voila.tornado_settings = {
        "headers": dict(SECURITY_HEADERS),  # a page sets its own Content-Security-Policy (see PageHandler)
        "default_handler_class": NotFoundPage,  # any address no route serves: a clean 404
        "xsrf_cookie_kwargs": cookie_options(https),
        "healthdash_kernel_caps": KernelCaps(settings.max_page_kernels, settings.max_kernels_per_client),
    }
    config.IdentityProvider.cookie_options = cookie_options(https)
    # who a request is from: sessions, tokens or the trusted proxy (healthdash.access), for pages and websockets too
    config.Voila.identity_provider_class = HealthdashIdentity
    config.Voila.authorizer_class = KernelOwners  # a page's kernel is its visitor's
    # what Voila copies from a page's request into its kernel's environment: the visitor's page token and role
    config.VoilaConfiguration.http_header_envs = [HEADER, ROLE_HEADER]
    config.VoilaConfiguration.show_tracebacks = False
    config.VoilaConfiguration.template = "lab"  # extended by healthdash/templates/index.html.j2
    config.VoilaConfiguration.allow_template_override = "NO"
    config.VoilaConfiguration.allow_theme_override = "NO"
    sizes = {f"{page}.ipynb": settings.kernel_pool_size for page in PAGES}
    sizes.update((f"{page}.ipynb", size) for page, size in settings.kernel_pool_sizes)
    config.VoilaConfiguration.preheat_kernel = any(sizes.values())
    config.VoilaConfiguration.default_pool_size = 0  # Voila's own pool: PageKernels replaces it
    config.PageKernels.pool_size = 0  # notebooks that are not pages (the analysis notebooks)
    config.PageKernels.pool_sizes = sizes
    # a preheated kernel asks the server for its page's request over a websocket at this address
    config.VoilaKernelManager.default_env_variables = {"VOILA_APP_IP": _local_address(settings.host)}
    # kernels and server talk over unix sockets in the server's private connection folder, not loopback TCP
    # that any local user could connect to (which also made every kernel warn about unencrypted TCP)
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
    # a kernel that has handled no message for this long is shut down, even while its page is still open
    config.MappingKernelManager.cull_idle_timeout = round(settings.kernel_idle_timeout)
    config.MappingKernelManager.cull_interval = max(1, min(60, round(settings.kernel_idle_timeout / 5)))
    config.MappingKernelManager.cull_connected = True
    if zygote_socket:
        config.KernelProvisionerFactory.default_provisioner_name = PROVISIONER
        config.ForkedProvisioner.zygote_socket = zygote_socket
    return config


async def pools_filled(app: HealthdashServer, longest: float = POOL_FILL_SECONDS) -> None:
    """Return once every page's preheated kernels have run their page up to its request (or after `longest`).

    A kernel that fails to start is logged, and the server is announced regardless.
    """
    if isinstance(app.kernel_manager, PageKernels):
        await app.kernel_manager.filled(longest)


def _local_address(host: str) -> str:
    """Return how a process on this machine reaches a server bound to `host` (URL form for IPv6)."""
    if host in ("0.0.0.0", "", "*"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def validation_backtest() -> str:
    """The API path of the backtest the validation page opens on today."""
    first = utc_now().date() - dt.timedelta(days=VALIDATION_DAYS)
    return f"/api/backtest?from={first.isoformat()}&horizon={VALIDATION_HORIZON}&lead={VALIDATION_LEAD}"


def start_zygote() -> ZygoteProcess | None:
    """Start the process the pages' kernels are forked from, with what every page imports first (not Explore's
    pandas: the other pages never load it; Explore's kernels have a zygote of their own, started when first needed).
    None where processes cannot be forked so: kernels start as processes."""
    if not hasattr(os, "pidfd_open"):
        return None
    modules = [f"healthdash.widgets.{module}" for module in ZYGOTE_MODULES]
    zygote = ZygoteProcess(modules)
    try:
        zygote.start()
    except (OSError, RuntimeError) as exc:
        log.warning("page kernels start as processes: %s", exc)
        return None
    ForkedProvisioner.zygotes = Zygotes({"explore.ipynb": [*modules, "healthdash.widgets.explore_page"]})
    return zygote


def listening_sockets(settings: Settings) -> tuple[list[socket.socket], Settings]:
    """Bind the server's sockets; return them with the settings naming the port they got (port 0: a free one)."""
    try:
        sockets = bind_sockets(settings.port, settings.host)
    except OSError as exc:
        raise RuntimeError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    return sockets, dataclasses.replace(settings, port=int(sockets[0].getsockname()[1]))


def serve(settings: Settings | None = None) -> None:
    """Serve the app until interrupted."""
    settings = settings or get_settings()
    tune_malloc()  # before the database threads start
    # a thread back from the database waits at most this long for the interpreter, not the default 5 ms
    sys.setswitchinterval(SWITCH_INTERVAL)
    url = resolve_database_url(settings.database_url, settings.data_dir)
    engine = make_engine(
        url,
        pool_size=settings.db_pool_size,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
    )
    # large bodies are built apart from the database's threads, which a hanging database may hold
    builder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthdash-build")
    executor = ThreadPoolExecutor(max_workers=settings.db_pool_size, thread_name_prefix="healthdash-db")
    reader = make_engine(
        url,
        pool_size=settings.db_pool_size,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        autocommit=True,
        generic_plans=True,  # one customer's evidence or signals: the same plan whichever customer
    )
    loop_reader = LoopReader(
        async_connector(
            url, connect_timeout=settings.db_connect_timeout, statement_timeout=settings.db_statement_timeout
        ),
        settings.db_pool_size,
        executor,
        settings.db_connect_timeout + 1,
    )
    service = HealthService(engine, settings.scoring, reader, loop_reader)
    tokens, generated = write_tokens(settings.api_tokens, settings.data_dir)
    limits = BodyLimits(settings.max_body_size, max(settings.max_batch_body_size, settings.max_body_size))
    board = ScoreBoard(service, executor, settings.cache_seconds)
    people = People(engine, Lifetimes(settings.session_hours * 3600, settings.session_idle_minutes * 60))
    context = ApiContext(service, board, executor, tokens, limits, settings.db_deadline, builder, people)
    context.access = authenticator(settings, people, context, tokens)
    listener = ChangeListener(engine, context.board, connect_timeout=settings.db_connect_timeout)
    # a history written or restated is read again for the dashboard (its movers and tiers per day) at once
    loop = IOLoop.current()
    history = HistoryKeeper(
        HistoryRecorder(engine, settings.scoring, settings.history_days),
        written=lambda: loop.add_callback(context.forget_digest),
    )
    sockets, settings = listening_sockets(settings)  # from here on, settings.port is the port really listened on
    os.environ["HEALTHDASH_API_URL"] = api_url(settings)  # inherited by every page's kernel
    os.environ.pop("HEALTHDASH_API_TOKEN", None)  # a kernel calls the API as its page's visitor, with no other token
    first_link = first_start(people, settings)
    page_tokens = PageTokens(lambda ids: context.run(people.revoke_page_tokens, ids))
    zygote = start_zygote()
    share_compiled_templates()  # the pages' templates compiled once, not for every view
    app = HealthdashServer(config=voila_config(settings, zygote.socket if zygote else ""))
    app.api_context = context
    app.page_tokens = page_tokens
    https = (settings.public_url or "").startswith("https://")
    app.session_cookie = SessionCookie(https, settings.session_hours * 3600)
    app.sockets = sockets
    app.http_options = http_options(settings)
    app.allowed_hosts = allowed_hosts(settings.public_url, settings.host, settings.allowed_hosts)
    app.gate_limits = gate_limits(settings)
    app.initialize([])
    freeze_long_lived_objects()  # everything imported and set up: not for every collection to walk again
    space_out_collections()  # the many short-lived objects of a batch set off no storm of collections

    async def announce() -> None:
        await pools_filled(app)
        # the first visitor is served like the next: the score board is built (at 100,000 customers it takes
        # seconds: every page a visitor or a burst of them opens first waited for it), the dashboard, the list and
        # the validation page's backtest (kept until its inputs change) read once, and every page rendered once
        await context.board.current()
        here = f"http://{_local_address(settings.host)}:{settings.port}"
        await warm_api(here, [*FIRST_READS, validation_backtest()], tokens[0])
        if app.voila_configuration.preheat_kernel:
            await warm_pages(here, PAGES, app.kernel_manager.shutdown_kernel)
            await pools_filled(app)  # and finds a kernel that has run its page up to the request
        print(f"healthdash is serving {api_url(settings)}/ (API under /api/)", flush=True)
        if generated:
            print(f"bootstrap token (kept in {settings.data_dir / 'api-token'}): {tokens[0]}", flush=True)
        else:
            print("bootstrap tokens: from HEALTHDASH_API_TOKENS", flush=True)
        if first_link:
            print(f"sign in as the first admin (this link works once, within an hour): {first_link}", flush=True)

    async def sweep() -> None:
        await page_tokens.sweep(app.kernel_manager.list_kernel_ids())

    PeriodicCallback(sweep, SWEEP_SECONDS * 1000).start()  # the tokens of pages whose kernel has gone are revoked
    IOLoop.current().add_callback(listener.start)  # runs once the server's event loop does
    IOLoop.current().add_callback(announce)
    history.start()  # its own thread: records the configuration, then writes and restates closed days
    try:
        app.start()
    finally:
        if zygote is not None:
            zygote.stop()
        if ForkedProvisioner.zygotes is not None:
            ForkedProvisioner.zygotes.stop()
        history.stop()
        listener.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        builder.shutdown(wait=False, cancel_futures=True)
        loop_reader.close()
        reader.dispose()
        engine.dispose()
