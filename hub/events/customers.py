"""customer.created / customer.updated for customers a sync wrote: one statement per page.

The sync writer notes each customer it wrote (``note_written``) once the record is written
whole; the events are written just before the page's transaction commits, one per customer
(created wins over updated), so a page that rolls back leaves none.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from hub.events.outbox import emit_many, event_row, global_id

_KEY = "crmhub.customers_written"


def note_written(session: Session, customer_id: uuid.UUID, created: bool,
                 connection_id: uuid.UUID, now: datetime) -> None:
    pending = session.info.get(_KEY)
    if pending is None:
        pending = session.info[_KEY] = {}
        event.listen(session, "before_commit", _emit, once=True)
    known = pending.get(customer_id)
    pending[customer_id] = (created or (known is not None and known[0]), connection_id, now)


def _emit(session: Session) -> None:
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    connections: dict[uuid.UUID, str] = {}
    rows = []
    for customer_id, (created, connection_id, now) in pending.items():
        if connection_id not in connections:
            connections[connection_id] = global_id("Connection", connection_id)
        rows.append(event_row("customer.created" if created else "customer.updated",
                              {"source": "sync", "connectionId": connections[connection_id]},
                              subject=("Customer", customer_id), occurred_at=now, plain=True))
    emit_many(session.connection(), rows)
