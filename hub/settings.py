"""Typed settings: config/default.toml, then an optional CRMHUB_CONFIG file, then CRMHUB_* variables.

Nested sections are reached from the environment with a double underscore:
``CRMHUB_API__MAX_DEPTH=8`` sets ``[api] max_depth``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.toml"


class ApiSettings(BaseModel):
    default_page_size: int = Field(50, ge=1)
    max_page_size: int = Field(250, ge=1)
    max_depth: int = Field(12, ge=2)
    max_aliases: int = Field(30, ge=1)
    max_cost: int = Field(50_000, ge=1)
    max_body_bytes: int = Field(1_000_000, ge=1024)
    document_cache_size: int = Field(1024, ge=0)
    graphiql: bool = True
    introspection: bool = True


class AuthSettings(BaseModel):
    issuer: str = "http://127.0.0.1:8000"
    # The `aud` of JWT access tokens; empty means the issuer + "/graphql".
    audience: str = ""
    access_token_ttl_seconds: int = Field(3600, ge=60)
    # "jwt": RFC 9068 tokens signed with the hub's key (see `crmhub keys`); "opaque": random strings.
    access_token_format: Literal["jwt", "opaque"] = "jwt"
    signing_alg: Literal["RS256", "Ed25519"] = "RS256"
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=300)
    authorization_code_ttl_seconds: int = Field(60, ge=10, le=600)
    # Signs the login session cookie; empty means derived from the secret keys.
    session_secret: SecretStr = SecretStr("")
    session_max_age_seconds: int = Field(8 * 3600, ge=60)
    # Tests over plain http set this; production runs behind TLS.
    allow_insecure_transport: bool = False

    @property
    def token_audience(self) -> str:
        return self.audience or self.issuer.rstrip("/") + "/graphql"


class DemoSettings(BaseModel):
    # How many customers `crmhub demo seed` makes unless told otherwise.
    customers: int = Field(1000, ge=0)
    # The internal client whose tokens `crmhub demo token` prints.
    client_name: str = "demo"


class JobsSettings(BaseModel):
    """Where jobs run: in this process (embedded) or on Celery workers (docs/jobs.md)."""

    # "" runs jobs in a thread pool of the serving process; redis://host:6379/0 or
    # amqp://user:password@host:5672// sends them to `crmhub worker` processes.
    broker_url: str = Field("", repr=False)
    # The Celery queue of every job; give each hub sharing a broker its own.
    queue: str = Field("crmhub", min_length=1)
    # Embedded: threads running jobs, and how many may wait before enqueue refuses more.
    embedded_workers: int = Field(2, ge=1)
    embedded_queue_size: int = Field(100, ge=1)
    # How often due syncs are looked for (the beat schedule, or the embedded ticker).
    schedule_interval_seconds: float = Field(60, gt=0)
    # Redis only: a task a killed worker held is redelivered after this long, so it must be
    # longer than the longest sync (RabbitMQ redelivers as soon as the connection drops).
    visibility_timeout_seconds: float = Field(3600, gt=0)
    # A run still RUNNING after this long is taken as abandoned (its worker was killed):
    # the scheduler stops waiting for it.
    stale_run_minutes: int = Field(120, ge=1)

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://",
                                           "pyamqp://")):
            raise ValueError('broker_url must be "" (embedded), redis://… or amqp://…')
        return value


class RateLimitSettings(BaseModel):
    """Per-client token buckets on /graphql; a request takes its estimated cost (docs/access.md)."""

    enabled: bool = True
    # The most a client can spend at once, and how fast it earns it back. A client's
    # own limits go in its settings: {"rate_limit": {"capacity": …, "refill_per_second": …}}.
    capacity: int = Field(100_000, ge=1)
    refill_per_second: float = Field(1_000, gt=0)
    # With `redis_url` set the buckets live in Redis, under this prefix, shared by every process.
    redis_prefix: str = Field("crmhub:ratelimit:", min_length=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CRMHUB_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = "sqlite:///var/crmhub.db"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    debug: bool = False
    log_level: str = "info"
    db_pool_size: int = Field(10, ge=1)
    api: ApiSettings = ApiSettings()
    auth: AuthSettings = AuthSettings()
    demo: DemoSettings = DemoSettings()
    jobs: JobsSettings = JobsSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    # redis://host:6379/0: revoked JWT ids are then checked there instead of in the database,
    # and the rate-limit buckets are kept there.
    redis_url: str | None = Field(None, repr=False)
    # Fernet keys for connection credentials, newest first: CRMHUB_SECRET_KEYS="new,old".
    # Empty: an embedded hub generates var/secret.key once (connectors/base/credentials.py).
    secret_keys: Annotated[list[str], NoDecode, Field(repr=False)] = []

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+", "postgresql:", "postgresql+", "postgres:")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [DEFAULT_CONFIG]
        extra = os.environ.get("CRMHUB_CONFIG")
        if extra:
            files.append(Path(extra))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=files)
        return (init_settings, env_settings, toml)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
