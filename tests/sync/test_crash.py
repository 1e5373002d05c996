"""Killing a sync half way loses nothing and duplicates nothing (SQLite, a real SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db import create_sync_engine
from hub.migrate import upgrade
from hub.models import ContactPoint, Customer, DeadLetter, SourceRecord, SyncRun
from hub.models.enums import SyncRunStatus
from hub.settings import Settings
from hub.sync.engine import run_stream, start_bookmark
from tests.sync.crash_sync import NAMESPACE, STREAM
from tests.sync.factory import digest, generated, map_record, new_connection, pages_of

ROOT = Path(__file__).resolve().parents[2]
RECORDS, PAGE_SIZE = 5000, 250
KILL_AFTER_PAGES = 3


def _database(path: Path):
    engine = create_sync_engine(Settings(database_url=f"sqlite:///{path}"))
    upgrade(engine)
    return engine, new_connection(engine, "crash")


def _sync(engine, connection) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.crash_sync", str(engine.url), str(connection),
         str(RECORDS), str(PAGE_SIZE)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_a_killed_sync_resumes_to_the_same_data_as_a_clean_run(tmp_path: Path) -> None:
    records = generated(NAMESPACE, RECORDS)
    clean, clean_connection = _database(tmp_path / "clean.db")
    run_stream(clean, clean_connection, STREAM, pages_of(records, PAGE_SIZE), map_record)

    crashed, crashed_connection = _database(tmp_path / "crashed.db")
    doomed = _sync(crashed, crashed_connection)
    for _ in range(KILL_AFTER_PAGES):
        assert doomed.stdout.readline().startswith("committed"), doomed.stderr.read()
    doomed.send_signal(signal.SIGKILL)  # somewhere inside the next page's transaction
    doomed.wait(timeout=30)
    assert doomed.returncode == -signal.SIGKILL

    # What survived is exactly what the saved bookmark says was written.
    position = start_bookmark(crashed, crashed_connection, STREAM)["position"]
    with Session(crashed) as session:
        kept = session.scalar(select(func.count()).select_from(SourceRecord))
    assert PAGE_SIZE * KILL_AFTER_PAGES <= position < RECORDS
    assert kept == len({raw["id"] for raw in records[:position]})

    resumed = _sync(crashed, crashed_connection)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert out.splitlines()[-1] == f"done SUCCEEDED {RECORDS - position}"

    assert digest(crashed, crashed_connection, NAMESPACE) == digest(
        clean, clean_connection, NAMESPACE)
    distinct = len({raw["id"] for raw in records})
    with Session(crashed) as session:
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == distinct
        assert session.scalar(select(func.count()).select_from(Customer)) == distinct
        # Two contact points per person, none twice.
        assert session.scalar(select(func.count()).select_from(ContactPoint)) == 2 * distinct
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 0
        runs = session.scalars(select(SyncRun).order_by(SyncRun.started_at)).all()
    # The killed run never got to say so: the next run found its process gone, finished it
    # as abandoned, and finished the stream.
    assert [run.status for run in runs] == [SyncRunStatus.FAILED, SyncRunStatus.SUCCEEDED]
    assert runs[0].error.startswith("abandoned: its process is no longer running")
    assert runs[0].records_read == position
    crashed.dispose()
    clean.dispose()
