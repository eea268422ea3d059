"""Application settings: one validated class, read once through get_settings()."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Everything the app reads at run time travels inside the installed package (never the source tree):
PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
DATA_DIR = PACKAGE_DIR / "data"
# Everything it writes goes under PRICEWAR_DATA_DIR (default ./var, relative to the working directory).
SQLITE_FILE_NAME = "pricewar.sqlite3"
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


class Settings(BaseSettings):
    """Everything configurable, from environment variables prefixed `PRICEWAR_` (and `DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="PRICEWAR_", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"),
        description="Writable folder (the default SQLite database); relative to the working directory.",
    )
    database_url: str = Field(
        default="",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; default sqlite:///<data_dir>/pricewar.sqlite3; "
        "postgresql+psycopg://user@host/db in production.",
    )
    # A Literal, so a typo ("prod") stops the app at start instead of skipping the production secret check.
    environment: Literal["development", "production", "test"] = Field(
        default="development", description="development | production | test"
    )
    secret_key: str = Field(default=DEV_SECRET_KEY, description="Signs session cookies and CSRF tokens.")
    anonymous_read: bool = Field(default=True, description="Allow browsing without signing in.")
    cookie_secure: bool = Field(default=False, description="Mark cookies Secure (set when served over TLS).")
    forwarded_allow_ips: str = Field(
        default="",
        max_length=2000,
        description="Reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses "
        "or networks, '*' for any); empty: trust nobody, the client address is the TCP peer's. Rate limits "
        "and the audit log read the client address through it.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = Field(default=5_000_000, description="Largest accepted import file.")
    sqlite_busy_timeout_ms: int = 15_000
    # Access control (see app/web/auth.py).
    session_idle_timeout_minutes: int = Field(
        default=120, ge=1, description="Sign out after this much inactivity."
    )
    session_absolute_timeout_hours: int = Field(
        default=12, ge=1, description="Sign out this long after login."
    )
    heavy_workers: int = Field(
        default=0, ge=0, le=256, description="Heavy requests computing at once per process (0: the cores)."
    )
    heavy_queue: int = Field(
        default=-1, ge=-1, le=10_000, description="Heavy requests waiting per process (-1: 2 x workers)."
    )
    sessions_per_user_max: int = Field(
        default=10, ge=1, description="Signed-in browsers per user; a new sign-in beyond it ends the oldest."
    )
    login_failures_per_user: int = Field(
        default=5, ge=1, description="Failed logins per username per window."
    )
    login_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins per address per window."
    )
    token_creations_per_window: int = Field(default=10, ge=1, description="Tokens created per user/address.")
    rate_limit_window_seconds: int = Field(default=300, ge=1)
    setup_token_hours: int = Field(default=24, ge=1, description="Lifetime of the first-start setup token.")
    # Background jobs (app/services/jobs).
    embedded_worker: bool = Field(
        default=True, description="`pricewar serve` also runs one job worker in its own process (make run)."
    )
    jobs_max_active_per_user: int = Field(
        default=5, ge=1, description="Queued + running jobs one user may have; beyond it 429."
    )
    jobs_chunk_paths: int = Field(
        default=10_000, ge=1_000, le=100_000, description="Monte Carlo paths per chunk of a simulation job."
    )
    jobs_heartbeat_seconds: float = Field(
        default=2.0, gt=0, description="How often a worker says it is alive."
    )
    jobs_stale_after_seconds: float = Field(
        default=60.0, gt=0, description="A running job or chunk silent this long is retried or failed."
    )
    jobs_max_attempts: int = Field(default=3, ge=1, description="Tries of a job (or chunk) before it fails.")

    # Operations (README "Operator's checklist").
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per log line (with request_id); text: plain."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics: Literal["admin", "public", "off"] = Field(
        default="admin",
        description="/metrics (Prometheus): admin = an admin session or admin-scoped API token; "
        "public = anyone who can reach it (a private network); off = no endpoint.",
    )

    # Price-floor alerts (docs/market-data.md): new alerts are POSTed here as HMAC-signed JSON.
    alert_webhook_url: str | None = Field(
        default=None, description="http(s) URL that receives new price-floor alerts (none: no webhook)."
    )
    alert_webhook_secret: str | None = Field(
        default=None, description="Signs the webhook body (HMAC-SHA256); required with alert_webhook_url."
    )

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        if self.alert_webhook_url:
            if not self.alert_webhook_url.startswith(("http://", "https://")):
                raise ValueError("PRICEWAR_ALERT_WEBHOOK_URL must be an http:// or https:// URL")
            if not self.alert_webhook_secret:
                raise ValueError("PRICEWAR_ALERT_WEBHOOK_SECRET must be set with PRICEWAR_ALERT_WEBHOOK_URL")
        return self

    @model_validator(mode="after")
    def _default_database_in_data_dir(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / SQLITE_FILE_NAME}"
        return self

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError("PRICEWAR_SECRET_KEY must be set to a random value in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
