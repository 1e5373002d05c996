"""Delivering outbox events to webhook subscriptions, signed after the Standard Webhooks spec.

The sweep (``sweep``, the ``deliver_webhooks`` job, run every
``[webhooks] sweep_interval_seconds`` by Celery beat or the embedded poller) does two things:

1. fan-out: each committed event not yet fanned out gets one ``WebhookDelivery`` per
   enabled subscription that wants its type (unique per subscription and event, so a
   second sweep adds nothing), and is marked fanned out in the same transaction;
2. delivery: due deliveries are claimed (their ``next_attempt_at`` pushed past the lease,
   so no other worker takes them), POSTed concurrently, and their outcome written back:
   each attempt is logged; a 2xx delivers; anything else is retried after
   ``base * factor**(n-1)`` seconds (capped, times a random 0.5-1.0), until
   ``max_attempts``; a subscription failing for ``disable_after_days`` or
   ``disable_after_failures`` deliveries in a row is disabled, its pending deliveries kept.

An event committed just before the process died is found by the next sweep; a delivery
whose worker died is taken again when its lease runs out. Receivers may therefore see a
message twice (at least once) and dedupe by ``webhook-id``, which is the event's id and
the same on every attempt.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from standardwebhooks.webhooks import Webhook

from connectors.base.credentials import Secret
from connectors.base.errors import CredentialsError
from hub.events.secrets import unseal
from hub.events.ssrf import GuardedAdapter, TargetRefused, check_url
from hub.models import (
    OutboxEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookDeliveryStatus,
    WebhookSubscription,
    new_id,
    utcnow,
)
from hub.settings import Settings, WebhooksSettings
from hub.tasks import job, job_engine, job_settings

__all__ = ["Outcome", "SweepReport", "backoff", "deliver_webhooks", "envelope", "fan_out",
           "ensure_delivery", "prune", "redeliver", "sweep", "wants"]

log = logging.getLogger(__name__)

PENDING = WebhookDeliveryStatus.PENDING
EXCERPT_CHARS = 500
PRUNE_EVERY_SECONDS = 3600.0
_pruned_at = float("-inf")
USER_AGENT = "crmhub-webhooks/1"


@dataclass(slots=True)
class SweepReport:
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    disabled: list[uuid.UUID] = field(default_factory=list)
    pruned: int = 0


@dataclass(slots=True)
class _Claimed:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    attempts: int
    url: str
    secret: bytes
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]


@dataclass(slots=True)
class Outcome:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    attempts: int
    attempted_at: datetime
    succeeded: bool
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


def wants(event_types: Sequence[str], event_type: str) -> bool:
    """Whether a subscription to ``event_types`` gets ``event_type`` (``*`` and ``case.*`` match)."""
    for wanted in event_types:
        if wanted in ("*", event_type):
            return True
        if wanted.endswith(".*") and event_type.startswith(wanted[:-1]):
            return True
    return False


def envelope(event_type: str, occurred_at: datetime, payload: dict[str, Any]) -> str:
    """The body of a delivery: ``{"type", "timestamp", "data"}`` as compact JSON."""
    timestamp = occurred_at.isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": payload},
                      separators=(",", ":"), ensure_ascii=False)


def backoff(attempt: int, settings: WebhooksSettings, rng: random.Random | None = None
            ) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1 = the first)."""
    ceiling = min(settings.backoff_max_seconds,
                  settings.backoff_base_seconds * settings.backoff_factor ** (attempt - 1))
    return timedelta(seconds=ceiling * (rng or random).uniform(0.5, 1.0))


def _lease(settings: WebhooksSettings) -> timedelta:
    # Longer than any one POST can take: a claimed delivery is somebody's until then.
    return timedelta(seconds=2 * (settings.connect_timeout_seconds + settings.read_timeout_seconds)
                     + 30)


# -- fan-out -------------------------------------------------------------------------------------


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(WebhookDelivery).on_conflict_do_nothing(
        index_elements=["subscription_id", "event_id"])


