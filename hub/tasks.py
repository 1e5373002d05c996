"""Jobs: plain functions of ids, run on Celery workers or in a thread pool of this process.

A job is one decorator in the module that owns it:

    from hub.tasks import job

    @job
    def process_inbound_event(event_id: str) -> None: ...

and is started with ``enqueue("process_inbound_event", event_id=str(event.id))``.
A module with jobs is listed once, in ``JOB_MODULES``, so that importing
``hub.tasks`` (as a worker does) registers every job.

Where jobs run is configuration (``[jobs] broker_url``, docs/jobs.md):

- ``""`` (embedded): a thread pool owned by this process, bounded (``enqueue``
  raises ``QueueFull`` beyond ``embedded_queue_size`` waiting jobs); a job's
  exception is logged, never raised to the caller; ``start()`` also ticks
  ``run_due_syncs`` every ``schedule_interval_seconds``.
- ``redis://…`` or ``amqp://…``: Celery. Messages are acknowledged after the job
  returns (``acks_late``) and a worker takes one at a time, so a job whose worker
  is killed is delivered again; jobs are therefore idempotent. ``crmhub worker``
  runs them, ``crmhub scheduler`` (beat) enqueues ``run_due_syncs``.

Arguments are JSON, in both modes (the embedded runner round-trips them too), so a
job that works embedded works on a worker: pass ids as strings.

Schedules are cron expressions (``*/15 * * * *``, ``@hourly``; UTC), read with croniter.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from celery import Celery
from croniter import croniter
from sqlalchemy import Engine, func, select

from hub.db import create_sync_engine, sync_session_factory
from hub.models import Connection, SyncRun, utcnow
from hub.models.enums import ConnectionStatus, SyncRunStatus
from hub.settings import Settings, get_settings
from hub.sync.heartbeat import finish_abandoned, last_beat
from hub.sync.runner import sync_connection

__all__ = [
    "JOBS",
    "JOB_MODULES",
    "SCHEDULED_JOBS",
    "CeleryQueue",
    "EmbeddedRunner",
    "Job",
    "QueueFull",
    "UnknownJob",
    "app",
    "configure",
    "create_celery",
    "due_connections",
    "enqueue",
    "enqueue_sync",
    "job",
    "job_engine",
    "job_settings",
    "next_due",
    "run_due_syncs",
    "scheduled_jobs",
    "shutdown",
    "start",
    "sync_connection_job",
    "valid_schedule",
]

log = logging.getLogger(__name__)

# Every module besides this one that defines @job functions. A module not written yet is
# skipped, so a job's author only adds the decorator.
JOB_MODULES: tuple[str, ...] = (
    "hub.sync.inbox",  # process_inbound_event
    "hub.events.delivery",  # outbound webhook delivery
    "hub.sync.writeback",  # run_write_back, run_due_write_backs
)

# Enqueued every ``schedule_interval_seconds``: by Celery beat, or embedded by the ticker.
SCHEDULED_JOBS: tuple[str, ...] = (
    "run_due_syncs",  # due syncs, after finishing abandoned runs
    "process_pending_inbox",  # inbound events whose job was lost or did not fit the queue
    "run_due_write_backs",  # write-backs never enqueued, retries due, abandoned runs
)


def scheduled_jobs(settings: Settings) -> dict[str, float]:
    """Every scheduled job and how often (seconds) it is enqueued."""
    every = dict.fromkeys(SCHEDULED_JOBS, settings.jobs.schedule_interval_seconds)
    # Outbound webhooks: new events fanned out, due deliveries sent; seconds, not a minute.
    every["deliver_webhooks"] = settings.webhooks.sweep_interval_seconds
    return every

F = TypeVar("F", bound=Callable[..., Any])


class UnknownJob(LookupError):
    """No job is registered under this name."""


class QueueFull(RuntimeError):
    """The embedded runner has as many jobs waiting as it may hold; try again later."""


# -- Celery --------------------------------------------------------------------------------


def create_celery(settings: Settings) -> Celery:
    """A Celery app for these settings' broker and queue (built even when none is set)."""
    jobs = settings.jobs
    celery = Celery("crmhub", set_as_current=False)
    celery.conf.update(
        broker_url=jobs.broker_url or None,
        broker_connection_retry_on_startup=True,
        task_default_queue=jobs.queue,
        task_default_exchange=jobs.queue,
        task_default_routing_key=jobs.queue,
        # A task is acknowledged when it returns, and a worker holds one task per process:
        # a killed worker's task goes back to the queue instead of being lost.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # The broker gives a task back when the worker's connection drops; stop running it
        # here rather than have two copies of the same sync going at once.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # Outcomes live in the database (SyncRun, InboundEvent): no result backend.
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        broker_transport_options={
            "visibility_timeout": jobs.visibility_timeout_seconds,  # Redis only
            # Look for abandoned tasks every tenth of the timeout (at most a minute apart).
            "unacked_restore_interval": max(1, min(60, int(jobs.visibility_timeout_seconds / 10))),
            "unacked_restore_throttle": 1,
            # Per queue, so that hubs (or test runs) sharing a Redis never restore each
            # other's tasks with their own timeout.
            "unacked_key": f"unacked.{jobs.queue}",
            "unacked_index_key": f"unacked_index.{jobs.queue}",
            "unacked_mutex_key": f"unacked_mutex.{jobs.queue}",
        },
        # A tick nobody ran before the next one is stale; the next one does its work.
        beat_schedule={
            f"{job_name.replace('_', '-')}": {
                "task": _task_name(job_name),
                "schedule": interval,
                "options": {"expires": interval},
            }
            for job_name, interval in scheduled_jobs(settings).items()
        },
    )
    return celery


