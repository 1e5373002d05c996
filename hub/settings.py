"""Typed settings: config/default.toml, then an optional CRMHUB_CONFIG file, then CRMHUB_* variables.

Nested sections are reached from the environment with a double underscore:
``CRMHUB_API__MAX_DEPTH=8`` sets ``[api] max_depth``.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hub.identity.survivorship import SurvivorshipSettings
from hub.models.enums import CaseCategory, CasePriority, Channel, InteractionKind

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
    # A RUNNING run whose heartbeat (every 30 s while it runs) is older than this is
    # abandoned (its process was killed): the scheduler finishes it as FAILED.
    stale_run_minutes: int = Field(10, ge=1)

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://",
                                           "pyamqp://")):
            raise ValueError('broker_url must be "" (embedded), redis://… or amqp://…')
        return value


WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def _minutes(text: str) -> int:
    """Minutes since midnight: "09:30" is 570, "24:00" the end of the day."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not a time of day like 09:00")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return value


class BusinessHoursSettings(BaseModel):
    """When SLA clocks of business-hours policies run: these weekdays, start to end, local time."""

    time_zone: str = "UTC"
    weekdays: list[Weekday] = ["MON", "TUE", "WED", "THU", "FRI"]
    start: str = "09:00"
    end: str = "17:00"
    # Whole days off (local dates), e.g. public holidays.
    holidays: list[date] = []

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _some_days(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("business hours need at least one weekday")
        return sorted(set(value), key=WEEKDAYS.index)

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHoursSettings:
        if self.start_minute >= self.end_minute:
            raise ValueError(
                f"business hours start ({self.start}) must be before they end ({self.end})"
            )
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)

    @property
    def weekday_numbers(self) -> frozenset[int]:
        """Python's numbering: Monday is 0."""
        return frozenset(WEEKDAYS.index(d) for d in self.weekdays)


class SlaPolicySettings(BaseModel):
    """Targets for cases of one priority and/or category; the most specific policy wins."""

    priority: CasePriority | None = None
    category: CaseCategory | None = None
    first_response_hours: float = Field(gt=0)
    resolution_hours: float = Field(gt=0)
    # True: the clock runs only in [sla.business_hours]; false: around the clock.
    business_hours: bool = False

    @property
    def specificity(self) -> int:
        return (self.priority is not None) * 2 + (self.category is not None)


def _default_policies() -> list[SlaPolicySettings]:
    rows = (
        (CasePriority.URGENT, 1, 8, False),
        (CasePriority.HIGH, 4, 24, False),
        (CasePriority.NORMAL, 8, 40, True),
        (CasePriority.LOW, 16, 80, True),
    )
    policies = [
        SlaPolicySettings(priority=p, first_response_hours=f, resolution_hours=r, business_hours=b)
        for p, f, r, b in rows
    ]
    # Complaints of normal priority get a faster first answer (as config/default.toml says).
    policies.append(SlaPolicySettings(
        priority=CasePriority.NORMAL, category=CaseCategory.COMPLAINT,
        first_response_hours=4, resolution_hours=40, business_hours=True,
    ))
    return policies


class SlaSettings(BaseModel):
    """Service-level targets of cases (docs/cases.md)."""

    business_hours: BusinessHoursSettings = BusinessHoursSettings()
    # While a case is PENDING (waiting on the customer) its resolution clock stands still.
    pause_while_pending: bool = True
    policies: list[SlaPolicySettings] = Field(default_factory=_default_policies)


class ComplaintRuleSettings(BaseModel):
    """Which new inbound interactions open a COMPLAINT case by themselves (hub/cases/rules.py)."""

    enabled: bool = True
    channels: list[Channel] = [Channel.EMAIL, Channel.SOCIAL]
    kinds: list[InteractionKind] = [InteractionKind.MESSAGE, InteractionKind.COMMENT]
    # Whole words or phrases, matched case-insensitively in the subject and body.
    keywords: list[str] = [
        "broken", "complain", "complaint", "damaged", "defective", "disappointed",
        "never arrived", "not arrived", "refund", "unacceptable", "worst",
    ]
    # A connector may flag an interaction as a complaint itself; false ignores the flag.
    honour_connector_flag: bool = True
    # Older interactions open no case: a first full sync brings years of history.
    max_age_days: float = Field(7, gt=0)
    priority: CasePriority = CasePriority.NORMAL

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        return sorted({" ".join(k.casefold().split()) for k in value if k.strip()})


class CasesSettings(BaseModel):
    # A CLOSED case may be reopened this long after it was closed; 0 never.
    reopen_window_days: float = Field(14, ge=0)
    complaints: ComplaintRuleSettings = ComplaintRuleSettings()


class RateLimitSettings(BaseModel):
    """Per-client token buckets on /graphql; a request takes its estimated cost (docs/access.md)."""

    enabled: bool = True
    # The most a client can spend at once, and how fast it earns it back. A client's
    # own limits go in its settings: {"rate_limit": {"capacity": …, "refill_per_second": …}}.
    capacity: int = Field(100_000, ge=1)
    refill_per_second: float = Field(1_000, gt=0)
    # With `redis_url` set the buckets live in Redis, under this prefix, shared by every process.
    redis_prefix: str = Field("crmhub:ratelimit:", min_length=1)


class WebhooksSettings(BaseModel):
    """Outbound webhooks: retries, disabling, and which targets may be called (docs/events.md)."""

    # Refused unless true: targets on private, loopback, link-local, multicast or reserved
    # addresses (SSRF). allowed_networks lets a few through, e.g. ["10.1.2.0/24"].
    allow_private_targets: bool = False
    allowed_networks: list[IPvAnyNetwork] = []
    # http:// targets are refused unless true; https is the default.
    allow_http: bool = False
    connect_timeout_seconds: float = Field(5, gt=0)
    read_timeout_seconds: float = Field(15, gt=0)
    # Retry n waits base * factor**(n-1), at most max, times a random 0.5-1.0 (jitter).
    backoff_base_seconds: float = Field(5, gt=0)
    backoff_factor: float = Field(4, ge=1)
    backoff_max_seconds: float = Field(10 * 3600, gt=0)
    max_attempts: int = Field(12, ge=1)
    # A subscription whose deliveries have failed for this long, or this many times in a
    # row, is disabled with the reason; re-enabling it resumes its pending deliveries.
    disable_after_days: float = Field(5, gt=0)
    disable_after_failures: int = Field(100, ge=1)
    # The sweep: fans new events out to deliveries and sends what is due.
    sweep_interval_seconds: float = Field(2, gt=0)
    batch_size: int = Field(200, ge=1)
    concurrency: int = Field(8, ge=1)
    # Events older than this with nothing left to send are deleted, with their delivery log.
    retention_days: float = Field(30, gt=0)


class IdentitySettings(BaseModel):
    """Merges and the golden record (docs/identity.md)."""

    survivorship: SurvivorshipSettings = SurvivorshipSettings()


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
    cases: CasesSettings = CasesSettings()
    sla: SlaSettings = SlaSettings()
    webhooks: WebhooksSettings = WebhooksSettings()
    identity: IdentitySettings = IdentitySettings()
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
