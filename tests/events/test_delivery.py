"""Delivery against a real receiver that verifies with the standardwebhooks library."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.events.delivery import sweep
from hub.events.outbox import emit
from hub.models import (
    OutboxEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from tests.events.conftest import KEYS, hook_settings_for, subscribe

ROOT = Path(__file__).resolve().parents[2]


def _path() -> str:
    return f"/hooks/{uuid.uuid4().hex[:12]}"


def _emit(engine: Engine, event_type: str = "customer.updated", **data) -> uuid.UUID:
    with Session(engine) as session, session.begin():
        return emit(session, event_type, data or {"changed": ["tags"]},
                    subject=("Customer", uuid.uuid4()))


def _delivery(engine: Engine, subscription_id: uuid.UUID) -> WebhookDelivery:
    with Session(engine) as session:
        return session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == subscription_id)).one()


def _attempts(engine: Engine, delivery_id: uuid.UUID) -> list[WebhookDeliveryAttempt]:
    with Session(engine) as session:
        return list(session.scalars(select(WebhookDeliveryAttempt).where(
            WebhookDeliveryAttempt.delivery_id == delivery_id)
            .order_by(WebhookDeliveryAttempt.attempted_at)))


def test_a_committed_event_arrives_signed_and_verified(quiet, hook_settings, receiver):
    path = _path()
    sub = subscribe(quiet, hook_settings, receiver, path, ["customer.*"])
    event_id = _emit(quiet, tier="gold")
    _emit(quiet, "case.created")  # not subscribed to

    report = sweep(quiet, hook_settings)

    [message] = receiver.at(path)
    assert message.verified
    assert message.headers["webhook-id"] == str(event_id)
    assert message.payload["type"] == "customer.updated"
    assert message.payload["data"]["tier"] == "gold"
    assert message.payload["data"]["id"]  # the customer's global id
    assert report.delivered == 1
    delivery = _delivery(quiet, sub.id)
    assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.attempts == 1
    [attempt] = _attempts(quiet, delivery.id)
    assert attempt.succeeded and attempt.status_code == 200
    assert attempt.response_excerpt == "status 200"
    assert sweep(quiet, hook_settings).delivered == 0  # once only


def test_a_wrong_secret_is_refused_by_the_receiver(quiet, hook_settings, receiver):
    path = _path()
    sub = subscribe(quiet, hook_settings, receiver, path, ["customer.updated"])
    receiver.secrets[path] = "whsec_" + "QUJD" * 11  # the receiver knows another secret
    _emit(quiet)
    sweep(quiet, hook_settings)
    [message] = receiver.at(path)
    assert not message.verified
    delivery = _delivery(quiet, sub.id)
    assert delivery.status == WebhookDeliveryStatus.PENDING
    [attempt] = _attempts(quiet, delivery.id)
    assert attempt.status_code == 401 and not attempt.succeeded
    assert attempt.error == "the receiver answered 401"


CRASH = """
import os, sys, uuid
from sqlalchemy.orm import Session
from hub.db import create_sync_engine
from hub.events.outbox import emit
from hub.settings import Settings

engine = create_sync_engine(Settings(database_url=sys.argv[1]))
with Session(engine) as session, session.begin():
    event_id = emit(session, "case.created", {"number": 7}, subject=("Case", uuid.uuid4()))