def fan_out(engine: Engine, settings: WebhooksSettings, now: datetime | None = None) -> int:
    """Make the deliveries of events not yet fanned out; return how many events were."""
    now = now or utcnow()
    total = 0
    while True:
        with engine.begin() as conn:
            events = conn.execute(
                select(OutboxEvent.id, OutboxEvent.type)
                .where(OutboxEvent.fanned_out_at.is_(None))
                .order_by(OutboxEvent.occurred_at, OutboxEvent.id)
                .limit(settings.batch_size * 5)
                .with_for_update(skip_locked=True)
            ).all()
            if not events:
                return total
            subscriptions = conn.execute(
                select(WebhookSubscription.id, WebhookSubscription.event_types)
                .where(WebhookSubscription.enabled.is_(True))
            ).all()
            rows = [
                {"id": new_id(), "subscription_id": sub_id, "event_id": event_id,
                 "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
                for event_id, event_type in events
                for sub_id, event_types in subscriptions
                if wants(event_types or [], event_type)
            ]
            if rows:
                conn.execute(_insert_ignoring_duplicates(conn), rows)
            conn.execute(update(OutboxEvent)
                         .where(OutboxEvent.id.in_([event_id for event_id, _ in events]))
                         .values(fanned_out_at=now))
            total += len(events)


# -- claiming and sending -----------------------------------------------------------------------


def _claim(engine: Engine, settings: WebhooksSettings, now: datetime,
           only: Sequence[uuid.UUID] | None = None) -> list[_Claimed]:
    due = (select(WebhookDelivery.id)
           .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
           .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now,
                  WebhookSubscription.enabled.is_(True))
           .order_by(WebhookDelivery.next_attempt_at)
           .limit(settings.batch_size)
           .with_for_update(of=WebhookDelivery, skip_locked=True))
    if only is not None:
        due = due.where(WebhookDelivery.id.in_(list(only)))
    with engine.begin() as conn:
        ids = conn.scalars(due).all()
        if not ids:
            return []
        # The condition again: on SQLite another process may have claimed them since the select.
        claimed = conn.scalars(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == PENDING,
                   WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + _lease(settings))
            .returning(WebhookDelivery.id)
        ).all()
        if not claimed:
            return []
        rows = conn.execute(
            select(WebhookDelivery.id, WebhookDelivery.subscription_id, WebhookDelivery.attempts,
                   WebhookSubscription.url, WebhookSubscription.secret_encrypted,
                   OutboxEvent.id, OutboxEvent.type, OutboxEvent.occurred_at, OutboxEvent.payload)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.in_(claimed))
            .order_by(OutboxEvent.occurred_at)
        ).all()
    return [_Claimed(*row) for row in rows]


