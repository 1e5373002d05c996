"""Real Celery workers on real brokers (Redis and RabbitMQ): a sync job end to end, and a worker
killed with SIGKILL half way whose task is delivered again and finishes the same as a clean run."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

import pytest

from hub import tasks
from hub.db import create_sync_engine
from hub.migrate import upgrade
from hub.models import SyncRun, utcnow
from hub.models.enums import SyncRunStatus
from hub.settings import Settings
from hub.sync.runner import sync_connection
from hub.sync.state import start_bookmark
from tests.jobs.conftest import (
    WORKER,
    add_connection,
    counts,
    fingerprint,
    runs_of,
    sending_to,
    serve_example,
    wait_for,
)


def _finished(engine, connection_id, streams=("contacts", "notes"), after=None):
    """The last run of each stream, once all of them have finished after ``after``."""
    last: dict[str, SyncRun] = {}
    for run in runs_of(engine, connection_id):
        last[run.stream] = run
    done = [last.get(s) for s in streams]
    if all(r is not None and r.status != SyncRunStatus.RUNNING and (
            after is None or r.started_at >= after) for r in done):
        return done
    return None


# Workers share the test run's PostgreSQL database here; SQLite workers sync end to end in
# the tests below, on a database of their own.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_runs_a_sync_job_on_postgresql(engine, settings, broker_url, queue,
                                               start_worker, example):
    _, connection_id = example(contacts=12, notes=4, page_cap=5)
    worker = start_worker(*WORKER)
    with sending_to(settings, broker_url, queue):
        job_id = tasks.enqueue_sync(connection_id)
    assert job_id

    runs = wait_for(lambda: _finished(engine, connection_id), 30, "the sync job",
                    diagnose=worker.output)

    assert [(r.stream, r.status, r.records_created) for r in runs] == [
        ("contacts", SyncRunStatus.SUCCEEDED, 12), ("notes", SyncRunStatus.SUCCEEDED, 4)]
    assert counts(engine, connection_id) == {
        "records": 16, "distinct": 16, "customers": 12, "notes": 4}
    assert "crmhub.sync_connection_job" in worker.output()


CONTACTS, NOTES, PAGE = 120, 10, 20


@pytest.fixture
def own_database(tmp_path):
    """A migrated SQLite database of the test's own: (URL, engine)."""
    url = f"sqlite:///{tmp_path / 'own.db'}"
    engine = create_sync_engine(Settings(database_url=url))
    upgrade(engine)
    yield url, engine
    engine.dispose()


def test_a_killed_worker_task_is_delivered_again_and_ends_like_a_clean_run(
        own_database, broker_url, queue, crmhub_process, api, ns):
    # The broker's redelivery is under test, so one backend will do: an SQLite database of the
    # test's own (tests/sync/test_crash.py kills a sync inside a transaction).
    url, engine = own_database
    # A clean run of the same platform data, in a namespace of its own.
    _, clean_url = serve_example(api, f"{ns}c", contacts=CONTACTS, notes=NOTES, page_cap=PAGE)
    clean = add_connection(engine, f"{ns}c", clean_url)
    sync_connection(engine, clean)

    # The platform answers the first pages slowly, then holds the next one: the kill lands
    # in the middle of the task, after some pages were committed.
    gate = threading.Event()
    data, api_url = serve_example(api, ns, contacts=CONTACTS, notes=NOTES, page_cap=PAGE,
                                  delay=0.05, gate=gate, gate_offset=2 * PAGE)
    connection_id = add_connection(engine, ns, api_url)
    doomed = crmhub_process(*WORKER, database_url=url)
    with sending_to(Settings(database_url=url), broker_url, queue):
        tasks.enqueue_sync(connection_id)  # once: whatever runs after the kill was redelivered

    def held() -> bool:
        committed = any(r.records_read == 2 * PAGE for r in runs_of(engine, connection_id))
        return committed and any(s.path == f"/{ns}/contacts" and s.query["offset"] == str(2 * PAGE)
                                 for s in api.seen)

    wait_for(held, 30, "two committed pages", diagnose=doomed.output)
    doomed.kill()
    assert doomed.process.returncode == -signal.SIGKILL
    gate.set()
    killed_at = utcnow()
    (killed,) = runs_of(engine, connection_id)
    assert (killed.status, killed.records_read) == (SyncRunStatus.RUNNING, 2 * PAGE)
    bookmark = start_bookmark(engine, connection_id, "contacts")
    requests_before = len(api.seen)

    successor = crmhub_process(*WORKER, database_url=url)
    finished = wait_for(lambda: _finished(engine, connection_id, after=killed_at), 40,
                        "the redelivered sync", diagnose=successor.output)

    assert [(r.stream, r.status) for r in finished] == [
        ("contacts", SyncRunStatus.SUCCEEDED), ("notes", SyncRunStatus.SUCCEEDED)]
    # The successor resumed from the bookmark the killed run committed last.
    resumed = [s for s in api.seen[requests_before:] if s.path == f"/{ns}/contacts"]
    assert resumed[0].query.get("updated_since") == bookmark["updated_at"]
    assert finished[0].records_read < CONTACTS
    # The killed run never got to say so: the redelivered task found its worker gone and
    # finished it as abandoned; nothing else ran.
    runs = runs_of(engine, connection_id)
    assert [(r.stream, r.status) for r in runs] == [
        ("contacts", SyncRunStatus.FAILED), ("contacts", SyncRunStatus.SUCCEEDED),
        ("notes", SyncRunStatus.SUCCEEDED)]
    assert runs[0].error.startswith("abandoned: its process is no longer running")
    # Nothing lost, nothing twice: the same rows as the clean run.
    expected = {"records": CONTACTS + NOTES, "distinct": CONTACTS + NOTES,
                "customers": CONTACTS, "notes": NOTES}
    assert counts(engine, connection_id) == counts(engine, clean) == expected
    assert fingerprint(engine, connection_id, ns) == fingerprint(engine, clean, f"{ns}c")
    assert data.contacts[-1]["updated_at"] in str(start_bookmark(engine, connection_id, "contacts"))


@pytest.mark.parametrize("broker_url", ["redis"], indirect=True)
def test_the_scheduler_enqueues_due_syncs_for_the_workers(own_database, crmhub_process, api, ns,
                                                          tmp_path):
    # A database of its own: the scheduler looks at every connection in it.
    url, engine = own_database
    _, api_url = serve_example(api, ns, contacts=3, notes=1)
    connection_id = add_connection(engine, ns, api_url, schedule="* * * * *",
                                   created_at=utcnow() - timedelta(minutes=2))
    worker = crmhub_process(*WORKER, database_url=url)
    scheduler = crmhub_process("scheduler", "--schedule-file", str(tmp_path / "beat"),
                               database_url=url)

    runs = wait_for(lambda: _finished(engine, connection_id), 30, "a scheduled sync",
                    diagnose=lambda: worker.output() + scheduler.output())

    assert [(r.stream, r.status, r.records_created) for r in runs] == [
        ("contacts", SyncRunStatus.SUCCEEDED, 3), ("notes", SyncRunStatus.SUCCEEDED, 1)]
    assert "Sending due task run-due-syncs (crmhub.run_due_syncs)" in scheduler.output()
