"""Who is running a sync, whether they still are, and finishing the runs nobody is running.

A RUNNING ``SyncRun`` carries a lease: ``worker`` (host, PID namespace and PID of
the process running it) and ``heartbeat_at``, renewed with every page committed
and, between pages, by a ``Heartbeat`` thread every ``BEAT_SECONDS`` (a slow
source page must not look like a dead run). A process killed half way renews
nothing, so its run is **abandoned**, and ``finish_abandoned`` ends it as FAILED
with an error saying so:

- on the next run of the same connection, at once when the run's process was on
  this host and is gone, else once its heartbeat is older than ``stale_after``;
- by the scheduler's sweep (``hub.tasks.run_due_syncs``), for every connection.

The pages an abandoned run committed stay (each with its bookmark); the next run
resumes from them. A run that was taken for abandoned but was only slow finds
out at its next page, which is not written (``LeaseLost``), so two processes
never write the same stream at once for long.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, update

from hub.models import SyncRun, utcnow
from hub.models.enums import SyncRunStatus

__all__ = ["BEAT_SECONDS", "STALE_AFTER", "WORKER", "Heartbeat", "LeaseLost",
           "finish_abandoned", "last_beat"]

log = logging.getLogger(__name__)

runs = SyncRun.__table__

# How often a running sync says it is alive between pages.
BEAT_SECONDS = 30.0
# A run silent this long is abandoned (the scheduler's sweep uses ``stale_run_minutes``).
STALE_AFTER = timedelta(minutes=10)


def _host() -> str:
    # Containers may share a host name; their PID namespaces tell them apart.
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}|{namespace}"


_HOST = _host()


def worker_name() -> str:
    """This process, as a run's ``worker`` column names it (PID read now: forks differ)."""
    return f"{_HOST}|{os.getpid()}"[:200]


WORKER = worker_name()


class LeaseLost(RuntimeError):
    """This run was finished as abandoned by another process; its page is not written."""


def last_beat() -> object:
    """The moment a RUNNING run last showed life: its heartbeat, or its start for old rows."""
    return func.coalesce(runs.c.heartbeat_at, runs.c.started_at)


def finish_abandoned(db: Connection, now: datetime, *, stale_after: timedelta = STALE_AFTER,
                     connection_id: uuid.UUID | None = None) -> int:
    """End the RUNNING runs nobody is running as FAILED; how many. Runs in ``db``'s transaction."""
    query = select(runs.c.id, runs.c.worker, last_beat().label("beat")).where(
        runs.c.status == SyncRunStatus.RUNNING)
    if connection_id is not None:
        query = query.where(runs.c.connection_id == connection_id)
    finished = 0
    for run_id, worker, beat in db.execute(query).all():
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=now.tzinfo)
        silent = beat is None or beat < now - stale_after
        gone = _process_gone(worker)
        if not (silent or gone):
            continue
        why = ("its process is no longer running" if gone
               else f"no sign of life since {beat.isoformat(timespec='seconds')}")
        finished += db.execute(
            update(runs).where(runs.c.id == run_id, runs.c.status == SyncRunStatus.RUNNING)
            .values(status=SyncRunStatus.FAILED, finished_at=now,
                    error=f"abandoned: {why}; the pages it committed are kept and the next run "
                          f"resumes from its bookmark")
        ).rowcount
        log.warning("sync run %s abandoned (%s)", run_id, why)
    return finished


def _process_gone(worker: str | None) -> bool:
    """True only when the run's process was on this host and no longer exists."""
    if not worker:
        return False
    host, _, pid = worker.rpartition("|")
    if host != _HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False  # another thread of this process runs it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but is someone else's
        return False
    return False


class Heartbeat:
    """Renews a run's heartbeat from a thread while the run waits for its source.

    The engine calls ``beat_committed()`` after each page (whose transaction already
    set ``heartbeat_at``); the thread writes only when no page did for a while.
    """

    def __init__(self, engine: Engine, run_id: uuid.UUID, interval: float | None = None) -> None:
        self.engine = engine
        self.run_id = run_id
        self.interval = interval or BEAT_SECONDS
        self._last = time.monotonic()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"crmhub-heartbeat-{run_id}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=self.interval + 5)

    def beat_committed(self) -> None:
        self._last = time.monotonic()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval / 3):
            if time.monotonic() - self._last < self.interval:
                continue
            with contextlib.suppress(Exception):  # the run's own statements report DB failures
                with self.engine.begin() as db:
                    db.execute(update(runs).where(runs.c.id == self.run_id,
                                                  runs.c.status == SyncRunStatus.RUNNING)
                               .values(heartbeat_at=utcnow()))
                self._last = time.monotonic()
