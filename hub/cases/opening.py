"""Opening a case: its SLA due times from the policy in force, then its number, then the row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert

from hub.cases.numbers import next_case_number
from hub.cases.sla import SlaClock
from hub.events.outbox import emit, global_id
from hub.models.base import new_id
from hub.models.engagement import Case
from hub.models.enums import CaseCategory, CasePriority, CaseStatus, Channel

cases = Case.__table__


@dataclass(frozen=True)
class NewCase:
    customer_id: uuid.UUID
    subject: str
    category: CaseCategory
    channel: Channel
    priority: CasePriority = CasePriority.NORMAL
    description: str | None = None
    shared_with_partner_id: uuid.UUID | None = None
    source_interaction_id: uuid.UUID | None = None
    # When the case (and its SLA clocks) started, if before it is written: a
    # complaint a sync finds started when the customer wrote.
    created_at: datetime | None = None


@dataclass(frozen=True)
class OpenedCase:
    id: uuid.UUID
    number: int


def open_case(conn: Connection, case: NewCase, now: datetime, clock: SlaClock) -> OpenedCase:
    """Insert a NEW case. The number is taken last: its row lock is held until commit."""
    created_at = min(case.created_at or now, now)
    due = clock.due_times(created_at, case.priority, case.category)
    case_id = new_id()
    number = next_case_number(conn)
    conn.execute(
        insert(cases).values(
            id=case_id,
            number=number,
            customer_id=case.customer_id,
            subject=case.subject,
            description=case.description,
            status=CaseStatus.NEW,
            priority=case.priority,
            category=case.category,
            channel=case.channel,
            first_response_due_at=due.first_response,
            resolution_due_at=due.resolution,
            shared_with_partner_id=case.shared_with_partner_id,
            source_interaction_id=case.source_interaction_id,
            resolution_paused_seconds=0,
            created_at=created_at,
            updated_at=now,
        )
    )
    emit(conn, "case.created", {
        "number": number, "customerId": global_id("Customer", case.customer_id),
        "status": CaseStatus.NEW, "priority": case.priority, "category": case.category,
        "channel": case.channel,
    }, subject=("Case", case_id))
    return OpenedCase(case_id, number)
