"""Servers for the web app's tests: private copies of the sample data, and servers with or without kernels."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import make_url

from healthdash.db.database import create_database, load_sample_data
from healthdash.db.embedded import EmbeddedPostgres
from healthdash.settings import normalise_database_url
from tests.conftest import TEST_TOKEN, drop_database
from tests.servers import RunningServer, start_server


@contextlib.contextmanager
def sample_data_copy(admin_url: str, template_db: str, prefix: str) -> Iterator[str]:
    """Yield the URL of a new copy of the sample data; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin_url, name)


NO_PREHEATED_KERNELS = {"HEALTHDASH_KERNEL_POOL_SIZE": "0"}


@contextlib.contextmanager
def api_server(database_url: str, folder: Path) -> Iterator[RunningServer]:
    """A server for tests that only use the API: it starts no page kernels ahead of time."""
    folder.mkdir(parents=True, exist_ok=True)
    with start_server(database_url, folder, TEST_TOKEN, extra_env=NO_PREHEATED_KERNELS) as running:
        yield running


@contextlib.contextmanager
def standalone_sample_database(folder: Path) -> Iterator[str]:
    """Yield the URL of a new database with the sample data, outside pytest's fixtures; drop it afterwards.

    It is created on TEST_DATABASE_URL's server, or on a throwaway embedded PostgreSQL with its data in `folder`.
    """
    with contextlib.ExitStack() as stack:
        configured = os.environ.get("TEST_DATABASE_URL", "").strip()
        if configured:
            admin_url = normalise_database_url(configured)
        else:
            embedded = EmbeddedPostgres(folder / "postgres", durable=False)
            embedded.start()
            stack.callback(embedded.release)
            admin_url = embedded.url("postgres")
        name = f"hd_notebooks_{uuid.uuid4().hex[:8]}"
        create_database(admin_url, name)
        stack.callback(drop_database, admin_url, name)
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        load_sample_data(url)
        yield url


@contextlib.contextmanager
def standalone_sample_server(folder: Path) -> Iterator[tuple[RunningServer, str]]:
    """A database with the sample data and an API server over it, outside pytest's fixtures; yield both."""
    with standalone_sample_database(folder) as url, api_server(url, folder / "server") as server:
        yield server, url
