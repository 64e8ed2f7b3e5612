"""Which database healthdash uses: DATABASE_URL, or the embedded server with the sample data loaded once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from healthdash.db.embedded import EmbeddedPostgres

INIT_SQL = Path(__file__).resolve().parents[2] / "db" / "init.sql"
EMBEDDED_DATABASE = "healthdash"
_LOAD_LOCK = 72_640_331  # advisory lock key held while the sample data loads


class DatabaseSetupError(RuntimeError):
    """The database cannot be prepared for healthdash."""


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """Return the URL of the database to use: `database_url` when given, else the embedded server on `data_dir`,
    started and loaded with the sample data if needed."""
    if database_url:
        return database_url
    server = EmbeddedPostgres(data_dir)
    server.start()
    create_database(server.url("postgres"), EMBEDDED_DATABASE)
    url = server.url(EMBEDDED_DATABASE)
    load_sample_data(url)
    return url


def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    """Create a database unless it exists (optionally as a copy of a template)."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                quoted = conn.dialect.identifier_preparer.quote(name)
                suffix = f" TEMPLATE {conn.dialect.identifier_preparer.quote(template)}" if template else ""
                conn.execute(text(f"CREATE DATABASE {quoted}{suffix}"))
    finally:
        engine.dispose()


def load_sample_data(url: str, init_sql: Path = INIT_SQL) -> bool:
    """Load the schema and sample data into an empty database; return False if it already has them."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        return _load_once(engine, init_sql)
    finally:
        engine.dispose()


def _load_once(engine: Engine, init_sql: Path) -> bool:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOAD_LOCK})
        try:
            if conn.execute(text("SELECT to_regclass('public.customers')")).scalar() is not None:
                return False
            try:
                script = init_sql.read_text(encoding="utf-8")
            except OSError as exc:
                raise DatabaseSetupError(
                    f"cannot read the schema file {init_sql} ({exc.strerror}); run from a checkout of the "
                    "repository, or set DATABASE_URL to a database loaded with db/init.sql"
                ) from exc
            with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute(script)  # the driver's own call: no parameter interpolation of the script
            return True
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOAD_LOCK})


def describe_url(url: str) -> str:
    """Return the URL with any password hidden, in libpq form for psql."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=True)
