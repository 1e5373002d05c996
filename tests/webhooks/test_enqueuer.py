"""The processing jobs of stored events: held briefly, enqueued in jobs of bounded size."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any

import pytest

from hub.webhooks import _Enqueuer


class Recorder:
    """The ``enqueue`` it is given: each job's arguments, and the thread it came from."""

    def __init__(self, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.jobs: list[list[str]] = []
        self.threads: set[str] = set()
        self.fail = fail
        self.gate = gate

    def __call__(self, job_name: str, **kwargs: Any) -> str:
        assert job_name == "process_inbound_events"
        if self.gate is not None:
            self.gate.wait(5)
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("the embedded job queue is full")
        self.jobs.append(kwargs["event_ids"])
        return "job"


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


async def jobs_come(jobs: Recorder, count: int, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(jobs.jobs) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


async def test_the_commits_of_the_hold_are_one_job_in_order():
    jobs = Recorder()
    enqueuer = _Enqueuer(jobs, in_thread=False)
    first, second = ids(3), ids(2)
    enqueuer.submit(first)
    enqueuer.submit(second)
    assert jobs.jobs == []  # held, not yet enqueued
    await jobs_come(jobs, 1)
    assert jobs.jobs == [[str(e) for e in first + second]]
    enqueuer.submit(ids(1))  # a new hold starts with the next commit
    await jobs_come(jobs, 2)
    assert len(jobs.jobs) == 2 and len(jobs.jobs[1]) == 1


async def test_a_full_job_goes_at_once_and_none_is_over_the_size():
    jobs = Recorder()
    enqueuer = _Enqueuer(jobs, in_thread=False)
    events = ids(enqueuer.JOB_SIZE * 2 + 7)
    enqueuer.submit(events[:5])
    enqueuer.submit(events[5:])  # past the size: everything held goes now
    assert [len(job) for job in jobs.jobs] == [enqueuer.JOB_SIZE, enqueuer.JOB_SIZE, 7]
    assert [e for job in jobs.jobs for e in job] == [str(e) for e in events]


async def test_close_enqueues_what_is_held():
    jobs = Recorder()
    enqueuer = _Enqueuer(jobs, in_thread=False)
    events = ids(4)
    enqueuer.submit(events)
    await enqueuer.close()
    assert jobs.jobs == [[str(e) for e in events]]


async def test_with_a_broker_the_jobs_are_sent_from_a_thread_and_close_waits_for_them():
    gate = threading.Event()
    jobs = Recorder(gate=gate)
    enqueuer = _Enqueuer(jobs, in_thread=True)
    events = ids(3)
    enqueuer.submit(events)
    enqueuer.flush()  # handed to the thread, which waits at the gate
    closing = asyncio.create_task(enqueuer.close())
    await asyncio.sleep(0.05)
    assert not closing.done() and jobs.jobs == []
    gate.set()
    await asyncio.wait_for(closing, 5)
    assert jobs.jobs == [[str(e) for e in events]]
    assert jobs.threads and all(t.startswith("crmhub-webhook-jobs") for t in jobs.threads)


async def test_a_full_backlog_leaves_the_events_to_the_sweep_and_says_so(caplog):
    gate = threading.Event()
    jobs = Recorder(gate=gate)
    enqueuer = _Enqueuer(jobs, in_thread=True, backlog=5)
    kept, left = ids(4), ids(3)
    with caplog.at_level(logging.WARNING, logger="hub.webhooks"):
        enqueuer.submit(kept)
        enqueuer.flush()
        enqueuer.submit(left)
        enqueuer.flush()  # 4 waiting + 3 is over the backlog of 5
        gate.set()
        await enqueuer.close()
    assert jobs.jobs == [[str(e) for e in kept]]
    assert "3 backlog full" in caplog.text and "inbox sweep" in caplog.text


@pytest.mark.parametrize("in_thread", [False, True])
async def test_a_refused_enqueue_is_logged_once_per_interval_with_the_count(caplog, in_thread):
    jobs = Recorder(fail=True)
    enqueuer = _Enqueuer(jobs, in_thread=in_thread)
    with caplog.at_level(logging.WARNING, logger="hub.webhooks"):
        for _ in range(3):
            enqueuer.submit(ids(2))
            enqueuer.flush()
        await enqueuer.close()
    warnings = [r for r in caplog.records if "not enqueued" in r.getMessage()]
    # The first refusal is said at once; the next two wait for the interval.
    assert len(warnings) == 1 and "2 job queue full or unreachable" in warnings[0].getMessage()
