"""The inbox's group commit: concurrent deliveries share transactions, each event stored once."""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from hub.db import create_async_db_engine
from hub.models import utcnow
from hub.sync.inbox import InboxWriter, pending_events
from tests.webhooks.deliveries import stored


@pytest.fixture
async def writer(hook_settings, engine):
    async_engine = create_async_db_engine(hook_settings)
    committed: list[uuid.UUID] = []
    inbox = InboxWriter(async_engine, after_commit=committed.extend, sync_engine=engine)
    yield inbox, committed
    await inbox.close()
    await async_engine.dispose()


async def test_concurrent_copies_of_events_store_each_once(writer, engine, connection):
    inbox, committed = writer
    # 50 events, 4 copies each, all at once: copies share batches and race across them.
    deliveries = [(f"evt-{n}", copy) for copy in range(4) for n in range(50)]
    results = await asyncio.wait_for(asyncio.gather(*(
        inbox.store(connection, event_id, "t", {"copy": str(copy)}, b"{}")
        for event_id, copy in deliveries
    )), 30)

    accepted = [(event_id, result) for (event_id, _), result in zip(deliveries, results,
                                                                      strict=True) if result]
    assert sorted(event_id for event_id, _ in accepted) == sorted(f"evt-{n}" for n in range(50))
    rows = stored(engine, connection)
    assert sorted(r.id for r in rows) == sorted(result for _, result in accepted)
    assert sorted(committed) == sorted(r.id for r in rows)  # told once per new event


async def test_one_after_another_each_is_written(writer, engine, connection):
    inbox, _ = writer
    for n in range(20):  # each arrives as the previous writer is finishing
        assert await asyncio.wait_for(inbox.store(connection, f"e{n}", "t", {}, b"{}"), 10)
    assert len(stored(engine, connection)) == 20


async def test_a_vanished_connection_fails_alone(writer, engine, connection):
    inbox, committed = writer
    gone = uuid.uuid4()
    good, bad = await asyncio.gather(
        inbox.store(connection, "e1", "t", {}, b"{}"),
        inbox.store(gone, "e1", "t", {}, b"{}"),
        return_exceptions=True,
    )
    assert isinstance(good, uuid.UUID) and isinstance(bad, IntegrityError)
    assert [r.id for r in stored(engine, connection)] == [good] == committed


async def test_a_stored_delivery_reads_back_as_it_came(writer, engine, connection):
    inbox, _ = writer
    headers = {"content-type": "application/json", "x-topic": "contact.updated ünïcode"}
    body = b'{"id": 1, "bytes": "\xc3\xa9"}\x00\xff'
    before = utcnow()
    event_id = await asyncio.wait_for(inbox.store(connection, "e-read", "contact.updated",
                                                  headers, body), 10)
    (row,) = stored(engine, connection)
    assert (row.id, row.connection_id, row.provider_event_id, row.topic) == (
        event_id, connection, "e-read", "contact.updated")
    assert row.headers == headers and row.body == body
    assert row.processed_at is None and row.attempts == 0 and row.error is None
    assert before <= row.received_at <= utcnow() and row.received_at.tzinfo is not None
    # And the sweep's query, which compares received_at in SQL, finds it.
    assert pending_events(engine, older_than=timedelta(0), connection_id=connection) == [event_id]


async def test_a_connection_dropped_between_batches_loses_no_delivery(writer, engine, connection):
    inbox, committed = writer
    first = await asyncio.wait_for(inbox.store(connection, "before", "t", {}, b"{}"), 10)
    if engine.dialect.name == "postgresql":
        # The server goes away under the writer's idle connection (a restart, a failover).
        with engine.connect() as db:
            dropped = db.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()").scalar()
        assert dropped >= 1
    second = await asyncio.wait_for(inbox.store(connection, "after", "t", {}, b"{}"), 10)
    assert first and second
    assert sorted(r.provider_event_id for r in stored(engine, connection)) == ["after", "before"]
    assert committed == [first, second]


def _record_batches(inbox: InboxWriter, monkeypatch, *, first_takes: float = 0.0,
                    each_takes: float = 0.0) -> list[int]:
    """The size of each batch the writer sends, in order; the first one held ``first_takes``
    seconds, every one ``each_takes``."""
    sizes: list[int] = []
    insert = inbox._insert

    async def recording(rows):
        sizes.append(len(rows))
        if len(sizes) == 1 and first_takes:
            await asyncio.sleep(first_takes)  # a slow commit
        if each_takes:
            await asyncio.sleep(each_takes)
        return await insert(rows)

    monkeypatch.setattr(inbox, "_insert", recording)
    return sizes


async def test_deliveries_read_in_the_same_moments_share_a_batch(writer, engine, connection,
                                                                monkeypatch):
    inbox, _ = writer
    sizes = _record_batches(inbox, monkeypatch)

    async def arrive(n: int):
        for _ in range(n % 5):  # each a few loop iterations after the other
            await asyncio.sleep(0)
        return await inbox.store(connection, f"e{n}", "t", {}, b"{}")

    assert all(await asyncio.wait_for(asyncio.gather(*(arrive(n) for n in range(10))), 10))
    assert sizes == [10]  # not the first iteration's two, then the rest
    assert len(stored(engine, connection)) == 10


