"""Rules that open cases by themselves: an inbound complaint becomes a COMPLAINT case.

The sync writer calls its ``on_new_interaction`` hook (a ``ComplaintCases`` by
default) for every interaction it writes for the first time, in the same
transaction, so the case commits with the page that brought the complaint and
a replayed page opens nothing twice (one case per interaction at most).

An interaction is a complaint when ``[cases.complaints]`` is enabled, it is
INBOUND on one of the configured channels and of one of the kinds, it is
recent (``max_age_days``: a first full sync does not turn years of history into
cases), and either the connector flagged it (``complaint = True`` on the
mapped interaction, when ``honour_connector_flag``) or its subject or body
contains one of the keywords as whole words, whatever the case.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from hub.cases.opening import NewCase, open_case
from hub.cases.sla import SlaClock
from hub.models.customers import Customer
from hub.models.engagement import Case, Interaction
from hub.models.enums import CaseCategory, Channel, CustomerStatus, Direction, InteractionKind
from hub.settings import ComplaintRuleSettings, Settings, get_settings

# The writer's hook: (connection, customer id, source record id, mapped interaction, now).
InteractionHook = Callable[[Connection, uuid.UUID, uuid.UUID, Any, datetime], Any]

SUBJECT_LENGTH = 120
DESCRIPTION_LENGTH = 5000

_interactions = Interaction.__table__
_customers = Customer.__table__
_cases = Case.__table__


@dataclass(frozen=True)
class ComplaintRule:
    channels: frozenset[Channel]
    kinds: frozenset[InteractionKind]
    keywords: re.Pattern[str] | None
    honour_connector_flag: bool
    max_age: timedelta

    @classmethod
    def from_settings(cls, rule: ComplaintRuleSettings) -> ComplaintRule:
        words = sorted({" ".join(k.casefold().split()) for k in rule.keywords if k.strip()})
        pattern = None
        if words:
            # Whole words; a phrase matches across any run of spaces or line breaks.
            alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
            pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return cls(
            frozenset(rule.channels),
            frozenset(rule.kinds),
            pattern,
            rule.honour_connector_flag,
            timedelta(days=rule.max_age_days),
        )

    def matches(self, interaction: Any, now: datetime) -> bool:
        if (
            interaction.direction != Direction.INBOUND
            or interaction.channel not in self.channels
            or interaction.kind not in self.kinds
            or now - interaction.occurred_at > self.max_age
        ):
            return False
        if self.honour_connector_flag and getattr(interaction, "complaint", None):
            return True
        text = " ".join(t for t in (interaction.subject, interaction.body) if t)
        return bool(self.keywords and text and self.keywords.search(text))


class ComplaintCases:
    """The writer's hook: open a COMPLAINT case for a new inbound complaint."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        self.enabled = settings.cases.complaints.enabled
        self.rule = ComplaintRule.from_settings(settings.cases.complaints)
        self.priority = settings.cases.complaints.priority
        self.clock = SlaClock(settings.sla)

    def __call__(
        self,
        db: Connection,
        customer_id: uuid.UUID,
        source_record_id: uuid.UUID,
        interaction: Any,
        now: datetime,
    ) -> uuid.UUID | None:
        """The id of the case opened, or None when the interaction is no complaint."""
        if not self.enabled or not self.rule.matches(interaction, now):
            return None
        # The interaction as written, if its customer is one we still serve (not erased or merged).
        interaction_id = db.scalar(
            select(_interactions.c.id)
            .join(_customers, _customers.c.id == _interactions.c.customer_id)
            .where(
                _interactions.c.source_record_id == source_record_id,
                _customers.c.status == CustomerStatus.ACTIVE,
            )
        )
        if interaction_id is None:
            return None
        if db.scalar(select(_cases.c.id).where(_cases.c.source_interaction_id == interaction_id)):
            return None
        opened = open_case(
            db,
            NewCase(
                customer_id=customer_id,
                subject=complaint_subject(interaction),
                description=(interaction.body or "")[:DESCRIPTION_LENGTH] or None,
                category=CaseCategory.COMPLAINT,
                channel=interaction.channel,
                priority=self.priority,
                source_interaction_id=interaction_id,
                created_at=interaction.occurred_at,
            ),
            now,
            self.clock,
        )
        return opened.id


def complaint_subject(interaction: Any) -> str:
    text = " ".join((interaction.subject or interaction.body or "").split())
    if len(text) > SUBJECT_LENGTH:
        text = text[: SUBJECT_LENGTH - 1].rstrip() + "…"
    channel = Channel(interaction.channel).value.lower()
    return f"Complaint by {channel}: {text}" if text else f"Complaint by {channel}"


def complaint_cases(settings: Settings | None = None) -> InteractionHook:
    """The default hook of the sync writer."""
    return ComplaintCases(settings)
