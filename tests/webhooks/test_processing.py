"""The inbox job: records written once, in order of the platform's time, failures kept."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import timedelta

import httpx
import pytest

from hub import tasks
from hub.app import create_app
from hub.models import utcnow
from hub.sync import inbox
from hub.sync.inbox import MAX_ATTEMPTS, Result, process_event, process_pending
from hub.sync.writer import CanonicalWriter
from tests.webhooks.deliveries import body, contact, event_row, put_event, signed, source, stored


class CountingWriter(CanonicalWriter):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self._lock = threading.Lock()

    def write(self, session, connection_id, rec, now):
        with self._lock:
            self.writes.append(rec.external_id)
        return super().write(session, connection_id, rec, now)


def test_processing_writes_the_records_and_marks_the_event(engine, connection, ns):
    event_id = put_event(engine, connection, body("e1", "contact.updated", contact(ns, 1)),
                         event_id="e1")

    assert process_event(engine, event_id) is Result.PROCESSED

    record = source(engine, connection, f"{ns}-1")
    assert record is not None and record.payload["first_name"] == "Ada0"
    assert record.customer_id is not None
    event = event_row(engine, event_id)
    assert event.processed_at is not None and event.attempts == 1 and event.error is None


def test_a_job_run_twice_processes_once(engine, connection, ns):
    writer = CountingWriter()
    event_id = put_event(engine, connection, body("e1", "contact.updated", contact(ns, 1)),
                         event_id="e1")
    assert process_event(engine, event_id, writer=writer) is Result.PROCESSED
    assert process_event(engine, event_id, writer=writer) is Result.ALREADY_DONE
    assert writer.writes == [f"{ns}-1"]
    assert event_row(engine, event_id).attempts == 1


def test_jobs_racing_for_one_event_process_it_once(engine, connection, ns):
    writer = CountingWriter()
    event_id = put_event(engine, connection, body("e1", "contact.updated", contact(ns, 1)),
                         event_id="e1")
    start, results = threading.Barrier(6), []

    def run() -> None:
        start.wait()
        results.append(process_event(engine, event_id, writer=writer))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == sorted([Result.PROCESSED] + [Result.ALREADY_DONE] * 5)
    assert writer.writes == [f"{ns}-1"]


def test_an_older_event_after_a_newer_one_changes_nothing(engine, connection, ns):
    newer = put_event(engine, connection, body("e2", "contact.updated",
                                               contact(ns, 1, version=2, first_name="Newer")),
                      event_id="e2")
    older = put_event(engine, connection, body("e1", "contact.updated",
                                               contact(ns, 1, version=1, first_name="Older")),
                      event_id="e1")
    assert process_event(engine, newer) is Result.PROCESSED
    assert process_event(engine, older) is Result.PROCESSED  # processed, and ignored

    record = source(engine, connection, f"{ns}-1")
    assert record.payload["first_name"] == "Newer"
    assert record.source_updated_at.isoformat() == contact(ns, 1, version=2)["updated_at"]
    assert event_row(engine, older).processed_at is not None


def test_an_old_deletion_does_not_undo_a_newer_update(engine, connection, ns):
    update = put_event(engine, connection, body("e2", "contact.updated",
                                                contact(ns, 1, version=5)), event_id="e2")
    gone = {"id": f"{ns}-1", "updated_at": contact(ns, 1, version=1)["updated_at"]}
    delete = put_event(engine, connection, body("e1", "contact.deleted", gone), event_id="e1")
    process_event(engine, update)
    process_event(engine, delete)
    assert source(engine, connection, f"{ns}-1").deleted_at is None


def test_events_about_one_record_processed_at_once_keep_the_newest(engine, connection, ns):
    # Ten versions of five contacts, all processed at the same time by ten threads.
    events = [
        put_event(engine, connection, body(f"e{n}-{v}", "contact.updated",
                                           contact(ns, n, version=v, first_name=f"V{v}")),
                  event_id=f"e{n}-{v}")
        for v in range(10) for n in range(5)
    ]
    start = threading.Barrier(10)

    def run(mine: list) -> None:
        start.wait()
        for event_id in mine:
            assert process_event(engine, event_id) is Result.PROCESSED

    threads = [threading.Thread(target=run, args=(events[k::10],)) for k in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for n in range(5):
        assert source(engine, connection, f"{ns}-{n}").payload["first_name"] == "V9"
    assert all(e.processed_at is not None and e.error is None for e in stored(engine, connection))


def test_a_malformed_body_fails_with_its_error_kept_and_nothing_lost(engine, connection):
    raw = b"{this is not json"
    event_id = put_event(engine, connection, raw, event_id="bad-1", topic="unknown")

    assert process_event(engine, event_id) is Result.FAILED

    event = event_row(engine, event_id)
    assert event.processed_at is None and event.attempts == 1
    assert "MappingError" in event.error and "not a JSON object" in event.error
    assert event.body == raw


def test_a_failing_event_is_retried_by_the_sweep_until_it_has_no_tries_left(engine, connection):
    event_id = put_event(engine, connection, b"[]", event_id="bad-2", topic="unknown")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        tally = process_pending(engine, older_than=timedelta(0), connection_id=connection)
        assert tally[Result.FAILED] == 1
        assert event_row(engine, event_id).attempts == attempt
    # Left for a person to look at, with its body and error.
    assert process_pending(engine, older_than=timedelta(0), connection_id=connection)[
        Result.FAILED] == 0
    assert event_row(engine, event_id).error


def test_the_sweep_takes_events_whose_enqueue_was_lost(engine, connection, ns):
    event_id = put_event(engine, connection, body("e1", "contact.updated", contact(ns, 1)),
                         event_id="e1")
    # Received just now: its own job may still be coming.
    assert inbox.pending_events(engine, connection_id=connection) == []
    assert process_pending(engine, older_than=timedelta(0),
                           connection_id=connection)[Result.PROCESSED] == 1
    assert event_row(engine, event_id).processed_at is not None
    assert inbox.pending_events(engine, older_than=timedelta(0), connection_id=connection) == []


def test_an_event_of_a_topic_the_hub_does_not_use_is_processed_into_nothing(engine, connection):
    event_id = put_event(engine, connection, body("e1", "invoice.paid", {"id": 1}),
                         event_id="e1", topic="invoice.paid")
    assert process_event(engine, event_id) is Result.PROCESSED


def test_a_missing_event_is_reported(engine):
    assert process_event(engine, uuid.uuid4()) is Result.MISSING


@pytest.fixture
def runner(hook_settings):
    """The real jobs layer, embedded, on the test database."""
    runner = tasks.configure(hook_settings)
    yield runner
    tasks.shutdown()


async def test_end_to_end_through_the_jobs_layer(hook_settings, engine, connection, ns, runner):
    app = create_app(hook_settings)
    raw = body("e1", "contact.updated", contact(ns, 1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://hub.test") as client:
        response = await client.post(f"/webhooks/{connection}", content=raw, headers=signed(raw))
    await app.state.webhooks.close()
    await app.state.engine.dispose()
    app.state.sync_engine.dispose()
    assert response.status_code == 200

    # The job is enqueued just after the answer, and run by one of the runner's threads.
    deadline = time.monotonic() + 30
    while (event := stored(engine, connection)[0]).processed_at is None:
        assert time.monotonic() < deadline, "the job did not process the event in 30 s"
        await asyncio.sleep(0.02)
    assert event.error is None and event.attempts == 1
    assert source(engine, connection, f"{ns}-1") is not None
    assert inbox.process_inbound_event(str(event.id)) == Result.ALREADY_DONE.value


def test_the_schedule_sweeps_the_inbox_in_both_modes(hook_settings):
    beat = tasks.create_celery(hook_settings).conf.beat_schedule
    assert {entry["task"] for entry in beat.values()} >= {
        "crmhub.run_due_syncs", "crmhub.process_pending_inbox"}
    assert "process_pending_inbox" in tasks.SCHEDULED_JOBS  # the embedded ticker's list


def test_an_event_stored_without_its_job_is_processed_by_the_embedded_sweep(
        hook_settings, engine, connection, ns):
    event_id = put_event(engine, connection, body("e1", "contact.updated", contact(ns, 1)),
                         event_id="e1")
    with engine.begin() as db:  # stored a while ago; its job never came
        db.execute(inbox.events.update().where(inbox.events.c.id == event_id)
                   .values(received_at=utcnow() - 2 * inbox.PENDING_AFTER))
    jobs = hook_settings.jobs.model_copy(update={"broker_url": "",
                                                 "schedule_interval_seconds": 0.2})
    tasks.start(hook_settings.model_copy(update={"jobs": jobs}))
    try:
        deadline = time.monotonic() + 30
        while (event := event_row(engine, event_id)).processed_at is None:
            assert time.monotonic() < deadline, "the sweep did not process the event in 30 s"
            time.sleep(0.05)
    finally:
        tasks.shutdown()
    assert event.error is None and event.attempts == 1
    assert source(engine, connection, f"{ns}-1") is not None


def test_one_job_processes_the_events_stored_together(engine, connection, ns, runner):
    ids = [put_event(engine, connection, body(f"e{n}", "contact.updated", contact(ns, n)),
                     event_id=f"e{n}") for n in range(3)]
    missing = str(uuid.uuid4())
    assert inbox.process_inbound_events([*map(str, ids), missing]) == {
        Result.PROCESSED.value: 3, Result.MISSING.value: 1}
    assert all(source(engine, connection, f"{ns}-{n}") is not None for n in range(3))
    # Run again (a broker's redelivery of the job): each event is processed once.
    assert inbox.process_inbound_events([str(i) for i in ids]) == {Result.ALREADY_DONE.value: 3}