async def test_deliveries_waiting_on_a_slow_commit_get_a_writer_of_their_own(
        writer, engine, connection, monkeypatch):
    inbox, _ = writer
    sizes = _record_batches(inbox, monkeypatch, first_takes=0.3)
    first = asyncio.ensure_future(inbox.store(connection, "slow", "t", {}, b"{}"))
    await asyncio.sleep(0.05)  # the first batch is in flight
    started = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(inbox.store(connection, "next", "t", {}, b"{}"), 10)
    waited = asyncio.get_running_loop().time() - started
    first_was_done = first.done()
    assert await first
    assert sizes == [1, 1]
    if inbox.writers > 1:  # PostgreSQL: the second batch did not wait for the first
        assert not first_was_done and waited < 0.2
    else:  # SQLite has one write lock: it went after the first
        assert first_was_done and waited >= 0.2
    assert len(stored(engine, connection)) == 2


@pytest.mark.sqlite  # PostgreSQL has no database-wide write lock
async def test_sqlite_write_lock_held_elsewhere_is_waited_for_off_the_event_loop(
        writer, engine, connection):
    """The batch's insert, tried at once on the loop, waits in the writer's thread while
    another connection holds SQLite's write lock, and goes in once it is let go."""
    inbox, committed = writer
    assert await asyncio.wait_for(inbox.store(connection, "before", "t", {}, b"{}"), 10)
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def tick() -> None:  # the event loop's heartbeat while the lock is held
        while True:
            ticks.append(loop.time())
            await asyncio.sleep(0.01)

    ticker = asyncio.ensure_future(tick())
    with engine.connect() as other:
        other.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, as a job's commit holds it
        delivery = asyncio.ensure_future(inbox.store(connection, "while-locked", "t", {}, b"{}"))
        await asyncio.sleep(0.3)
        assert not delivery.done()  # waiting for the lock, not failed at once
        other.exec_driver_sql("ROLLBACK")
    event_id = await asyncio.wait_for(delivery, 10)
    ticker.cancel()
    assert event_id and committed[-1] == event_id
    assert sorted(r.provider_event_id for r in stored(engine, connection)) == [
        "before", "while-locked"]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) >= 20 and max(gaps) < 0.1  # the loop went on meanwhile
    # And the next batch, with the lock free again, is written as before.
    assert await asyncio.wait_for(inbox.store(connection, "after", "t", {}, b"{}"), 10)


async def test_no_writer_sends_an_empty_batch(writer, engine, connection, monkeypatch):
    """Writers gathering side by side: the one that finds the deliveries taken sends
    nothing (an empty statement is a round trip for nothing)."""
    inbox, _ = writer
    # Every commit slower than SPILL_AFTER, deliveries arriving all the while: writers
    # start and finish at every moment of each other's gathering.
    sizes = _record_batches(inbox, monkeypatch, each_takes=inbox.SPILL_AFTER * 2)
    pending = []
    for n in range(300):
        pending.append(asyncio.ensure_future(inbox.store(connection, f"e{n}", "t", {}, b"{}")))
        await asyncio.sleep(0 if n % 3 else 0.0005)
    assert all(await asyncio.wait_for(asyncio.gather(*pending), 20))
    assert sum(sizes) == 300 and 0 not in sizes


@pytest.mark.sqlite
async def test_sqlite_batches_are_written_on_the_event_loop_while_the_lock_is_free(
        writer, connection, monkeypatch):
    """The thread is for waiting on the lock (and opening the connection, which the pool
    may make wait): a batch that finds the lock free costs no hand-over between threads."""
    inbox, _ = writer
    threads: list[str] = []
    write = InboxWriter._insert_sqlite_rows

    def recording(db, rows):
        threads.append(threading.current_thread().name)
        return write(db, rows)

    monkeypatch.setattr(InboxWriter, "_insert_sqlite_rows", staticmethod(recording))
    for n in range(3):
        assert await asyncio.wait_for(inbox.store(connection, f"e{n}", "t", {}, b"{}"), 10)
    loop_thread = threading.current_thread().name
    assert threads[0].startswith("crmhub-inbox")  # the first opens the connection
    assert threads[1:] == [loop_thread, loop_thread]


@pytest.mark.sqlite
async def test_sqlite_wal_is_checkpointed_by_the_thread_not_by_the_loops_commits(
        writer, connection):
    """A commit that checkpoints waits for the checkpoint's syncs: the writer's own
    connection never does, the thread does it now and then on a connection of its own."""
    inbox, _ = writer
    inbox.CHECKPOINT_ROWS = 5
    for n in range(12):
        assert await asyncio.wait_for(inbox.store(connection, f"e{n}", "t", {}, b"{}"), 10)
    await asyncio.get_running_loop().run_in_executor(inbox._sqlite_thread, lambda: None)
    assert inbox.checkpoints == 2
    assert inbox._sqlite_db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
