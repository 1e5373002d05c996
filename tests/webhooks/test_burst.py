"""10,000 deliveries from 20 concurrent clients against a live uvicorn: none lost, none forged.

About 10% carry a bad or missing signature and about 10% are redeliveries of an
event already sent (some racing their first copy). Every good event must be
stored exactly once and enqueued exactly once; nothing badly signed may be stored.

It runs on both backends: SQLite writes one transaction at a time, PostgreSQL
several at once with overlapping commits, where redeliveries racing their first
copy meet in different transactions.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict

import httpx

from hub import tasks
from hub.app import create_app
from tests.live import serve
from tests.webhooks.deliveries import Delivery, burst, stored

DELIVERIES = 10_000
CLIENTS = 20


async def deliver(base_url: str, path: str, deliveries: list[Delivery]) -> list[tuple[int, str]]:
    outcomes: list[tuple[int, str]] = [(0, "")] * len(deliveries)
    queue = iter(range(len(deliveries)))
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
            for i in queue:
                d = deliveries[i]
                response = await http.post(path, content=d.raw, headers=d.headers)
                outcomes[i] = (response.status_code, response.text)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return outcomes


def test_a_burst_loses_nothing_and_accepts_nothing_forged(hook_settings, engine, connection,
                                                          ns, monkeypatch):
    enqueued: list[str] = []
    lock = threading.Lock()

    def enqueue(job_name: str, event_ids: list[str]) -> str:
        assert job_name == "process_inbound_events"
        with lock:
            enqueued.extend(event_ids)
        return "queued"

    monkeypatch.setattr(tasks, "enqueue", enqueue)
    deliveries = burst(ns, DELIVERIES)

    with serve(create_app(hook_settings)) as base_url:
        started = time.perf_counter()
        outcomes = asyncio.run(deliver(base_url, f"/webhooks/{connection}", deliveries))
        elapsed = time.perf_counter() - started

    statuses: dict[str, Counter] = defaultdict(Counter)
    for d, (status, text) in zip(deliveries, outcomes, strict=True):
        if not d.good:
            assert status == 401, (d.event_id, status, text)
            continue
        assert status == 200, (d.event_id, status, text)
        statuses[d.event_id]["accepted" if "accepted" in text else "duplicate"] += 1
    # Each good event was accepted once, whichever of its copies came first.
    assert all(seen["accepted"] == 1 for seen in statuses.values())

    rows = stored(engine, connection)
    good_ids = {d.event_id for d in deliveries if d.good}
    assert sorted(r.provider_event_id for r in rows) == sorted(good_ids)  # 0 lost, 0 twice
    assert not any(r.provider_event_id.startswith("forged-") for r in rows)  # 0 forged
    assert sorted(enqueued) == sorted(str(r.id) for r in rows)  # each enqueued once
    forged = sum(not d.good for d in deliveries)
    duplicates = sum(d.good for d in deliveries) - len(good_ids)
    print(f"\n{len(deliveries)} deliveries ({forged} forged, {duplicates} redeliveries) in "
          f"{elapsed:.1f}s: {len(deliveries) / elapsed:.0f}/s")
