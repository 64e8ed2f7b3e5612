"""One server for the web app and the REST API: standalone Voila with the API handlers mounted first."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join
from tornado.web import RedirectHandler
from traitlets import Any as AnyTrait
from traitlets.config import Config
from voila.app import Voila

from healthdash.api.context import ApiContext
from healthdash.api.routes import api_handlers
from healthdash.db.database import resolve_database_url
from healthdash.db.engine import make_engine
from healthdash.scoreboard import ScoreBoard
from healthdash.service import HealthService
from healthdash.settings import Settings, get_settings
from healthdash.tokens import write_tokens

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
HOME_PAGE = "voila/render/dashboard.ipynb"
log = logging.getLogger("healthdash")


class HealthdashServer(Voila):  # type: ignore[misc]
    """Voila serving the notebooks, with the healthdash API and a home-page redirect ahead of its own routes."""

    name = "healthdash"
    api_context = AnyTrait(None, help="The ApiContext shared by the API handlers (set before start).")

    def init_handlers(self) -> list[Any]:
        ours: list[Any] = api_handlers(self.server_url, self.api_context)
        home = url_path_join(self.server_url, HOME_PAGE)
        ours.append((self.server_url.rstrip("/") + "/?", RedirectHandler, {"url": home}))
        voila_handlers: list[Any] = super().init_handlers()
        return ours + voila_handlers


def api_url(settings: Settings) -> str:
    """Return the address at which kernels reach this server (never taken from a request's Host header)."""
    if settings.public_url:
        return settings.public_url
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "", "*") else settings.host
    host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
    return f"http://{host}:{settings.port}"


def voila_config(settings: Settings) -> Config:
    """Return the Voila configuration of the app."""
    config = Config()
    config.Voila.ip = settings.host
    config.Voila.port = settings.port
    config.Voila.port_retries = 0
    config.Voila.open_browser = False
    config.Voila.root_dir = str(NOTEBOOKS)
    config.Voila.tornado_settings = {"headers": {"X-Content-Type-Options": "nosniff"}}
    config.VoilaConfiguration.show_tracebacks = False
    return config


def serve(settings: Settings | None = None) -> None:
    """Serve the app until interrupted."""
    settings = settings or get_settings()
    url = resolve_database_url(settings)
    engine = make_engine(url, pool_size=settings.db_pool_size, connect_timeout=settings.db_connect_timeout)
    executor = ThreadPoolExecutor(max_workers=settings.db_pool_size, thread_name_prefix="healthdash-db")
    service = HealthService(engine, settings.scoring)
    tokens, generated = write_tokens(settings.api_tokens, settings.data_dir)
    context = ApiContext(service, ScoreBoard(service, executor, settings.cache_seconds), executor, tokens)
    os.environ["HEALTHDASH_API_URL"] = api_url(settings)  # inherited by every page's kernel
    os.environ["HEALTHDASH_API_TOKEN"] = tokens[0]
    app = HealthdashServer(config=voila_config(settings))
    app.api_context = context
    app.initialize([])
    print(f"healthdash is serving {api_url(settings)}/ (API under /api/)", flush=True)
    if generated:
        print(f"write token (kept in {settings.data_dir / 'api-token'}): {tokens[0]}", flush=True)
    else:
        print("write tokens: from HEALTHDASH_API_TOKENS", flush=True)
    try:
        app.start()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        engine.dispose()
