"""Jobs without a broker: the in-process runner, @job registration and the schedule."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from hub import tasks
from hub.models import Connection, SyncRun, utcnow
from hub.models.enums import ConnectionStatus, SyncRunStatus
from hub.settings import Settings
from hub.tasks import EmbeddedRunner, Job, QueueFull, UnknownJob, enqueue, enqueue_sync, job
from tests.jobs.conftest import add_connection, runs_of, serve_example

calls: list[str] = []


@job(name="tests_jobs_probe")
def probe(value: str, fail: bool = False) -> None:
    calls.append(value)
    if fail:
        raise RuntimeError(f"probe failed on purpose with {value}")


@pytest.fixture
def embedded(settings: Settings):
    """Jobs of this process run in an embedded runner against the test database."""
    runner = tasks.configure(settings.model_copy(update={"jobs": settings.jobs.model_copy(
        update={"broker_url": ""})}))
    assert isinstance(runner, EmbeddedRunner)
    yield runner
    tasks.shutdown()


def test_a_job_is_one_decorator_and_runs_in_process(embedded, caplog):
    calls.clear()
    assert tasks.JOBS["tests_jobs_probe"].function is probe
    assert tasks.app.tasks["crmhub.tests_jobs_probe"].name == "crmhub.tests_jobs_probe"
    first = enqueue("tests_jobs_probe", value="a")
    with caplog.at_level(logging.ERROR, logger="hub.tasks"):
        second = enqueue("tests_jobs_probe", value="b", fail=True)
        assert embedded.join(timeout=10)
    assert first != second
    assert sorted(calls) == ["a", "b"]
    # A failing job is logged with its id; the caller and the runner carry on.
    assert f"job tests_jobs_probe ({second}) failed" in caplog.text
    assert "probe failed on purpose with b" in caplog.text


def test_enqueue_refuses_unknown_jobs_and_arguments_a_worker_could_not_receive(embedded):
    with pytest.raises(UnknownJob, match="no job named 'nope'"):
        enqueue("nope")
    with pytest.raises(TypeError, match="must be JSON"):
        enqueue("tests_jobs_probe", value=object())


def test_the_embedded_queue_is_bounded():
    runner = EmbeddedRunner(workers=1, queue_size=1)
    release = threading.Event()
    blocking = Job("tests_jobs_block", lambda: release.wait(10))
    runner.submit(blocking, {})
    runner.submit(blocking, {})  # waits behind the first
    with pytest.raises(QueueFull):
        runner.submit(blocking, {})
    release.set()
    assert runner.join(timeout=10)
    runner.submit(blocking, {})  # room again
    runner.shutdown()


def test_enqueue_sync_runs_the_sync_job_in_process(embedded, engine, api, ns):
    _, url = serve_example(api, ns, contacts=3, notes=1)
    connection_id = add_connection(engine, ns, url)
    enqueue_sync(connection_id, streams=["contacts"])
    assert embedded.join(timeout=30)
    assert [(r.stream, r.status, r.records_created) for r in runs_of(engine, connection_id)] == [
        ("contacts", SyncRunStatus.SUCCEEDED, 3)]


def _schedule(engine, ns, api, name, *, schedule="*/5 * * * *", created_ago=10,
              status=ConnectionStatus.ACTIVE, run=None):
    _, url = serve_example(api, f"{ns}{name}", contacts=1, notes=0)
    connection_id = add_connection(engine, f"{ns}{name}", url, schedule=schedule, status=status,
                                   created_at=utcnow() - timedelta(minutes=created_ago))
    if run is not None:
        started_ago, run_status = run
        with Session(engine) as session, session.begin():
            session.add(SyncRun(connection_id=connection_id, stream="contacts", status=run_status,
                                started_at=utcnow() - timedelta(minutes=started_ago)))
    return connection_id


def test_due_connections_follow_their_cron_schedule(engine, api, ns):
    due = {
        "new": _schedule(engine, ns, api, "new"),
        "failing": _schedule(engine, ns, api, "failing", status=ConnectionStatus.FAILING,
                             run=(30, SyncRunStatus.FAILED)),
        # Its worker was killed three hours ago: the run will never finish.
        "abandoned": _schedule(engine, ns, api, "abandoned",
                               run=(180, SyncRunStatus.RUNNING)),
    }
    not_due = {
        "just-created": _schedule(engine, ns, api, "justcreated", schedule="0 0 1 1 *",
                                  created_ago=1),
        "ran-recently": _schedule(engine, ns, api, "ranrecently", schedule="0 * * * *",
                                  created_ago=600, run=(0, SyncRunStatus.SUCCEEDED)),
        "running": _schedule(engine, ns, api, "running", run=(20, SyncRunStatus.RUNNING)),
        "paused": _schedule(engine, ns, api, "paused", status=ConnectionStatus.PAUSED),
        "reauth": _schedule(engine, ns, api, "reauth", status=ConnectionStatus.NEEDS_REAUTH),
        "manual": _schedule(engine, ns, api, "manual", schedule=None),
    }
    mine = set(due.values()) | set(not_due.values())
    now = utcnow()
    found = {cid: at for cid, at in tasks.due_connections(engine, now) if cid in mine}
    assert set(found) == set(due.values())
    assert all(at <= now and at.minute % 5 == 0 for at in found.values())


def test_run_due_syncs_enqueues_each_due_connection_once(embedded, engine, api, ns, monkeypatch):
    due = _schedule(engine, ns, api, "due")
    paused = _schedule(engine, ns, api, "paused", status=ConnectionStatus.PAUSED)
    everything = tasks.due_connections
    # Other tests' connections share the database: only look at this test's.
    monkeypatch.setattr(tasks, "due_connections", lambda *a, **k: [
        d for d in everything(*a, **k) if d[0] in (due, paused)])

    enqueue("run_due_syncs")
    assert embedded.join(timeout=30)

    runs = runs_of(engine, due)
    assert [(r.stream, r.status) for r in runs] == [
        ("contacts", SyncRunStatus.SUCCEEDED), ("notes", SyncRunStatus.SUCCEEDED)]
    assert runs_of(engine, paused) == []
    with Session(engine) as session:
        assert session.get_one(Connection, due).status == ConnectionStatus.ACTIVE
    assert tasks.run_due_syncs() == []  # not due again until the next five-minute mark
    # A tick's job that arrives after the connection synced (a queue backed up, two ticks
    # enqueued it) does nothing.
    due_at = (runs[0].started_at - timedelta(seconds=1)).isoformat()
    assert tasks.sync_connection_job(str(due), due_at=due_at) == []
    assert len(runs_of(engine, due)) == 2


def test_run_due_syncs_finishes_an_abandoned_run_and_syncs_its_connection(
        embedded, engine, api, ns, monkeypatch):
    blocked = _schedule(engine, ns, api, "blocked", created_ago=60)
    with Session(engine) as session, session.begin():
        # Its worker, on another machine, was killed: no heartbeat for eleven minutes.
        session.add(SyncRun(connection_id=blocked, stream="contacts",
                            status=SyncRunStatus.RUNNING,
                            started_at=utcnow() - timedelta(minutes=30),
                            worker="elsewhere|pid:[1]|77",
                            heartbeat_at=utcnow() - timedelta(minutes=11)))
    everything = tasks.due_connections
    monkeypatch.setattr(tasks, "due_connections", lambda *a, **k: [
        d for d in everything(*a, **k) if d[0] == blocked])

    enqueue("run_due_syncs")
    assert embedded.join(timeout=30)

    runs = runs_of(engine, blocked)
    assert [(r.stream, r.status) for r in runs] == [
        ("contacts", SyncRunStatus.FAILED), ("contacts", SyncRunStatus.SUCCEEDED),
        ("notes", SyncRunStatus.SUCCEEDED)]
    assert runs[0].error.startswith("abandoned: no sign of life since")
