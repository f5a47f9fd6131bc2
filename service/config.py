"""Configuration from `MSCDS_*` environment variables, validated once at start-up.

An invalid value stops start-up with a message naming the variable, so a misconfigured
deployment fails loudly instead of answering with surprising defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.auth.trust import TrustedIssuer
from service.fhir.urls import check_base

ENV_PREFIX = "MSCDS_"


class ConfigError(Exception):
    """Configuration that cannot work; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    # Empty means a SQLite file in data_dir. Accepts sqlite:///PATH and postgresql://...
    database_url: str = ""
    auth: Literal["off", "jwt"] = "jwt"
    # JSON arrays; parsed here (not by pydantic-settings) so a bad value names its variable.
    trusted_issuers: Annotated[tuple[TrustedIssuer, ...], NoDecode] = ()
    public_base_url: str = ""
    fhir_servers: Annotated[tuple[str, ...], NoDecode] = ()
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    cors_allow_private_network: bool = False
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    redis_url: str = ""
    # Connections to Redis per worker: a call beyond them waits up to redis_pool_timeout_s for
    # one to come free (then 503) rather than failing at once (docs/security.md, Sizing the
    # Redis pool).
    redis_max_connections: int = Field(default=64, ge=1, le=10_000)
    redis_pool_timeout_s: float = Field(default=2.0, gt=0, le=60)
    trust_sandbox: bool = False
    fhir_timeout_s: float = Field(default=5.0, gt=0, le=120)
    fhir_max_pages: int = Field(default=20, ge=1, le=1000)
    fhir_max_response_bytes: int = Field(default=20_000_000, ge=1_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # On SIGTERM readiness turns false this long before the server stops listening, so a load
    # balancer stops sending new calls first; in-flight calls then finish.
    shutdown_delay_s: float = Field(default=2.0, ge=0, le=60)
    demo: bool = False
    # /docs, /redoc and /openapi.json: unset means on in demo mode and with MSCDS_AUTH=off only.
    api_docs: bool | None = None
    # Feedback items a client may send per minute (0: no limit), and how long rows are kept
    # (0: for ever).
    feedback_rate: int = Field(default=120, ge=0)
    feedback_retention_days: int = Field(default=365, ge=0, le=36_500)
    # A caller that has not sent its headers, or its whole body, within these is cut off.
    header_read_timeout_s: float = Field(default=10.0, gt=0, le=600)
    body_read_timeout_s: float = Field(default=10.0, gt=0, le=600)

    @property
    def docs_enabled(self) -> bool:
        """Whether to serve the API documentation (see `api_docs`)."""
        if self.api_docs is not None:
            return self.api_docs
        return self.demo or self.auth == "off"

    # Governance (docs/governance.md). /metrics: unset means on in demo mode and with
    # MSCDS_AUTH=off only; a token, when set, is asked of the scraper. /admin/report is off
    # unless it has a token. Issuance rows are kept this long (0: for ever). Snoozes are read
    # from the database this often (what other replicas received).
    metrics: bool | None = None
    metrics_token: SecretStr | None = None
    admin_token: SecretStr | None = None
    ledger_retention_days: int = Field(default=365, ge=0, le=36_500)
    suppression: bool = True
    suppression_refresh_s: float = Field(default=1.0, gt=0, le=60)

    @property
    def metrics_enabled(self) -> bool:
        """Whether to serve /metrics (see `metrics`)."""
        if self.metrics is not None:
            return self.metrics
        return self.demo or self.auth == "off"

    @field_validator("metrics_token", "admin_token")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("trusted_issuers", "fhir_servers", "cors_origins", mode="before")
    @classmethod
    def _json_array(cls, value: Any) -> Any:
        if isinstance(value, str | bytes):
            try:
                value = orjson.loads(value) if value.strip() else []
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg})") from None
            if not isinstance(value, list):
                raise ValueError("must be a JSON array")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if value:
            _absolute_url(value, allow_path=True)
        return value.rstrip("/")

    @field_validator("fhir_servers")
    @classmethod
    def _fhir_bases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_base(_absolute_url(url, allow_path=True)).rstrip("/") for url in value)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*" or _absolute_url(origin, allow_path=False) != origin:
                raise ValueError(f"{origin!r} is not an origin like https://ehr.example.org")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql", "postgres:")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def async_database_url(self) -> str:
        """The SQLAlchemy URL with the async driver for the configured database."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'feedback.db').as_posix()}"
        for plain, driver in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus explicit overrides) or raise ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"] or ("?",)
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
            problems.append(f"{ENV_PREFIX}{str(loc[0]).upper()}{where}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def check_auth(settings: Settings) -> None:
    """With MSCDS_AUTH=jwt, refuse to start unless a client could actually authenticate.

    Demo mode supplies its own base URLs and trusts the Sandbox (service.http.security).
    """
    if settings.demo:
        check_demo(settings)
        return
    if settings.auth != "jwt":
        return
    if not settings.public_base_url:
        raise ConfigError(
            f"{ENV_PREFIX}PUBLIC_BASE_URL is required when {ENV_PREFIX}AUTH=jwt: the URL clients "
            "call, e.g. https://cds.example.org (each token's aud is checked against it)"
        )
    if not settings.trusted_issuers and not settings.trust_sandbox:
        raise ConfigError(
            f"{ENV_PREFIX}TRUSTED_ISSUERS is empty while {ENV_PREFIX}AUTH=jwt: no client could "
            f"authenticate (or set {ENV_PREFIX}AUTH=off on a closed network)"
        )
    issuers = [i.iss for i in settings.trusted_issuers]
    if len(set(issuers)) != len(issuers):
        raise ConfigError(f"{ENV_PREFIX}TRUSTED_ISSUERS lists the same iss twice")


def check_demo(settings: Settings) -> None:
    """Refuse demo mode beside production trust: demo mode trusts the Sandbox key, which anyone
    can sign with, so a real issuer or FHIR server next to it would be open to everyone."""
    configured = [
        f"{ENV_PREFIX}{name.upper()}"
        for name in ("trusted_issuers", "fhir_servers")
        if getattr(settings, name)
    ]
    if configured:
        raise ConfigError(
            f"demo mode refuses to start with {' and '.join(configured)} set: it trusts the "
            "public CDS Hooks Sandbox key, so anyone could call with them. Unset "
            f"{' and '.join(configured)} for the demo, or run without --demo"
        )


def _absolute_url(url: str, *, allow_path: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{url!r} must not carry credentials, a query or a fragment")
    if not allow_path and parts.path:
        raise ValueError(f"{url!r} must not have a path")
    return url
