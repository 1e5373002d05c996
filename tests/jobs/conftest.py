"""Jobs fixtures: the example API served per namespace, connections to it, real brokers, workers.

Every test gets its own namespace: its API lives under ``/<ns>/`` on the shared
local server, its connection is named after it and its contacts' e-mails end in
``@<ns>.test``, so tests sharing a database never meet each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connectors.base.credentials import configured_keys, encrypt
from hub import tasks
from hub.demo import has_data, seed
from hub.models import Connection, Interaction, SourceRecord, SyncRun
from tests.conftest import ON_CI
from tests.connectors.base import conftest as http_fixtures
from tests.connectors.base.conftest import FakeApi, Seen
from tests.sync.factory import digest

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, tzinfo=UTC)
API_KEY = "ex_live_jobs_0123456789"
REDIS_URL = os.environ.get("CRMHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("CRMHUB_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

# The scripted local HTTP server of the connector tests.
_server = http_fixtures._server
api = http_fixtures.api


@pytest.fixture(scope="session")
def engine(sync_engine: Engine) -> Engine:
    # Shared with the API tests, which seed demo customers only into an empty hub: seed first
    # (as they would) so that running these tests first changes nothing for them.
    if not has_data(sync_engine):
        from tests.api.conftest import SEEDED_CUSTOMERS

        seed(sync_engine, SEEDED_CUSTOMERS)
    return sync_engine


@pytest.fixture
def ns() -> str:
    return f"jobs{uuid.uuid4().hex[:10]}"


# -- the example platform ------------------------------------------------------------------


@dataclass
class ExampleData:
    """What the example API of one namespace holds, and how it answers."""

    ns: str
    contacts: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    api_key: str = API_KEY
    page_cap: int = 100  # the API returns at most this many records a page
    delay: float = 0.0  # seconds each page takes
    failing: dict[str, int] = field(default_factory=dict)  # stream -> the status it answers
    # Contacts pages from this offset on wait until ``gate`` is set: a run held mid-way.
    gate: threading.Event | None = None
    gate_offset: int = 0

    def add_contacts(self, count: int) -> None:
        start = len(self.contacts)
        self.contacts += [contact(self.ns, i) for i in range(start, start + count)]


def contact(ns: str, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "first_name": f"Given{i}",
        "last_name": f"Family{i}",
        "emails": [{"address": f"person{i}@{ns}.test", "primary": True}],
        "updated_at": (T0 + timedelta(minutes=i)).isoformat(),
    }


def note(i: int, contacts: int) -> dict[str, Any]:
    return {
        "id": f"n{i}",
        "contact_id": i % contacts,
        "subject": f"Call {i}",
        "body": f"note {i}",
        "created_at": (T0 + timedelta(hours=i)).isoformat(),
    }


def serve_example(api: FakeApi, ns: str, *, contacts: int = 5, notes: int = 3,
                  **options: Any) -> tuple[ExampleData, str]:
    """Route ``/<ns>/contacts`` and ``/<ns>/notes``; return the data and the API's base URL."""
    data = ExampleData(ns, [contact(ns, i) for i in range(contacts)],
                       [note(i, contacts) for i in range(notes)], **options)

    def refusal(request: Seen, stream: str):
        if request.headers.get("X-Example-Token") != data.api_key:
            return 401, {}, {"error": "invalid token"}
        if stream in data.failing:
            return data.failing[stream], {}, {"error": "failing on purpose"}
        time.sleep(data.delay)
        return None

    def contacts_page(request: Seen):
        if refused := refusal(request, "contacts"):
            return refused
        since = request.query.get("updated_since", "")
        rows = [c for c in data.contacts if c["updated_at"] >= since]
        offset = int(request.query["offset"])
        if data.gate is not None and offset >= data.gate_offset:
            data.gate.wait(30)
        size = min(int(request.query["limit"]), data.page_cap)
        return 200, {}, {"data": rows[offset:offset + size], "meta": {"total": len(rows)}}

    def notes_page(request: Seen):
        if refused := refusal(request, "notes"):
            return refused
        start = int(request.query.get("cursor", 0))
        size = min(int(request.query["limit"]), data.page_cap)
        nxt = str(start + size) if start + size < len(data.notes) else None
        return 200, {}, {"data": data.notes[start:start + size], "meta": {"next_cursor": nxt}}

    api.route("GET", f"/{ns}/contacts", contacts_page)
    api.route("GET", f"/{ns}/notes", notes_page)
    return data, f"{api.url}/{ns}"


def add_connection(engine: Engine, ns: str, api_url: str, *, api_key: str = API_KEY,
                   **fields: Any) -> uuid.UUID:
    with Session(engine) as session, session.begin():
        row = Connection(name=f"example-{ns}", connector="example", config={"api_url": api_url},
                         credentials=encrypt({"api_key": api_key}), **fields)
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture
def example(api: FakeApi, engine: Engine, ns: str) -> Callable[..., tuple[ExampleData, uuid.UUID]]:
    """``example(contacts=…, notes=…, delay=…)``: the namespace's API and a connection to it."""

    def make(*, api_key: str = API_KEY, **options: Any) -> tuple[ExampleData, uuid.UUID]:
        data, url = serve_example(api, ns, **options)
        return data, add_connection(engine, ns, url, api_key=api_key)

    return make


# -- what a sync left behind ---------------------------------------------------------------


