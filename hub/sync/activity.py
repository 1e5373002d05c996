"""Writing what a customer did, as one source reports it: orders, interactions, feedback.

Each row is keyed by the source record it came from (``source_record_id``),
so a changed record updates its row in place; order lines have no identity at
the source and are replaced as a whole.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from hub.models import Feedback, Interaction, Order, OrderLine, new_id
from hub.models.enums import FeedbackKind
from hub.sync.records import FeedbackData, InteractionData, MappingError, OrderData

orders = Order.__table__
lines = OrderLine.__table__
interactions = Interaction.__table__
feedback = Feedback.__table__

_FEEDBACK_SCALES = {FeedbackKind.NPS: (0, 10), FeedbackKind.CSAT: (1, 5)}


def write_order(db: Connection, source_id: uuid.UUID, data: OrderData,
                customer_id: uuid.UUID | None, updated_at: datetime, first_write: bool) -> None:
    currency = data.currency.strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise MappingError(f"order currency must be an ISO 4217 code, got {data.currency!r}")
    values = {
        "customer_id": customer_id, "number": data.number, "currency": currency,
        "status": data.status, "financial_status": data.financial_status,
        "fulfillment_status": data.fulfillment_status, "subtotal": data.subtotal,
        "discount_total": data.discount_total, "tax_total": data.tax_total,
        "shipping_total": data.shipping_total, "total": data.total,
        "placed_at": data.placed_at, "cancelled_at": data.cancelled_at, "updated_at": updated_at,
    }
    order_id = _upsert(db, orders, source_id, values, first_write)
    if not first_write:
        db.execute(delete(lines).where(lines.c.order_id == order_id))
    if data.lines:
        db.execute(insert(lines), [
            {"id": new_id(), "order_id": order_id, "position": position, "sku": line.sku,
             "title": line.title, "quantity": line.quantity, "unit_price": line.unit_price,
             "total": line.total}
            for position, line in enumerate(data.lines)
        ])


def write_interaction(db: Connection, source_id: uuid.UUID, data: InteractionData,
                      customer_id: uuid.UUID, first_write: bool) -> None:
    _upsert(db, interactions, source_id, {
        "customer_id": customer_id, "channel": data.channel, "kind": data.kind,
        "direction": data.direction, "occurred_at": data.occurred_at, "subject": data.subject,
        "body": data.body, "link": data.link,
    }, first_write)


def write_feedback(db: Connection, source_id: uuid.UUID, data: FeedbackData,
                   customer_id: uuid.UUID, first_write: bool) -> None:
    low, high = _FEEDBACK_SCALES.get(data.kind, (0, data.scale_max))
    if data.kind in _FEEDBACK_SCALES and data.scale_max != high:
        raise MappingError(f"{data.kind.value} is scored out of {high}, not {data.scale_max}")
    if not low <= data.score <= high:
        raise MappingError(f"{data.kind.value} score {data.score} is outside {low}..{high}")
    _upsert(db, feedback, source_id, {
        "customer_id": customer_id, "kind": data.kind, "score": data.score,
        "scale_max": data.scale_max, "comment": data.comment, "channel": data.channel,
        "occurred_at": data.occurred_at,
    }, first_write)


def _upsert(db: Connection, table: Table, source_id: uuid.UUID, values: dict[str, Any],
            first_write: bool) -> uuid.UUID:
    """The row of this source record, inserted or updated; its id."""
    row_id = None if first_write else db.scalar(
        select(table.c.id).where(table.c.source_record_id == bindparam("source")),
        {"source": source_id},
    )
    if row_id is None:
        row_id = new_id()
        db.execute(insert(table), {"id": row_id, "source_record_id": source_id, **values})
    else:
        db.execute(update(table).where(table.c.id == row_id).values(**values))
    return row_id
