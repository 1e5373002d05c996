"""Inbound complaints open COMPLAINT cases: the rule, and the hook in the sync writer."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cases.rules import ComplaintCases, ComplaintRule
from hub.models import Case, Connection, Interaction, SourceRecord
from hub.models.enums import (
    CaseCategory,
    CaseStatus,
    Channel,
    ContactPointKind,
    Direction,
    InteractionKind,
)
from hub.settings import ComplaintRuleSettings, Settings
from hub.sync.records import ContactPointData, InteractionData, PersonData, SourceRecordData
from hub.sync.writer import CanonicalWriter, Outcome

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULE = ComplaintRule.from_settings(ComplaintRuleSettings())


def message(body: str | None = None, **changes: object) -> InteractionData:
    base = InteractionData(
        channel=Channel.EMAIL,
        kind=InteractionKind.MESSAGE,
        direction=Direction.INBOUND,
        occurred_at=NOW - timedelta(hours=2),
        subject="About my order",
        body=body,
    )
    return dataclasses.replace(base, **changes)


@dataclasses.dataclass(frozen=True)
class FlaggedInteraction(InteractionData):
    """What a connector hands over when the platform itself marks a complaint."""

    complaint: bool = False


@pytest.mark.parametrize(
    ("interaction", "opens"),
    [
        (message("The parcel arrived DAMAGED, I want a refund."), True),
        (message("It never\n  arrived."), True),
        (message(None, subject="Complaint about delivery"), True),
        (message("Thanks, all good!"), False),
        # Whole words only: "complaining" is no "complain", "brokenhearted" no "broken".
        (message("I am not complaining, just brokenhearted."), False),
        (message("Damaged box", direction=Direction.OUTBOUND), False),
        (message("Damaged box", channel=Channel.PHONE), False),
        (message("Damaged box", kind=InteractionKind.REVIEW), False),
        (message("Damaged box", occurred_at=NOW - timedelta(days=8)), False),
        (message("Damaged box", channel=Channel.SOCIAL, kind=InteractionKind.COMMENT), True),
    ],
)
def test_the_rule(interaction: InteractionData, opens: bool) -> None:
    assert RULE.matches(interaction, NOW) is opens


def test_a_connector_flag_counts_when_honoured() -> None:
    flagged = FlaggedInteraction(**dataclasses.asdict(message("Where is it?")), complaint=True)
    assert RULE.matches(flagged, NOW)
    ignoring = ComplaintRule.from_settings(ComplaintRuleSettings(honour_connector_flag=False))
    assert not ignoring.matches(flagged, NOW)
    no_words = ComplaintRule.from_settings(ComplaintRuleSettings(keywords=[]))
    assert not no_words.matches(message("damaged"), NOW) and no_words.matches(flagged, NOW)


def _record(ns: str, external_id: str, interaction: InteractionData) -> SourceRecordData:
    return SourceRecordData(
        object_type="message",
        external_id=external_id,
        payload={"id": external_id, "body": interaction.body},
        source_updated_at=interaction.occurred_at,
        person=PersonData(
            given_name="Cora",
            family_name="Plain",
            contact_points=(ContactPointData(ContactPointKind.EMAIL, f"cora@{ns}.test"),),
        ),
        interaction=interaction,
    )


def _write(
    sync_engine, writer: CanonicalWriter, connection_id: uuid.UUID, rec: SourceRecordData
) -> Outcome:
    with Session(sync_engine) as session, session.begin():
        return writer.write(session, connection_id, rec, NOW)


def _complaint_cases(sync_engine, connection_id: uuid.UUID) -> list:
    interactions, cases, sources = Interaction.__table__, Case.__table__, SourceRecord.__table__
    with sync_engine.connect() as conn:
        return conn.execute(
            select(cases, interactions.c.occurred_at.label("said_at"))
            .join(interactions, interactions.c.id == cases.c.source_interaction_id)
            .join(sources, sources.c.id == interactions.c.source_record_id)
            .where(sources.c.connection_id == connection_id)
            .order_by(cases.c.number)
        ).all()


def test_the_writer_opens_one_case_per_new_complaint(sync_engine) -> None:
    ns = f"ns{uuid.uuid4().hex[:10]}"
    with Session(sync_engine) as session, session.begin():
        connection = Connection(name=f"complaints-{ns}", connector="toyshop")
        session.add(connection)
        session.flush()
        connection_id = connection.id
    writer = CanonicalWriter(on_new_interaction=ComplaintCases(Settings()))
    complaint = _record(ns, "m1", message("My parcel arrived damaged."))
    assert _write(sync_engine, writer, connection_id, complaint) is Outcome.CREATED
    assert (
        _write(sync_engine, writer, connection_id, _record(ns, "m2", message("Thank you!")))
        is Outcome.CREATED
    )
    # The same record again, and a later edit of it: the case is not opened twice.
    assert _write(sync_engine, writer, connection_id, complaint) is Outcome.UNCHANGED
    edited = _record(ns, "m1", message("My parcel arrived damaged. Refund please!"))
    assert _write(sync_engine, writer, connection_id, edited) is Outcome.UPDATED

    (case,) = _complaint_cases(sync_engine, connection_id)
    assert (case.category, case.status, case.channel) == (
        CaseCategory.COMPLAINT,
        CaseStatus.NEW,
        Channel.EMAIL,
    )
    assert case.subject == "Complaint by email: About my order"
    assert case.description == "My parcel arrived damaged."
    # The clocks started when the customer wrote (Monday 10:00 UTC; 4 business hours).
    assert case.created_at == case.said_at == NOW - timedelta(hours=2)
    assert case.first_response_due_at == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_the_default_writer_has_the_hook_and_it_can_be_switched_off(sync_engine) -> None:
    assert isinstance(CanonicalWriter().on_new_interaction, ComplaintCases)
    off = ComplaintCases(Settings(cases={"complaints": {"enabled": False}}))
    assert off(None, uuid.uuid4(), uuid.uuid4(), message("damaged"), NOW) is None  # type: ignore[arg-type]


def test_a_social_message_flagged_by_its_platform_opens_a_social_case(sync_engine) -> None:
    ns = f"ns{uuid.uuid4().hex[:10]}"
    with Session(sync_engine) as session, session.begin():
        connection = Connection(name=f"social-{ns}", connector="toyshop")
        session.add(connection)
        session.flush()
        connection_id = connection.id
    writer = CanonicalWriter(on_new_interaction=ComplaintCases(Settings()))
    # No complaint word in it: the platform's own flag is what makes it one.
    flagged = FlaggedInteraction(
        **dataclasses.asdict(
            message("Still waiting, three weeks now.", channel=Channel.SOCIAL, subject=None)
        ),
        complaint=True,
    )
    plain = message("Still waiting, three weeks now.", channel=Channel.SOCIAL, subject=None)
    assert _write(sync_engine, writer, connection_id, _record(ns, "dm1", flagged)) is Outcome.CREATED
    assert _write(sync_engine, writer, connection_id, _record(ns, "dm2", plain)) is Outcome.CREATED

    (case,) = _complaint_cases(sync_engine, connection_id)
    assert (case.category, case.status, case.channel) == (
        CaseCategory.COMPLAINT,
        CaseStatus.NEW,
        Channel.SOCIAL,
    )
    assert case.subject == "Complaint by social: Still waiting, three weeks now."
    assert case.description == "Still waiting, three weeks now."