def runs_of(engine: Engine, connection_id: uuid.UUID) -> list[SyncRun]:
    with Session(engine) as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.connection_id == connection_id)
                                    .order_by(SyncRun.started_at)))


def fingerprint(engine: Engine, connection_id: uuid.UUID, ns: str) -> str:
    """Customers, contact points and source records (tests.sync's digest) plus the notes."""
    with Session(engine) as session:
        notes = session.execute(
            select(SourceRecord.external_id, Interaction.subject, Interaction.body)
            .join(Interaction, Interaction.source_record_id == SourceRecord.id)
            .where(SourceRecord.connection_id == connection_id)
            .order_by(SourceRecord.external_id)).all()
    return digest(engine, connection_id, ns) + repr([tuple(n) for n in notes])


def counts(engine: Engine, connection_id: uuid.UUID) -> dict[str, int]:
    """Rows of this connection: source records, distinct ids, customers, notes."""
    with Session(engine) as session:
        mine = SourceRecord.connection_id == connection_id
        return {
            "records": session.scalar(select(func.count()).select_from(SourceRecord).where(mine)),
            "distinct": session.scalar(select(func.count(func.distinct(
                SourceRecord.object_type + ":" + SourceRecord.external_id))).where(mine)),
            "customers": session.scalar(select(func.count(func.distinct(
                SourceRecord.customer_id))).where(mine, SourceRecord.object_type == "contact")),
            "notes": session.scalar(select(func.count()).select_from(Interaction).join(
                SourceRecord, Interaction.source_record_id == SourceRecord.id).where(mine)),
        }


# -- brokers and workers -------------------------------------------------------------------


def _skip_or_fail(message: str) -> None:
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)


def _reachable(url: str) -> str | None:
    """None when a broker answers at ``url``, else why not."""
    from kombu import Connection as BrokerConnection

    try:
        with BrokerConnection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as error:  # noqa: BLE001 - any failure means "not here"
        return f"{type(error).__name__}: {error}"
    return None


@pytest.fixture(scope="session", params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    url = REDIS_URL if request.param == "redis" else RABBITMQ_URL
    problem = _reachable(url)
    if problem:
        _skip_or_fail(f"no {request.param} broker at {url}: {problem}")
    return url


@pytest.fixture
def queue(broker_url: str) -> Iterator[str]:
    """A queue of this test's own, so that parallel runs never take each other's tasks."""
    name = f"crmhub-test-{uuid.uuid4().hex[:12]}"
    yield name
    _delete_queue(broker_url, name)


def _delete_queue(url: str, name: str) -> None:
    from kombu import Connection as BrokerConnection

    with contextlib.suppress(Exception), BrokerConnection(url, connect_timeout=2) as conn:
        channel = conn.default_channel
        if url.startswith("redis"):
            channel.client.delete(name, f"_kombu.binding.{name}", f"unacked.{name}",
                                  f"unacked_index.{name}", f"unacked_mutex.{name}")
        else:
            channel.queue_delete(name)
            channel.exchange_delete(name)


WORKER = ("worker", "--pool", "solo", "--loglevel", "info")


@contextlib.contextmanager
def sending_to(settings: Any, broker_url: str, queue: str) -> Iterator[None]:
    """``enqueue`` in this process goes to the test's broker and queue."""
    tasks.configure(settings.model_copy(update={"jobs": settings.jobs.model_copy(
        update={"broker_url": broker_url, "queue": queue})}))
    try:
        yield
    finally:
        tasks.shutdown()


def crmhub_command() -> list[str]:
    script = Path(sys.executable).with_name("crmhub")
    return [str(script)] if script.exists() else [sys.executable, "-c",
                                                  "from hub.cli import main; main()"]


def worker_env(database_url: str, broker_url: str, queue: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CRMHUB_DATABASE_URL": database_url,
        "CRMHUB_JOBS__BROKER_URL": broker_url,
        "CRMHUB_JOBS__QUEUE": queue,
        # The worker opens the credentials these tests sealed.
        "CRMHUB_SECRET_KEYS": ",".join(configured_keys()),
        # Redis hands a killed worker's task out again after this long (RabbitMQ at once).
        "CRMHUB_JOBS__VISIBILITY_TIMEOUT_SECONDS": "2",
        # `crmhub scheduler` looks for due syncs every second.
        "CRMHUB_JOBS__SCHEDULE_INTERVAL_SECONDS": "1",
        **extra,
    }


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)


@pytest.fixture
def crmhub_process(broker_url: str, queue: str,
                   tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """``crmhub_process(*args, database_url=…)``: a `crmhub` subprocess on this test's queue."""
    started: list[Worker] = []

    def start(*args: str, database_url: str) -> Worker:
        log = tmp_path / f"crmhub-{len(started)}.log"
        handle = log.open("wb")
        process = subprocess.Popen(
            [*crmhub_command(), *args],
            cwd=ROOT, env=worker_env(database_url, broker_url, queue),
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
        handle.close()
        worker = Worker(process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:  # the tests are done with them: no need for a warm shutdown
        worker.kill()


@pytest.fixture
def start_worker(crmhub_process: Callable[..., Worker],
                 database_url: str) -> Callable[..., Worker]:
    """``start_worker(*args)``: `crmhub worker …` on the shared test database."""
    return lambda *args: crmhub_process(*args, database_url=database_url)


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             diagnose: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{diagnose()}")

