"""Runs left RUNNING by a process that died are finished as FAILED, and never block the next."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import SourceRecord, SyncRun, utcnow
from hub.models.enums import SyncRunStatus
from hub.sync import heartbeat
from hub.sync.engine import SyncFailed, run_stream
from hub.sync.heartbeat import finish_abandoned, worker_name
from tests.sync.factory import Page, customer, map_record


def _dead_worker() -> str:
    """The ``worker`` a run of a process of this host that has exited would carry."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return worker_name().rpartition("|")[0] + f"|{child.pid}"


def _left_running(engine, connection, *, worker: str, silent_for: timedelta) -> SyncRun:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        run = SyncRun(connection_id=connection, stream="customers", status=SyncRunStatus.RUNNING,
                      started_at=utcnow() - silent_for - timedelta(minutes=1), worker=worker,
                      heartbeat_at=utcnow() - silent_for, records_read=250)
        session.add(run)
    return run


def _run(engine, run_id) -> SyncRun:
    with Session(engine) as session:
        return session.get_one(SyncRun, run_id)


def _records(engine, connection) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(SourceRecord.external_id).where(
            SourceRecord.connection_id == connection)))


def test_the_next_run_finishes_a_run_whose_process_died_on_this_host(engine, connection, ns):
    killed = _left_running(engine, connection, worker=_dead_worker(), silent_for=timedelta(0))

    run = run_stream(engine, connection, "customers",
                     [Page([customer(ns, 1)], {"position": 1})], map_record)

    assert run.status is SyncRunStatus.SUCCEEDED
    gone = _run(engine, killed.id)
    assert gone.status is SyncRunStatus.FAILED and gone.finished_at is not None
    assert gone.error.startswith("abandoned: its process is no longer running")
    assert gone.records_read == 250  # what it did stays on record


def test_a_silent_run_elsewhere_is_abandoned_only_once_its_heartbeat_is_stale(engine, connection):
    elsewhere = "other-host|pid:[1]|4242"
    quiet = _left_running(engine, connection, worker=elsewhere, silent_for=timedelta(minutes=5))
    with engine.begin() as db:
        assert finish_abandoned(db, utcnow(), stale_after=timedelta(minutes=10),
                                connection_id=connection) == 0
    assert _run(engine, quiet.id).status is SyncRunStatus.RUNNING

    with engine.begin() as db:
        assert finish_abandoned(db, utcnow() + timedelta(minutes=6),
                                stale_after=timedelta(minutes=10), connection_id=connection) == 1
    ended = _run(engine, quiet.id)
    assert ended.status is SyncRunStatus.FAILED
    assert ended.error.startswith("abandoned: no sign of life since")


def test_a_run_in_this_process_is_alive(engine, connection):
    mine = _left_running(engine, connection, worker=worker_name(), silent_for=timedelta(0))
    with engine.begin() as db:
        assert finish_abandoned(db, utcnow(), connection_id=connection) == 0
    assert _run(engine, mine.id).status is SyncRunStatus.RUNNING


def test_a_run_given_up_for_abandoned_writes_no_further_page(engine, connection, ns):
    def pages():
        yield Page([customer(ns, 1)], {"position": 1})
        # Meanwhile the scheduler's sweep took this run for abandoned.
        with engine.begin() as db:
            assert finish_abandoned(db, utcnow() + timedelta(hours=1),
                                    connection_id=connection) == 1
        yield Page([customer(ns, 2)], {"position": 2})

    with pytest.raises(SyncFailed, match="finished as abandoned") as failure:
        run_stream(engine, connection, "customers", pages(), map_record)

    assert _records(engine, connection) == {"c1"}
    run = _run(engine, failure.value.run_id)
    assert run.status is SyncRunStatus.FAILED and run.records_read == 1
    assert run.error.startswith("abandoned: no sign of life")  # its first account is kept


def test_the_heartbeat_goes_on_while_the_source_is_slow(engine, connection, ns, monkeypatch):
    monkeypatch.setattr(heartbeat, "BEAT_SECONDS", 0.2)
    beats = []

    def beat() -> None:
        with Session(engine) as session:
            beats.append(session.scalar(select(SyncRun.heartbeat_at).where(
                SyncRun.connection_id == connection, SyncRun.status == SyncRunStatus.RUNNING)))

    def pages():
        yield Page([customer(ns, 1)], {"position": 1})
        beat()
        time.sleep(1.0)  # a slow page of the platform
        beat()
        yield Page([customer(ns, 2)], {"position": 2})

    run = run_stream(engine, connection, "customers", pages(), map_record)

    assert run.status is SyncRunStatus.SUCCEEDED
    assert beats[1] - beats[0] >= timedelta(seconds=0.5)
    assert run.heartbeat_at >= beats[1]
