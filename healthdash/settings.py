"""Every setting healthdash reads from its environment, parsed and validated in one place, once."""

from __future__ import annotations

import functools
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from healthdash.scoring import FACTOR_KEYS, ConfigError, ScoringConfig

ENV_PREFIX = "HEALTHDASH_"
PAGES = ("dashboard", "customers", "customer", "explore", "validation")  # the web app's pages: notebooks/<page>.ipynb
HOME_POOL_SIZE = 3  # the dashboard's preheated kernels by default: the home page, where a burst of visitors lands
_SCALAR_SCORING_FIELDS = {
    f.name: f.type for f in fields(ScoringConfig) if f.name not in ("weights", "ticket_priority_weights")
}


class SettingsError(ValueError):
    """An environment variable or the scoring file holds a value healthdash cannot use."""


@dataclass(frozen=True)
class Settings:
    """The process-wide configuration."""

    database_url: str | None
    data_dir: Path
    host: str
    port: int
    api_tokens: tuple[str, ...]
    public_url: str | None
    scoring: ScoringConfig
    cache_seconds: float
    db_pool_size: int
    db_connect_timeout: int
    kernel_pool_size: int = 1
    kernel_pool_sizes: tuple[tuple[str, int], ...] = (("dashboard", HOME_POOL_SIZE),)
    history_days: int = 180
    allowed_hosts: tuple[str, ...] = ()
    max_page_kernels: int = 12
    max_kernels_per_client: int = 10
    kernel_idle_timeout: float = 600.0
    db_deadline: float = 2.5
    db_statement_timeout: float = 30.0
    max_body_size: int = 64 * 1024
    max_batch_body_size: int = 8 * 1024 * 1024
    max_header_size: int = 16 * 1024
    max_url_length: int = 8192
    max_query_parameters: int = 100
    idle_timeout: float = 30.0
    body_timeout: float = 60.0
    auth: str = "builtin"
    trusted_proxies: tuple[str, ...] = ()
    proxy_user_header: str = "X-Forwarded-Email"
    default_role: str = "viewer"
    session_hours: float = 12.0
    session_idle_minutes: float = 60.0


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL for psycopg2 from a libpq-style or SQLAlchemy-style PostgreSQL URL."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    raise SettingsError(f"DATABASE_URL must be a postgresql:// URL, got {url.split(':', 1)[0]!r}:...")


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse the settings from an environment mapping; raise SettingsError naming the variable at fault."""
    database_url = environ.get("DATABASE_URL", "").strip() or None
    data_dir_text = environ.get(f"{ENV_PREFIX}DATA_DIR", "").strip()
    tokens = tuple(t.strip() for t in environ.get(f"{ENV_PREFIX}API_TOKENS", "").split(",") if t.strip())
    for token in tokens:
        if len(token) < 16:
            raise SettingsError(f"{ENV_PREFIX}API_TOKENS: every token needs at least 16 characters")
    pool_size = _int(environ, f"{ENV_PREFIX}KERNEL_POOL_SIZE", 1, 0, 8)
    home_pool = (("dashboard", max(HOME_POOL_SIZE, pool_size)),) if pool_size else ()  # 0: no kernel preheated
    return Settings(
        database_url=normalise_database_url(database_url) if database_url else None,
        data_dir=Path(data_dir_text).expanduser().absolute() if data_dir_text else default_data_dir(environ),
        host=environ.get(f"{ENV_PREFIX}HOST", "127.0.0.1").strip() or "127.0.0.1",
        port=_int(environ, f"{ENV_PREFIX}PORT", 8000, 0, 65535),
        api_tokens=tokens,
        public_url=environ.get(f"{ENV_PREFIX}PUBLIC_URL", "").strip().rstrip("/") or None,
        scoring=_scoring(environ),
        cache_seconds=_float(environ, f"{ENV_PREFIX}CACHE_SECONDS", 60.0, 0.0, 3600.0),
        db_pool_size=_int(environ, f"{ENV_PREFIX}DB_POOL_SIZE", 8, 1, 100),
        db_connect_timeout=_int(environ, f"{ENV_PREFIX}DB_CONNECT_TIMEOUT", 2, 1, 60),
        kernel_pool_size=pool_size,
        kernel_pool_sizes=_pool_sizes(environ, f"{ENV_PREFIX}KERNEL_POOL_SIZES", home_pool),
        history_days=_int(environ, f"{ENV_PREFIX}HISTORY_DAYS", 180, 1, 3650),
        db_deadline=_float(environ, f"{ENV_PREFIX}DB_DEADLINE", 2.5, 0.5, 60.0),
        db_statement_timeout=_float(environ, f"{ENV_PREFIX}DB_STATEMENT_TIMEOUT", 30.0, 1.0, 3600.0),
        max_page_kernels=_int(environ, f"{ENV_PREFIX}MAX_PAGE_KERNELS", 12, 1, 1000),
        max_kernels_per_client=_int(environ, f"{ENV_PREFIX}MAX_KERNELS_PER_CLIENT", 10, 1, 1000),
        kernel_idle_timeout=_float(environ, f"{ENV_PREFIX}KERNEL_IDLE_TIMEOUT", 600.0, 5.0, 86400.0),
        allowed_hosts=tuple(h.strip() for h in environ.get(f"{ENV_PREFIX}ALLOWED_HOSTS", "").split(",") if h.strip()),
        max_body_size=_int(environ, f"{ENV_PREFIX}MAX_BODY_SIZE", 64 * 1024, 1024, 16 * 1024 * 1024),
        max_batch_body_size=_int(environ, f"{ENV_PREFIX}MAX_BATCH_BODY_SIZE", 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
        max_header_size=_int(environ, f"{ENV_PREFIX}MAX_HEADER_SIZE", 16 * 1024, 4096, 1024 * 1024),
        max_url_length=_int(environ, f"{ENV_PREFIX}MAX_URL_LENGTH", 8192, 256, 1024 * 1024),
        max_query_parameters=_int(environ, f"{ENV_PREFIX}MAX_QUERY_PARAMETERS", 100, 10, 10_000),
        idle_timeout=_float(environ, f"{ENV_PREFIX}IDLE_TIMEOUT", 30.0, 1.0, 3600.0),
        body_timeout=_float(environ, f"{ENV_PREFIX}BODY_TIMEOUT", 60.0, 1.0, 3600.0),
        **_access(environ),
    )


AUTH_MODES = ("builtin", "proxy", "none")
ROLES = ("viewer", "csm", "admin")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _access(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings of who may sign in and how (see docs/users-and-access.md)."""
    auth = environ.get(f"{ENV_PREFIX}AUTH", "").strip().lower() or "builtin"
    if auth not in AUTH_MODES:
        raise SettingsError(f"{ENV_PREFIX}AUTH must be one of {', '.join(AUTH_MODES)}, got {auth!r}")
    host = environ.get(f"{ENV_PREFIX}HOST", "127.0.0.1").strip() or "127.0.0.1"
    if auth == "none" and host not in LOOPBACK_HOSTS:
        raise SettingsError(
            f"{ENV_PREFIX}AUTH=none lets anyone who reaches the server in: it serves on a loopback address only "
            f"(127.0.0.1, ::1), not {ENV_PREFIX}HOST={host}"
        )
    proxies = tuple(p.strip() for p in environ.get(f"{ENV_PREFIX}TRUSTED_PROXIES", "").split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}TRUSTED_PROXIES: {proxy!r} is not an address or network") from None
    if auth == "proxy" and not proxies:
        raise SettingsError(f"{ENV_PREFIX}AUTH=proxy needs {ENV_PREFIX}TRUSTED_PROXIES: the proxies' addresses")
    header = environ.get(f"{ENV_PREFIX}PROXY_USER_HEADER", "").strip() or "X-Forwarded-Email"
    role = environ.get(f"{ENV_PREFIX}DEFAULT_ROLE", "").strip().lower() or "viewer"
    if role not in ROLES:
        raise SettingsError(f"{ENV_PREFIX}DEFAULT_ROLE must be one of {', '.join(ROLES)}, got {role!r}")
    return {
        "auth": auth,
        "trusted_proxies": proxies,
        "proxy_user_header": header,
        "default_role": role,
        "session_hours": _float(environ, f"{ENV_PREFIX}SESSION_HOURS", 12.0, 0.1, 24.0 * 90),
        "session_idle_minutes": _float(environ, f"{ENV_PREFIX}SESSION_IDLE_MINUTES", 60.0, 1.0, 24.0 * 60 * 90),
    }


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """Return the data dir to use when none is configured: /var/lib/healthdash for root, else under XDG_DATA_HOME."""
    if os.geteuid() == 0:
        return Path("/var/lib/healthdash")
    xdg_data_home = environ.get("XDG_DATA_HOME", "")
    base = Path(xdg_data_home) if os.path.isabs(xdg_data_home) else Path.home() / ".local" / "share"
    return base / "healthdash"


