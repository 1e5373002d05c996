"""The sweep runs by itself: every few seconds in the embedded runner, and on Celery beat."""

from __future__ import annotations

import time
import uuid

from sqlalchemy.orm import Session

from hub import tasks
from hub.events.outbox import emit
from tests.events.conftest import hook_settings_for, subscribe


def test_beat_and_the_embedded_ticker_run_the_sweep_at_its_own_interval(database_url):
    settings = hook_settings_for(database_url, sweep_interval_seconds=3)
    beat = tasks.create_celery(settings).conf.beat_schedule
    assert beat["deliver-webhooks"]["task"] == "crmhub.deliver_webhooks"
    assert beat["deliver-webhooks"]["schedule"] == 3
    assert tasks.scheduled_jobs(settings)["deliver_webhooks"] == 3
    assert beat["run-due-syncs"]["schedule"] == settings.jobs.schedule_interval_seconds


def test_the_embedded_runner_delivers_a_committed_event_without_being_asked(
        quiet, database_url, receiver):
    settings = hook_settings_for(database_url, sweep_interval_seconds=0.2)
    settings = settings.model_copy(update={"jobs": settings.jobs.model_copy(
        update={"broker_url": "", "schedule_interval_seconds": 3600})})
    path = f"/hooks/{uuid.uuid4().hex[:12]}"
    subscribe(quiet, settings, receiver, path, ["case.*"])
    tasks.start(settings)
    try:
        with Session(quiet) as session, session.begin():
            event_id = emit(session, "case.updated", {"changed": ["priority"]})
        deadline = time.monotonic() + 30
        while not receiver.at(path) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        tasks.shutdown()
    [message] = receiver.at(path)
    assert message.verified and message.headers["webhook-id"] == str(event_id)
