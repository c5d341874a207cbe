"""Settings: one small dataclass per concern, each field read from the environment, assembled once."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Literal

Environment = Literal["development", "test", "production"]
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_bool(name: str, default: bool = False) -> bool:
    raw = _env(name)
    if not raw:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _env_int(name: str, default: int, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


@dataclass(frozen=True)
class AppSettings:
    env: Environment = "production"
    secret_key: str = ""
    log_json: bool = False
    log_level: str = "INFO"
    # The operator's bearer token for /metrics; empty: /metrics answers 404.
    metrics_token: str = ""
    # OpenTelemetry: where traces go (OTLP over HTTP); empty: no tracing.
    tracing_endpoint: str = ""
    # The tenant home kept rendered between changes (`backend.domain.tenants.home_cache`); PARBOARD_HOME_CACHE=0
    # turns it off.
    home_cache: bool = True

    @property
    def debug(self) -> bool:
        return self.env == "development"


@dataclass(frozen=True)
class AuthSettings:
    # Where the browser reaches parboard: the OIDC redirect URIs are built from it.
    public_url: str = "http://127.0.0.1:8000"
    session_idle_minutes: int = 60
    session_absolute_hours: int = 12
    oidc_timeout_seconds: float = 5.0
    # requests per minute one API token may make (per server process: the limiter's store is in memory)
    api_token_rate_per_minute: int = 120
    # Development only: every province's issuer becomes f"{dev_idp_url}/{province code}".
    dev_idp_url: str = ""

    @property
    def cookie_secure(self) -> bool:
        return self.public_url.startswith("https://")


@dataclass(frozen=True)
class DatabaseSettings:
    # Empty URLs mean: start the embedded PostgreSQL under var/ and create both roles there.
    url: str = ""
    owner_url: str = ""
    jobs_url: str = ""  # DATABASE_JOBS_URL: the background jobs' role; empty: they connect as the owner
    # As many connections kept as the requests a worker serves at once under load (32 in the benchmarks): a
    # burst beyond the pool opens connections and closes them again on return, and each new one forks a
    # PostgreSQL backend and prepares its statements and functions afresh.
    pool_size: int = 32
    max_overflow: int = 8
    echo: bool = False


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1


@dataclass(frozen=True)
class SmtpSettings:
    # No host: nothing is e-mailed (reminders still show on each person's "Việc của tôi" page).
    host: str = ""
    port: int = 587
    from_address: str = ""
    user: str = ""
    password: str = ""
    starttls: bool = True
    timeout_seconds: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class PathSettings:
    var_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    tenants_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "tenants")
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"
    migrations_dir: Path = PROJECT_ROOT / "migrations"

    @property
    def pgdata(self) -> Path:
        return self.var_dir / "pg"


@dataclass(frozen=True)
class StorageSettings:
    # Evidence and submission packages: "local" (files under var/blobs) or "s3" (any S3-compatible store).
    backend: str = "local"
    max_upload_bytes: int = 50 * 1024 * 1024  # per file, enforced while the upload streams
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""


@dataclass(frozen=True)
class Settings:
    app: AppSettings
    db: DatabaseSettings
    server: ServerSettings
    paths: PathSettings
    auth: AuthSettings = field(default_factory=AuthSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)


def _smtp_settings() -> SmtpSettings:
    host = _env("PARBOARD_SMTP_HOST")
    from_address = _env("PARBOARD_SMTP_FROM")
    user = _env("PARBOARD_SMTP_USER")
    password = os.environ.get("PARBOARD_SMTP_PASSWORD", "")
    starttls = _env_bool("PARBOARD_SMTP_STARTTLS", default=True)
    if host:
        if "@" not in parseaddr(from_address)[1]:
            raise SettingsError("PARBOARD_SMTP_FROM must be an e-mail address when PARBOARD_SMTP_HOST is set")
        if bool(user) != bool(password):
            raise SettingsError("PARBOARD_SMTP_USER and PARBOARD_SMTP_PASSWORD are given together, or neither")
        if user and not starttls and host not in {"127.0.0.1", "localhost", "::1"}:
            raise SettingsError("PARBOARD_SMTP_USER needs PARBOARD_SMTP_STARTTLS: the password would cross in clear")
    return SmtpSettings(
        host=host,
        port=_env_int("PARBOARD_SMTP_PORT", 587, minimum=1, maximum=65535),
        from_address=from_address,
        user=user,
        password=password,
        starttls=starttls,
        timeout_seconds=float(_env_int("PARBOARD_SMTP_TIMEOUT_SECONDS", 10, minimum=1, maximum=300)),
    )


def _metrics_token() -> str:
    token = os.environ.get("PARBOARD_METRICS_TOKEN", "").strip()
    if token and len(token) < 24:
        raise SettingsError("PARBOARD_METRICS_TOKEN must be at least 24 characters long")
    return token


def _tracing_endpoint() -> str:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip().rstrip("/")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise SettingsError("OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL (OTLP over HTTP)")
    return endpoint


def _storage_settings() -> StorageSettings:
    backend = _env("PARBOARD_STORAGE", "local")
    if backend not in {"local", "s3"}:
        raise SettingsError(f"PARBOARD_STORAGE must be local or s3, got {backend!r}")
    settings = StorageSettings(
        backend=backend,
        max_upload_bytes=_env_int("PARBOARD_MAX_UPLOAD_MB", 50, minimum=1, maximum=100_000) * 1024 * 1024,
        s3_endpoint=_env("PARBOARD_S3_ENDPOINT").rstrip("/"),
        s3_bucket=_env("PARBOARD_S3_BUCKET"),
        s3_region=_env("PARBOARD_S3_REGION", "us-east-1"),
        s3_access_key=_env("PARBOARD_S3_ACCESS_KEY"),
        s3_secret_key=os.environ.get("PARBOARD_S3_SECRET_KEY", ""),
    )
    if backend == "s3" and not (settings.s3_endpoint and settings.s3_bucket and settings.s3_access_key):
        raise SettingsError(
            "PARBOARD_STORAGE=s3 needs PARBOARD_S3_ENDPOINT, PARBOARD_S3_BUCKET, PARBOARD_S3_ACCESS_KEY "
            "and PARBOARD_S3_SECRET_KEY"
        )
    return settings


def load_settings() -> Settings:
    """Read and validate every setting from the environment (no caching: see `get_settings`)."""
    env_raw = _env("PARBOARD_ENV", "production")
    if env_raw not in ("development", "test", "production"):
        raise SettingsError(f"PARBOARD_ENV must be development, test or production, got {env_raw!r}")
    env: Environment = env_raw  # type: ignore[assignment]

    secret_key = _env("PARBOARD_SECRET_KEY")
    if not secret_key:
        if env == "production":
            raise SettingsError(
                "PARBOARD_SECRET_KEY must be set in production: a per-process random key breaks "
                "CSRF and sessions as soon as there are two workers"
            )
        secret_key = secrets.token_urlsafe(32)
    elif len(secret_key) < 32:
        raise SettingsError("PARBOARD_SECRET_KEY must be at least 32 characters long")

    if _env("PARBOARD_DEV_LOGIN"):
        raise SettingsError(
            "PARBOARD_DEV_LOGIN no longer exists: sign in through the development identity provider "
            "(PARBOARD_DEV_IDP_URL, as `make run` does)"
        )

    log_level = _env("PARBOARD_LOG_LEVEL", "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"PARBOARD_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    db_url = _env("DATABASE_URL")
    owner_url = _env("DATABASE_OWNER_URL")
    if bool(db_url) != bool(owner_url):
        raise SettingsError(
            "DATABASE_URL (the application's role) and DATABASE_OWNER_URL (the migrations' role) "
            "are given together, or neither for the embedded PostgreSQL"
        )

    port = _env_int("PARBOARD_PORT", 8000, minimum=1, maximum=65535)
    # Unset, the public URL follows the port: a second copy on another port signs people in to itself.
    public_url = _env("PARBOARD_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/")
    if not public_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise SettingsError("PARBOARD_PUBLIC_URL must be an https:// URL (http only for 127.0.0.1/localhost)")
    if env == "production" and not public_url.startswith("https://"):
        raise SettingsError("PARBOARD_PUBLIC_URL must be https:// in production (session cookies are Secure)")
    dev_idp_url = _env("PARBOARD_DEV_IDP_URL").rstrip("/")
    if dev_idp_url and env != "development":
        raise SettingsError("PARBOARD_DEV_IDP_URL can only be set with PARBOARD_ENV=development")
    if dev_idp_url and not dev_idp_url.startswith("http://127.0.0.1:"):
        raise SettingsError("PARBOARD_DEV_IDP_URL must be http://127.0.0.1:<port>")

    var_dir = Path(_env("PARBOARD_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    tenants_dir = Path(_env("PARBOARD_TENANTS_DIR") or PROJECT_ROOT / "tenants").resolve()

    return Settings(
        app=AppSettings(
            env=env,
            secret_key=secret_key,
            log_json=_env_bool("PARBOARD_LOG_JSON", default=not os.isatty(2)),
            log_level=log_level,
            metrics_token=_metrics_token(),
            home_cache=_env_bool("PARBOARD_HOME_CACHE", default=True),
            tracing_endpoint=_tracing_endpoint(),
        ),
        db=DatabaseSettings(
            url=db_url,
            owner_url=owner_url,
            jobs_url=_env("DATABASE_JOBS_URL"),
            pool_size=_env_int("PARBOARD_DB_POOL_SIZE", DatabaseSettings.pool_size, minimum=1, maximum=200),
            max_overflow=_env_int("PARBOARD_DB_MAX_OVERFLOW", DatabaseSettings.max_overflow, maximum=200),
            echo=_env_bool("PARBOARD_DB_ECHO"),
        ),
        server=ServerSettings(
            host=_env("PARBOARD_HOST", "127.0.0.1"),
            port=port,
            workers=_env_int("PARBOARD_WORKERS", 1, minimum=1, maximum=64),
        ),
        paths=PathSettings(var_dir=var_dir, tenants_dir=tenants_dir),
        auth=AuthSettings(
            public_url=public_url,
            session_idle_minutes=_env_int("PARBOARD_SESSION_IDLE_MINUTES", 60, minimum=5, maximum=24 * 60),
            session_absolute_hours=_env_int("PARBOARD_SESSION_ABSOLUTE_HOURS", 12, minimum=1, maximum=24 * 14),
            oidc_timeout_seconds=float(_env_int("PARBOARD_OIDC_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)),
            api_token_rate_per_minute=_env_int("PARBOARD_API_TOKEN_RATE_PER_MINUTE", 120, minimum=1, maximum=100_000),
            dev_idp_url=dev_idp_url,
        ),
        smtp=_smtp_settings(),
        storage=_storage_settings(),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