def _task_name(job_name: str) -> str:
    return f"crmhub.{job_name}"


app = create_celery(get_settings())  # `celery -A hub.tasks worker` finds it here


# -- the registry --------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    name: str
    function: Callable[..., Any]

    @property
    def task_name(self) -> str:
        return _task_name(self.name)


JOBS: dict[str, Job] = {}


def job(function: F | None = None, *, name: str | None = None) -> F | Callable[[F], F]:
    """Register ``function`` as a job (named after it unless ``name`` is given); returns it as is."""

    def register(fn: F) -> F:
        job_name = name or fn.__name__
        known = JOBS.get(job_name)
        if known is not None and _origin(known.function) != _origin(fn):
            raise ValueError(f"two jobs are named {job_name!r}: {_origin(known.function)} and "
                             f"{_origin(fn)}")
        JOBS[job_name] = Job(job_name, fn)
        app.task(name=_task_name(job_name))(fn)
        return fn

    return register(function) if function is not None else register


def _origin(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


# -- where jobs go -------------------------------------------------------------------------


class EmbeddedRunner:
    """Jobs in a small thread pool of this process: bounded, errors logged, the same functions."""

    def __init__(self, workers: int = 2, queue_size: int = 100) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crmhub-job")
        self._slots = threading.BoundedSemaphore(workers + queue_size)
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def submit(self, job: Job, kwargs: dict[str, Any]) -> str:
        if not self._slots.acquire(blocking=False):
            raise QueueFull(f"{job.name}: the embedded job queue is full; try again later")
        job_id = uuid.uuid4().hex
        try:
            future = self._pool.submit(self._run, job, kwargs, job_id)
        except RuntimeError:  # shut down
            self._slots.release()
            raise
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return job_id

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no job is waiting or running (jobs may enqueue more); False at ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                pending = set(self._pending)
            if not pending:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            wait(pending, timeout=left)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    @staticmethod
    def _run(job: Job, kwargs: dict[str, Any], job_id: str) -> None:
        try:
            job.function(**kwargs)
        except Exception:  # a job's failure is the job's to record; the runner keeps going
            log.exception("job %s (%s) failed", job.name, job_id)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
        self._slots.release()


class CeleryQueue:
    """Jobs sent to Celery workers through the configured broker."""

    def __init__(self, celery: Celery, queue: str) -> None:
        self.celery = celery
        self.queue = queue

    def submit(self, job: Job, kwargs: dict[str, Any]) -> str:
        return self.celery.send_task(job.task_name, kwargs=kwargs, queue=self.queue).id

    def shutdown(self, wait: bool = True) -> None:
        self.celery.close()


_lock = threading.Lock()
_settings: Settings | None = None
_queue: EmbeddedRunner | CeleryQueue | None = None
_ticker: _Ticker | None = None


def configure(settings: Settings | None = None) -> EmbeddedRunner | CeleryQueue:
    """Use ``settings`` (default: the process's) for the jobs of this process and where they go."""
    global _settings, _queue
    settings = settings or get_settings()
    with _lock:
        old, _settings = _queue, settings
        if settings.jobs.broker_url:
            celery = app if settings is get_settings() else create_celery(settings)
            _queue = CeleryQueue(celery, settings.jobs.queue)
        else:
            _queue = EmbeddedRunner(settings.jobs.embedded_workers,
                                    settings.jobs.embedded_queue_size)
    if old is not None:
        old.shutdown(wait=True)
    return _queue


def _current() -> EmbeddedRunner | CeleryQueue:
    return _queue if _queue is not None else configure()


def _job_settings() -> Settings:
    return _settings or get_settings()


def job_settings() -> Settings:
    """The settings jobs of this process run with."""
    return _job_settings()


def enqueue(job_name: str, **kwargs: Any) -> str:
    """Run a job soon, on a worker or in this process; return its id."""
    registered = JOBS.get(job_name)
    if registered is None:
        raise UnknownJob(f"no job named {job_name!r}; known: {', '.join(sorted(JOBS))}")
    try:
        kwargs = json.loads(json.dumps(kwargs))
    except (TypeError, ValueError) as error:
        raise TypeError(f"the arguments of {job_name} must be JSON values: {error}") from None
    return _current().submit(registered, kwargs)


def enqueue_sync(connection_id: uuid.UUID | str, streams: Sequence[str] | None = None,
                 full_refresh: bool = False) -> str:
    """Sync a connection soon (all streams, or those named)."""
    return enqueue("sync_connection_job", connection_id=str(connection_id),
                   streams=list(streams) if streams else None, full_refresh=full_refresh)


class _Ticker(threading.Thread):
    """The embedded scheduler: enqueues each of ``scheduled_jobs`` at its own interval."""

    def __init__(self, intervals: dict[str, float]) -> None:
        super().__init__(name="crmhub-scheduler", daemon=True)
        self.intervals = intervals
        self.stopped = threading.Event()

    def run(self) -> None:
        due = {name: time.monotonic() + every for name, every in self.intervals.items()}
        while not self.stopped.wait(max(0.0, min(due.values()) - time.monotonic())):
            now = time.monotonic()
            for job_name, at in due.items():
                if at > now:
                    continue
                due[job_name] = now + self.intervals[job_name]
                try:
                    enqueue(job_name)
                except QueueFull:  # a burst of work: not full at the next tick
                    log.warning("scheduled job %s not enqueued: the job queue is full; "
                                "next try in %.0f s", job_name, self.intervals[job_name])
                except Exception:
                    log.exception("could not enqueue %s", job_name)


def start(settings: Settings | None = None) -> None:
    """Called when the hub starts serving: embedded, run jobs and the schedule in this process.

    With a broker configured nothing runs here: workers run jobs and beat the schedule.
    """
    global _ticker
    queue = configure(settings)
    if isinstance(queue, EmbeddedRunner) and _ticker is None:
        _ticker = _Ticker(scheduled_jobs(_job_settings()))
        _ticker.start()


def shutdown(wait: bool = True) -> None:
    """Stop the ticker and let the embedded runner finish what it has (``wait``) or drop it."""
    global _ticker, _queue
    if _ticker is not None:
        _ticker.stopped.set()
        _ticker = None
    with _lock:
        queue, _queue = _queue, None
    if queue is not None:
        queue.shutdown(wait=wait)


# -- the sync jobs -------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _engine(database_url: str) -> Engine:
    # One pool per process, made where the job runs (after a prefork worker forked).
    return create_sync_engine(Settings(database_url=database_url))


def job_engine() -> Engine:
    """The database engine jobs of this process use."""
    return _engine(_job_settings().database_url)


@job
def sync_connection_job(connection_id: str, streams: list[str] | None = None,
                        full_refresh: bool = False, due_at: str | None = None) -> list[str]:
    """Sync a connection; ``due_at`` (scheduled runs) skips it when a run started since then."""
    engine = job_engine()
    if due_at is not None and _ran_since(engine, connection_id, datetime.fromisoformat(due_at)):
        log.info("connection %s already synced since %s; skipped", connection_id, due_at)
        return []
    runs = sync_connection(engine, connection_id, streams=streams, full_refresh=full_refresh)
    for run in runs:
        log.info("connection %s stream %s: %s, %d read, %d failed", connection_id, run.stream,
                 run.status, run.records_read, run.records_failed)
    return [str(run.id) for run in runs]


@job
def run_due_syncs() -> list[str]:
    """Enqueue a sync of every scheduled connection whose time has come; return their ids.

    Runs left RUNNING by a process that died are finished as abandoned first, so that
    their connections are not blocked and their history says what happened.
    """
    settings = _job_settings()
    engine, now = job_engine(), utcnow()
    stale_after = timedelta(minutes=settings.jobs.stale_run_minutes)
    with engine.begin() as db:
        abandoned = finish_abandoned(db, now, stale_after=stale_after)
    if abandoned:
        log.warning("finished %d abandoned sync run(s)", abandoned)
    due = due_connections(engine, now, stale_after=stale_after)
    for connection_id, due_at in due:
        enqueue("sync_connection_job", connection_id=str(connection_id), due_at=due_at.isoformat())
    if due:
        log.info("enqueued %d due sync(s)", len(due))
    return [str(connection_id) for connection_id, _ in due]


def valid_schedule(expression: str) -> bool:
    """Whether ``expression`` is a cron expression croniter reads (5 or 6 fields, or @hourly…)."""
    return croniter.is_valid(expression)


def next_due(schedule: str, after: datetime) -> datetime:
    """The first moment of ``schedule`` after ``after`` (UTC)."""
    return croniter(schedule, after).get_next(datetime)


def due_connections(engine: Engine, now: datetime, *, stale_after: timedelta = timedelta(hours=2)
                    ) -> list[tuple[uuid.UUID, datetime]]:
    """Scheduled connections due at ``now``, each with the moment it fell due.

    A connection falls due at the first schedule time after its last run started (after
    it was created, before any run). Paused connections and those waiting for new
    credentials are left alone, and so is one whose run is still going, unless that run
    has shown no sign of life (heartbeat) for ``stale_after``: its worker was killed.
    """
    last_started = (select(SyncRun.connection_id, func.max(SyncRun.started_at).label("at"))
                    .group_by(SyncRun.connection_id).subquery())
    running = (select(SyncRun.connection_id)
               .where(SyncRun.status == SyncRunStatus.RUNNING,
                      last_beat() > now - stale_after))
    rows = select(Connection.id, Connection.schedule, Connection.name, Connection.created_at,
                  last_started.c.at).outerjoin(
        last_started, last_started.c.connection_id == Connection.id).where(
        Connection.schedule.is_not(None), Connection.schedule != "",
        Connection.status.in_([ConnectionStatus.ACTIVE, ConnectionStatus.FAILING]),
        Connection.id.not_in(running))
    due: list[tuple[uuid.UUID, datetime]] = []
    with sync_session_factory(engine)() as session:
        for connection_id, schedule, name, created_at, last in session.execute(rows):
            if not valid_schedule(schedule):
                log.warning("connection %s has an invalid schedule %r; skipped", name, schedule)
                continue
            moment = next_due(schedule, last or created_at)
            if moment <= now:
                due.append((connection_id, moment))
    return due


def _ran_since(engine: Engine, connection_id: str, moment: datetime) -> bool:
    with sync_session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(SyncRun).where(
            SyncRun.connection_id == uuid.UUID(connection_id),
            SyncRun.started_at >= moment)) > 0


# -- discovery -----------------------------------------------------------------------------


def _import_job_modules(modules: Sequence[str]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if not (module == missing or module.startswith(missing + ".")):
                raise  # the module exists but something it imports does not
            log.debug("job module %s does not exist (yet)", module)


_import_job_modules(JOB_MODULES)