print(event_id, flush=True)
os._exit(9)  # dead between the commit and anything that would deliver it
"""


def test_an_event_committed_before_a_crash_is_delivered_once(quiet, hook_settings, receiver,
                                                            database_url):
    path = _path()
    subscribe(quiet, hook_settings, receiver, path, ["case.created"])
    child = subprocess.run([sys.executable, "-c", CRASH, database_url], cwd=ROOT,
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "CRMHUB_SECRET_KEYS": KEYS[0]})
    assert child.returncode == 9, child.stderr
    event_id = child.stdout.strip()
    assert receiver.at(path) == []

    sweep(quiet, hook_settings)
    sweep(quiet, hook_settings)

    messages = receiver.at(path)
    assert [m.headers["webhook-id"] for m in messages] == [event_id]
    assert messages[0].verified and messages[0].payload["data"]["number"] == 7


def test_a_delivery_whose_worker_died_is_sent_again_when_its_lease_ends(
        quiet, hook_settings, receiver):
    from hub.events.delivery import _claim

    path = _path()
    sub = subscribe(quiet, hook_settings, receiver, path, ["customer.updated"])
    event_id = _emit(quiet)
    t0 = datetime.now(UTC)
    with time_machine.travel(t0, tick=True) as clock:
        sweep(quiet, hook_settings, only=[])  # fans out, sends nothing
        claimed = _claim(quiet, hook_settings.webhooks, datetime.now(UTC))
        assert [c.subscription_id for c in claimed] == [sub.id]
        # ... and the worker that claimed it dies here.
        assert sweep(quiet, hook_settings).delivered == 0  # still leased
        clock.shift(timedelta(minutes=5))
        assert sweep(quiet, hook_settings).delivered == 1
    assert [m.headers["webhook-id"] for m in receiver.at(path)] == [str(event_id)]


def test_failures_are_retried_with_growing_jittered_delays(quiet, database_url, receiver):
    settings = hook_settings_for(database_url)  # retry n after 10 * 2**(n-1) s, times 0.5-1
    path = _path()
    receiver.script[path] = [500, 503]
    sub = subscribe(quiet, settings, receiver, path, ["customer.updated"])
    event_id = _emit(quiet)
    t0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(t0, tick=False) as clock:
        sweep(quiet, settings)
        first = _delivery(quiet, sub.id)
        assert first.attempts == 1 and first.status == WebhookDeliveryStatus.PENDING
        assert t0 + timedelta(seconds=5) <= first.next_attempt_at <= t0 + timedelta(seconds=10)
        assert sweep(quiet, settings).delivered == 0  # not due yet: nothing sent
        assert len(receiver.at(path)) == 1

        clock.move_to(first.next_attempt_at)
        sweep(quiet, settings)
        second = _delivery(quiet, sub.id)
        waited = second.next_attempt_at - first.next_attempt_at
        assert timedelta(seconds=10) <= waited <= timedelta(seconds=20)

        clock.move_to(second.next_attempt_at)
        assert sweep(quiet, settings).delivered == 1
    done = _delivery(quiet, sub.id)
    assert done.status == WebhookDeliveryStatus.DELIVERED and done.attempts == 3
    assert [a.status_code for a in _attempts(quiet, done.id)] == [500, 503, 200]
    messages = receiver.at(path)
    assert {m.headers["webhook-id"] for m in messages} == {str(event_id)}
    assert all(m.verified for m in messages)
    with Session(quiet) as session:
        row = session.get(WebhookSubscription, sub.id)
        assert row.enabled and row.consecutive_failures == 0 and row.failing_since is None


def _fail_until_disabled(engine, settings, receiver, path, sub, step: timedelta) -> int:
    receiver.script[path] = [500] * 50
    _emit(engine)
    t = datetime(2026, 7, 1, tzinfo=UTC)
    sweeps = 0
    with time_machine.travel(t, tick=False) as clock:
        while sweeps < 20:
            sweep(engine, settings)
            sweeps += 1
            with Session(engine) as session:
                if not session.get(WebhookSubscription, sub.id).enabled:
                    break
            t += step
            clock.move_to(t)
    return sweeps


def test_a_subscription_failing_too_often_is_disabled(quiet, database_url, receiver):
    settings = hook_settings_for(database_url, disable_after_failures=3)
    path = _path()
    sub = subscribe(quiet, settings, receiver, path, ["customer.updated"])
    assert _fail_until_disabled(quiet, settings, receiver, path, sub, timedelta(hours=1)) == 3
    with Session(quiet) as session:
        row = session.get(WebhookSubscription, sub.id)
        assert not row.enabled and row.consecutive_failures == 3
        assert row.disabled_reason.startswith("disabled after 3 failed deliveries in a row")
    delivery = _delivery(quiet, sub.id)
    assert delivery.status == WebhookDeliveryStatus.PENDING  # kept for when it is re-enabled
    with time_machine.travel(datetime(2026, 8, 1, tzinfo=UTC), tick=False):
        sweep(quiet, settings)
    assert len(receiver.at(path)) == 3  # nothing more is sent while disabled


def test_a_subscription_failing_for_days_is_disabled(quiet, database_url, receiver):
    settings = hook_settings_for(database_url, disable_after_days=5, backoff_max_seconds=86400,
                                 backoff_base_seconds=86400)
    path = _path()
    sub = subscribe(quiet, settings, receiver, path, ["customer.updated"])
    sweeps = _fail_until_disabled(quiet, settings, receiver, path, sub, timedelta(days=1))
    assert sweeps == 6  # failing since day 0, disabled on the attempt of day 5
    with Session(quiet) as session:
        assert not session.get(WebhookSubscription, sub.id).enabled


def test_a_delivery_gives_up_after_max_attempts(quiet, database_url, receiver):
    settings = hook_settings_for(database_url, max_attempts=2)
    path = _path()
    receiver.script[path] = [500, 500, 500]
    sub = subscribe(quiet, settings, receiver, path, ["customer.updated"])
    _emit(quiet)
    with time_machine.travel(datetime(2026, 9, 1, tzinfo=UTC), tick=False) as clock:
        sweep(quiet, settings)
        clock.shift(timedelta(minutes=1))
        assert sweep(quiet, settings).failed == 1
        clock.shift(timedelta(days=1))
        sweep(quiet, settings)
    delivery = _delivery(quiet, sub.id)
    assert delivery.status == WebhookDeliveryStatus.FAILED and delivery.attempts == 2
    assert len(receiver.at(path)) == 2


def test_rolled_back_events_are_never_sent(quiet, hook_settings, receiver):
    path = _path()
    subscribe(quiet, hook_settings, receiver, path, ["*"])
    with Session(quiet) as session:
        event_id = emit(session, "feedback.created", {"score": 3})
        session.rollback()
    with Session(quiet) as session:
        assert session.get(OutboxEvent, event_id) is None
    sweep(quiet, hook_settings)
    assert receiver.at(path) == []


def test_old_events_with_nothing_left_to_send_are_pruned(quiet, database_url, receiver):
    from hub.events.delivery import fan_out, prune

    settings = hook_settings_for(database_url, retention_days=30)
    path = _path()
    subscribe(quiet, settings, receiver, path, ["customer.updated"])
    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    with time_machine.travel(t0, tick=False):
        sent = _emit(quiet)  # delivered
        unwanted = _emit(quiet, "case.created")  # no subscription wants it
        sweep(quiet, settings)
        waiting = _emit(quiet)  # fanned out, not sent yet: its delivery is PENDING
        fan_out(quiet, settings.webhooks)
    with Session(quiet) as session:
        assert session.get(OutboxEvent, waiting) is not None
    prune(quiet, settings.webhooks, t0 + timedelta(days=29))  # (older tests' events may go)
    with Session(quiet) as session:
        assert session.get(OutboxEvent, sent) is not None  # not old enough yet
        assert session.get(OutboxEvent, unwanted) is not None
    assert prune(quiet, settings.webhooks, t0 + timedelta(days=31)) >= 2
    with Session(quiet) as session:
        assert session.get(OutboxEvent, sent) is None
        assert session.get(OutboxEvent, unwanted) is None
        assert session.get(OutboxEvent, waiting) is not None  # still to be sent
        assert session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.event_id == sent)).all() == []


def test_only_the_start_of_an_answer_is_kept_and_never_the_secret(quiet, hook_settings, receiver):
    from hub.events.secrets import new_secret

    path = _path()
    secret = new_secret()
    # A receiver that echoes the secret back, in an answer of a megabyte.
    receiver.answers[path] = ("leak " + secret.reveal() + " ") + "x" * 1_000_000
    sub = subscribe(quiet, hook_settings, receiver, path, ["customer.updated"], secret=secret)
    _emit(quiet)
    assert sweep(quiet, hook_settings).delivered == 1
    [attempt] = _attempts(quiet, _delivery(quiet, sub.id).id)
    assert attempt.response_excerpt.startswith("leak *** x")
    assert len(attempt.response_excerpt) <= 500
    assert secret.reveal() not in attempt.response_excerpt
    assert secret.reveal().removeprefix("whsec_") not in attempt.response_excerpt
