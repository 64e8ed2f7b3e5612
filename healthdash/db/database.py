"""Which database healthdash uses: DATABASE_URL, or the embedded server with the sample data loaded once; and the
schema brought up to date (db/upgrades/) when it was loaded by an older db/init.sql."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from healthdash.db.embedded import EmbeddedPostgres

INIT_SQL = Path(__file__).resolve().parents[2] / "db" / "init.sql"
UPGRADES = INIT_SQL.parent / "upgrades"  # NNNN_name.sql, applied in order; db/init.sql lists those it holds
EMBEDDED_DATABASE = "healthdash"
_LOAD_LOCK = 72_640_331  # advisory lock key held while the sample data loads


class DatabaseSetupError(RuntimeError):
    """The database cannot be prepared for healthdash."""


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """Return the URL of the database to use: `database_url` when given, else the embedded server on `data_dir`,
    started and loaded with the sample data if needed."""
    if database_url:
        upgrade_schema(database_url)
        return database_url
    server = EmbeddedPostgres(data_dir)
    server.start()
    create_database(server.url("postgres"), EMBEDDED_DATABASE)
    url = server.url(EMBEDDED_DATABASE)
    if not load_sample_data(url):
        upgrade_schema(url)
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


def upgrade_schema(url: str, folder: Path = UPGRADES) -> list[str]:
    """Apply the upgrades of db/upgrades/ that a database loaded by an older db/init.sql lacks, each in a
    transaction of its own, in order; return their names. A database without healthdash's tables is left alone."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    applied: list[str] = []
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOAD_LOCK})  # one instance upgrades, others wait
            try:
                if conn.execute(text("SELECT to_regclass('public.customers')")).scalar() is None:
                    return applied
                conn.execute(
                    text(
                        "CREATE TABLE IF NOT EXISTS schema_upgrades "
                        "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                    )
                )
                done = set(conn.execute(text("SELECT name FROM schema_upgrades")).scalars())
                for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql")):
                    if path.stem in done:
                        continue
                    script = path.read_text(encoding="utf-8")
                    with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                        cursor.execute("BEGIN")  # the script and its record in one transaction: all or nothing
                        try:
                            cursor.execute(script)  # no parameters: the script is sent as it is
                            cursor.execute("INSERT INTO schema_upgrades (name) VALUES (%s)", (path.stem,))
                        except Exception as exc:
                            cursor.execute("ROLLBACK")
                            said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                            raise DatabaseSetupError(
                                f"cannot upgrade the database's schema with db/upgrades/{path.name}: {said} "
                                "(nothing of it was applied)"
                            ) from exc
                        cursor.execute("COMMIT")
                    applied.append(path.stem)
                    print(f"database: schema upgraded with db/upgrades/{path.name}", flush=True)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOAD_LOCK})
    finally:
        engine.dispose()
    return applied


def describe_url(url: str) -> str:
    """Return the URL with any password hidden, in libpq form for psql."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=True)