@functools.cache
def get_settings() -> Settings:
    """Return the settings of this process, read from the environment on first use."""
    return load_settings(os.environ)


def _scoring(environ: Mapping[str, str]) -> ScoringConfig:
    values: dict[str, Any] = {}
    file_name = environ.get(f"{ENV_PREFIX}SCORING_FILE", "").strip()
    if file_name:
        path = Path(file_name).expanduser()
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"{ENV_PREFIX}SCORING_FILE: cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{ENV_PREFIX}SCORING_FILE: {path} is not valid TOML: {exc}") from exc
    weights = dict(values.pop("weights", {}))
    for key in FACTOR_KEYS:
        name = f"{ENV_PREFIX}WEIGHT_{key.upper()}"
        if environ.get(name, "").strip():
            weights[key] = _float(environ, name, 0.0, None, None)
    if weights:
        values["weights"] = weights
    for field_name, type_name in _SCALAR_SCORING_FIELDS.items():
        name = f"{ENV_PREFIX}{field_name.upper()}"
        if environ.get(name, "").strip():
            parse = _int if type_name == "int" else _float
            values[field_name] = parse(environ, name, 0, None, None)
    try:
        return ScoringConfig.from_mapping(values)
    except ConfigError as exc:
        where = f"{ENV_PREFIX}SCORING_FILE / {ENV_PREFIX}* scoring variables"
        raise SettingsError(f"invalid scoring configuration ({where}): {exc}") from exc


def _int(environ: Mapping[str, str], name: str, default: int, low: int | None, high: int | None) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {text!r}") from None
    _check_range(name, value, low, high)
    return value


def _pool_sizes(
    environ: Mapping[str, str], name: str, default: tuple[tuple[str, int], ...]
) -> tuple[tuple[str, int], ...]:
    """Parse `page=size,page=size` (pages: PAGES) into (page, size) pairs."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    sizes: dict[str, int] = {}
    for item in text.split(","):
        page, equals, size = (part.strip() for part in item.partition("="))
        if page not in PAGES or not equals or not size:
            raise SettingsError(f"{name} must be page=size pairs separated by commas (pages: {', '.join(PAGES)})")
        sizes[page] = _int({name: size}, name, 0, 0, 8)
    return tuple(sizes.items())


def _float(environ: Mapping[str, str], name: str, default: float, low: float | None, high: float | None) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise SettingsError(f"{name} must be a finite number, got {text!r}")
    _check_range(name, value, low, high)
    return value


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise SettingsError(f"{name} must be between {low} and {high}, got {value:g}")
