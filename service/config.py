"""Configuration from `MSCDS_*` environment variables, validated once at start-up.

An invalid value stops start-up with a message naming the variable, so a misconfigured
deployment fails loudly instead of answering with surprising defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    auth: Literal["off", "jwt"] = "off"
    fhir_timeout_s: float = Field(default=5.0, gt=0, le=120)
    fhir_max_pages: int = Field(default=20, ge=1, le=1000)
    fhir_max_response_bytes: int = Field(default=20_000_000, ge=1_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    demo: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "sqlite+aiosqlite:", "postgresql")):
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


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus explicit overrides) or raise ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
