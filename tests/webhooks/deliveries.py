"""Signed deliveries of the example connector, and connections to send them to."""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.base import encrypt, hmac_hex
from hub.models import Connection, InboundEvent, SourceRecord

SECRET = "whsec_webhook_tests"
T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


def new_connection(engine: Engine, keys: list[str], *, connector: str = "example",
                   config: dict[str, Any] | None = None,
                   credentials: dict[str, Any] | None = None) -> uuid.UUID:
    """A connection of its own for one test (named uniquely, so tests share a database)."""
    if credentials is None:
        credentials = {"api_key": "key", "webhook_secret": SECRET}
    with Session(engine) as session, session.begin():
        connection = Connection(
            name=f"webhooks-{uuid.uuid4().hex[:12]}", connector=connector, config=config or {},
            credentials=encrypt(credentials, keys),
        )
        session.add(connection)
        session.flush()
        return connection.id


def contact(ns: str, n: int, *, version: int = 0, first_name: str | None = None) -> dict[str, Any]:
    """Contact ``n`` of the namespace as the example API shows it after ``version`` changes."""
    return {
        "id": f"{ns}-{n}",
        "first_name": first_name or f"Ada{version}",
        "last_name": "Lovelace",
        "emails": [{"address": f"ada{n}@{ns}.test", "primary": True}],
        "updated_at": (T0 + timedelta(minutes=version)).isoformat(),
    }


def body(event_id: str, topic: str, data: Any) -> bytes:
    return json.dumps({"id": event_id, "event": topic, "data": data}).encode()


def signed(raw: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    return {
        "Content-Type": "application/json",
        "X-Example-Timestamp": stamp,
        "X-Example-Signature": "sha256=" + hmac_hex(secret, f"{stamp}.".encode() + raw),
    }


@dataclass(frozen=True)
class Delivery:
    event_id: str
    raw: bytes
    headers: dict[str, str]
    good: bool


def burst(ns: str, total: int, *, seed: int = 20261123, forged: float = 0.10,
          redelivered: float = 0.10) -> list[Delivery]:
    """``total`` deliveries: about ``forged`` badly signed, ``redelivered`` copies of recent ones.

    Event ids and which deliveries are good depend on ``seed`` only; signatures are made now.
    """
    rng = random.Random(seed)
    sent: list[tuple[str, bytes]] = []
    deliveries = []
    for i in range(total):
        roll = rng.random()
        if roll < forged:
            raw = body(f"forged-{i}", "contact.updated", contact(ns, i))
            # Half signed with another key, half not signed at all.
            headers = signed(raw, secret="not-the-secret") if i % 2 else {
                "Content-Type": "application/json"}
            deliveries.append(Delivery(f"forged-{i}", raw, headers, good=False))
        elif roll < forged + redelivered and sent:
            # A copy of a recent event: close enough to race its first copy at times.
            event_id, raw = sent[max(0, len(sent) - 1 - rng.randrange(50))]
            deliveries.append(Delivery(event_id, raw, signed(raw), good=True))
        else:
            raw = body(f"evt-{i}", "contact.updated", contact(ns, i))
            sent.append((f"evt-{i}", raw))
            deliveries.append(Delivery(f"evt-{i}", raw, signed(raw), good=True))
    return deliveries


def stored(engine: Engine, connection_id: uuid.UUID) -> list[InboundEvent]:
    with Session(engine) as session:
        return list(session.scalars(
            select(InboundEvent).where(InboundEvent.connection_id == connection_id)
            .order_by(InboundEvent.received_at)
        ))


def put_event(engine: Engine, connection_id: uuid.UUID, raw: bytes, *, event_id: str,
              topic: str = "contact.updated") -> uuid.UUID:
    """An event as intake leaves it: stored, not processed (its enqueue lost, say)."""
    with Session(engine) as session, session.begin():
        event = InboundEvent(connection_id=connection_id, provider_event_id=event_id,
                             topic=topic, headers={"content-type": "application/json"},
                             body=raw)
        session.add(event)
        session.flush()
        return event.id


def event_row(engine: Engine, event_id: uuid.UUID) -> InboundEvent:
    with Session(engine) as session:
        return session.get_one(InboundEvent, event_id)


def source(engine: Engine, connection_id: uuid.UUID, external_id: str) -> SourceRecord | None:
    with Session(engine) as session:
        return session.scalar(select(SourceRecord).where(
            SourceRecord.connection_id == connection_id, SourceRecord.object_type == "contact",
            SourceRecord.external_id == external_id))
