"""Databases of sample data beside the shared fixtures: a private copy for a package's server, or one of its own."""

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
from tests.conftest import drop_database


@contextlib.contextmanager
def sample_data_copy(admin_url: str, template_db: str, prefix: str) -> Iterator[str]:
    """Yield the URL of a new copy of the sample data; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin_url, name)


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