class Sender:
    """One HTTP session for a sweep: pooled keep-alive connections, guarded against SSRF."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.webhooks = settings.webhooks
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment in front of the guard
        adapter = GuardedAdapter(self.webhooks, pool_maxsize=self.webhooks.concurrency,
                                 max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self._signers: dict[bytes, tuple[Secret, Webhook]] = {}

    def _signer(self, sealed: bytes) -> tuple[Secret, Webhook]:
        known = self._signers.get(sealed)
        if known is None:
            secret = unseal(sealed, self.settings)
            known = self._signers[sealed] = (secret, Webhook(secret.reveal()))
        return known

    def send(self, claimed: _Claimed) -> Outcome:
        started = utcnow()
        clock = time.perf_counter()
        outcome = Outcome(claimed.delivery_id, claimed.subscription_id, claimed.attempts + 1,
                          started, False, 0)
        secret: Secret | None = None
        try:
            check_url(claimed.url, self.webhooks, resolve=False)
            secret, signer = self._signer(claimed.secret)
            body = envelope(claimed.event_type, claimed.occurred_at, claimed.payload)
            message_id = str(claimed.event_id)
            headers = {
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(int(started.timestamp())),
                "webhook-signature": signer.sign(message_id, started, body),
            }
            # Streamed: only the start of the answer is read, however much the receiver sends.
            with self.session.post(
                    claimed.url, data=body.encode("utf-8"), headers=headers,
                    allow_redirects=False, stream=True,
                    timeout=(self.webhooks.connect_timeout_seconds,
                             self.webhooks.read_timeout_seconds)) as response:
                start = response.raw.read(EXCERPT_CHARS * 4, decode_content=True)
            outcome.status_code = response.status_code
            outcome.succeeded = 200 <= response.status_code < 300
            excerpt = start.decode(response.encoding or "utf-8", "replace")[:EXCERPT_CHARS]
            outcome.response_excerpt = _redact(excerpt, secret) or None
            if not outcome.succeeded:
                outcome.error = f"the receiver answered {response.status_code}"
        except TargetRefused as error:
            outcome.error = f"refused target: {error.message}"
        except CredentialsError as error:
            outcome.error = str(error)
        except requests.RequestException as error:
            outcome.error = _redact(_describe(error), secret)
        outcome.duration_ms = int((time.perf_counter() - clock) * 1000)
        return outcome

    def close(self) -> None:
        self.session.close()


def _describe(error: requests.RequestException) -> str:
    kind = {requests.Timeout: "timed out", requests.ConnectionError: "could not connect"}
    for cls, text in kind.items():
        if isinstance(error, cls):
            cause = error.__context__ or error
            return f"{text}: {type(cause).__name__}"
    return f"request failed: {type(error).__name__}"


def _redact(text: str, secret: Secret | None) -> str:
    if secret is not None and text:
        plain = secret.reveal()
        for needle in (plain, plain.removeprefix("whsec_")):
            text = text.replace(needle, "***")
    return text


# -- outcomes ------------------------------------------------------------------------------------


def _record(engine: Engine, settings: WebhooksSettings, outcomes: Sequence[Outcome],
            report: SweepReport, rng: random.Random | None = None) -> None:
    if not outcomes:
        return
    now = utcnow()
    attempts = [
        {"id": new_id(), "delivery_id": o.delivery_id, "attempted_at": o.attempted_at,
         "succeeded": o.succeeded, "status_code": o.status_code, "duration_ms": o.duration_ms,
         "error": o.error, "response_excerpt": o.response_excerpt}
        for o in outcomes
    ]
    deliveries = []
    for o in outcomes:
        if o.succeeded:
            status, next_at, delivered_at = WebhookDeliveryStatus.DELIVERED, None, now
            report.delivered += 1
        elif o.attempts >= settings.max_attempts:
            status, next_at, delivered_at = WebhookDeliveryStatus.FAILED, None, None
            report.failed += 1
        else:
            status, next_at, delivered_at = PENDING, now + backoff(o.attempts, settings, rng), None
        deliveries.append({"b_id": o.delivery_id, "b_status": status, "b_attempts": o.attempts,
                           "b_next": next_at, "b_last": o.attempted_at,
                           "b_delivered": delivered_at})
    succeeded = {o.subscription_id for o in outcomes if o.succeeded}
    failures: dict[uuid.UUID, int] = {}
    for o in outcomes:
        if not o.succeeded and o.subscription_id not in succeeded:
            failures[o.subscription_id] = failures.get(o.subscription_id, 0) + 1
    with engine.begin() as conn:
        conn.execute(WebhookDeliveryAttempt.__table__.insert(), attempts)
        table = WebhookDelivery.__table__
        conn.execute(
            table.update().where(table.c.id == bindparam("b_id")).values(
                status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"), last_attempt_at=bindparam("b_last"),
                delivered_at=bindparam("b_delivered")),
            deliveries)
        if succeeded:
            conn.execute(update(WebhookSubscription)
                         .where(WebhookSubscription.id.in_(succeeded))
                         .values(consecutive_failures=0, failing_since=None))
        for subscription_id, count in failures.items():
            conn.execute(
                update(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
                .values(consecutive_failures=WebhookSubscription.consecutive_failures + count,
                        failing_since=func.coalesce(WebhookSubscription.failing_since, now)))
        if failures:
            report.disabled += _disable_failing(conn, settings, list(failures), now)


def _disable_failing(conn: Connection, settings: WebhooksSettings,
                     subscription_ids: list[uuid.UUID], now: datetime) -> list[uuid.UUID]:
    since = now - timedelta(days=settings.disable_after_days)
    failing = conn.execute(
        select(WebhookSubscription.id, WebhookSubscription.consecutive_failures,
               WebhookSubscription.failing_since)
        .where(WebhookSubscription.id.in_(subscription_ids),
               WebhookSubscription.enabled.is_(True),
               or_(WebhookSubscription.consecutive_failures >= settings.disable_after_failures,
                   and_(WebhookSubscription.failing_since.is_not(None),
                        WebhookSubscription.failing_since <= since)))
    ).all()
    for subscription_id, count, failing_since in failing:
        reason = (f"disabled after {count} failed deliveries in a row, failing since "
                  f"{failing_since.isoformat().replace('+00:00', 'Z')}")
        conn.execute(update(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
                     .values(enabled=False, disabled_reason=reason, disabled_at=now))
        log.warning("webhook subscription %s %s", subscription_id, reason)
    return [subscription_id for subscription_id, _, _ in failing]


# -- the sweep -----------------------------------------------------------------------------------


def sweep(engine: Engine, settings: Settings, *, only: Sequence[uuid.UUID] | None = None,
          rng: random.Random | None = None) -> SweepReport:
    """Fan out new events, then send every due delivery (or those in ``only``)."""
    global _pruned_at
    webhooks = settings.webhooks
    report = SweepReport(fanned_out=fan_out(engine, webhooks))
    if time.monotonic() - _pruned_at > PRUNE_EVERY_SECONDS:
        _pruned_at = time.monotonic()
        report.pruned = prune(engine, webhooks)
    sender = Sender(settings)
    try:
        with ThreadPoolExecutor(max_workers=webhooks.concurrency,
                                thread_name_prefix="crmhub-webhook") as pool:
            while True:
                claimed = _claim(engine, webhooks, utcnow(), only)
                if not claimed:
                    break
                _record(engine, webhooks, list(pool.map(sender.send, claimed)), report, rng)
    finally:
        sender.close()
    return report


def prune(engine: Engine, settings: WebhooksSettings, now: datetime | None = None) -> int:
    """Forget events older than ``retention_days`` with nothing left to send; how many went.

    Their deliveries and attempt log go with them (foreign keys cascade).
    """
    cutoff = (now or utcnow()) - timedelta(days=settings.retention_days)
    pending = select(WebhookDelivery.id).where(WebhookDelivery.event_id == OutboxEvent.id,
                                               WebhookDelivery.status == PENDING)
    total = 0
    while True:
        with engine.begin() as conn:
            old = conn.scalars(select(OutboxEvent.id)
                               .where(OutboxEvent.fanned_out_at < cutoff, ~pending.exists())
                               .limit(1000)).all()
            if not old:
                return total
            conn.execute(OutboxEvent.__table__.delete().where(OutboxEvent.id.in_(old)))
            total += len(old)


def redeliver(conn: Connection, delivery_ids: Sequence[uuid.UUID], now: datetime | None = None
              ) -> int:
    """Make deliveries due again now with a full set of attempts, whatever their status.

    The caller commits; their attempt log is kept.
    """
    result = conn.execute(update(WebhookDelivery)
                          .where(WebhookDelivery.id.in_(list(delivery_ids)))
                          .values(status=PENDING, next_attempt_at=now or utcnow(),
                                  attempts=0, delivered_at=None))
    return result.rowcount


def ensure_delivery(conn: Connection, subscription_id: uuid.UUID, event_id: uuid.UUID
                    ) -> uuid.UUID:
    """The delivery of an event to a subscription, made (due now) if there was none."""
    conn.execute(_insert_ignoring_duplicates(conn), [
        {"id": new_id(), "subscription_id": subscription_id, "event_id": event_id,
         "status": PENDING, "attempts": 0, "next_attempt_at": utcnow(), "created_at": utcnow()}])
    return conn.scalar(select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.event_id == event_id))


# -- jobs ----------------------------------------------------------------------------------------

_running = threading.Lock()


@job
def deliver_webhooks() -> dict[str, Any]:
    """The periodic sweep; a tick that finds one already running in this process does nothing."""
    if not _running.acquire(blocking=False):
        return {"skipped": True}
    try:
        report = sweep(job_engine(), job_settings())
    finally:
        _running.release()
    if report.delivered or report.failed or report.disabled:
        log.info("webhooks: %d event(s) fanned out, %d delivered, %d failed for good",
                 report.fanned_out, report.delivered, report.failed)
    return {"fanned_out": report.fanned_out, "delivered": report.delivered,
            "failed": report.failed, "disabled": [str(i) for i in report.disabled]}
