"""Merge and unmerge on the real database of each backend, people written by the real sync writer.

The property: for any two customers (any mix of e-mails, phones, addresses,
tags, orders, interactions, complaint cases, feedback, consents, custom
attributes, names), merging one into the other and undoing it leaves every
row that touches either of them exactly as it was, and no other table gains or
loses a row. Only what must move forward does: the customers' ``version`` (an
optimistic lock) and ``updated_at``, and the history of the operation itself
(the merge, the dismissed pair, the audit events, the outbox events).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hub.access.audit import SYSTEM
from hub.events.outbox import global_id
from hub.identity.merge import MergeError, MergeErrorCode, last_merge_of, merge, unmerge
from hub.identity.survivorship import SurvivorshipSettings
from hub.models import (
    AuditEvent,
    Base,
    Connection,
    ContactPoint,
    Customer,
    CustomerMerge,
    FieldProvenance,
    MergeSuggestion,
    MergeSuggestionStatus,
    SourceProfile,
    SourceRecord,
)
from hub.models.enums import (
    Channel,
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    CustomerStatus,
    Direction,
    FeedbackKind,
    InteractionKind,
)
from hub.models.events import OutboxEvent
from hub.sync.engine import run_stream
from hub.sync.records import (
    AddressData,
    ConsentData,
    ContactPointData,
    FeedbackData,
    InteractionData,
    OrderData,
    PersonData,
    SourceRecordData,
)
from hub.sync.writer import CanonicalWriter
from tests.sync import factory
from tests.sync.factory import map_record, new_connection, pages_of

SURVIVORSHIP = SurvivorshipSettings()
# Tables that record that a merge happened: they grow by design.
HISTORY = {CustomerMerge.__tablename__, MergeSuggestion.__tablename__,
           AuditEvent.__tablename__, OutboxEvent.__tablename__}
FORWARD = {"version", "updated_at"}


@pytest.fixture(scope="module")
def engine(sync_engine: Engine) -> Engine:
    return sync_engine


@pytest.fixture(scope="module")
def shops(engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    return new_connection(engine, "merge-a"), new_connection(engine, "merge-b")


# -- writing people through the sync writer ------------------------------------------------


def write(engine: Engine, connection_id: uuid.UUID, *records: SourceRecordData,
          when: datetime | None = None) -> None:
    writer = CanonicalWriter()
    with Session(engine) as session, session.begin():
        for rec in records:
            writer.write(session, connection_id, rec, when or datetime.now(UTC))


def customer_of(engine: Engine, connection_id: uuid.UUID, external_id: str) -> uuid.UUID:
    with Session(engine) as session:
        return session.scalars(select(SourceRecord.customer_id).where(
            SourceRecord.connection_id == connection_id,
            SourceRecord.external_id == external_id)).one()


@st.composite
def people(draw: st.DrawFn, ns: str, label: str) -> list[SourceRecordData]:
    """A person (a customer record) and whatever hangs off them on one platform."""
    ext = f"{ns}-{label}"
    now = datetime.now(UTC).replace(microsecond=0)
    emails = draw(st.lists(st.sampled_from(["x", "y", "z"]), max_size=2, unique=True))
    phones = draw(st.lists(st.integers(1000, 1003), max_size=2, unique=True))
    points = tuple(
        [ContactPointData(ContactPointKind.EMAIL, f"{e}.{ext}@merge.example", is_primary=n == 0)
         for n, e in enumerate(emails)]
        + [ContactPointData(ContactPointKind.PHONE, f"+44 7{abs(hash(ext)) % 10**5:05d} {p}")
           for p in phones]
        + [ContactPointData(ContactPointKind.SOCIAL, f"facebook:{ext}")]
    )
    addresses = tuple(
        AddressData(line1=f"{n} {street}", city=draw(st.sampled_from(["Leeds", "York"])),
                    postal_code="LS1 1AA", country="GB", is_primary=n == 1)
        for n, street in enumerate(draw(st.lists(st.sampled_from(["High St", "Mill Rd"]),
                                                 max_size=2)), start=1)
    )
    person = PersonData(
        given_name=draw(st.sampled_from([None, "Ann", "Ann Lee", "Bo"])),
        family_name=draw(st.sampled_from([None, "Lee", "Nakamura"])),
        locale=draw(st.sampled_from([None, "en-GB", "de-DE"])),
        contact_points=points,
        addresses=addresses,
        tags=tuple(draw(st.lists(st.sampled_from(["vip", "b2b", "newsletter", label]),
                                 max_size=3, unique=True))),
        consents=tuple(
            ConsentData(ConsentPurpose.MARKETING_EMAIL, status, now - timedelta(days=n), label)
            for n, status in enumerate(draw(st.lists(
                st.sampled_from([ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN]), max_size=2)))
        ),
        attributes=draw(st.dictionaries(st.sampled_from(["tier", "shoe", label]),
                                        st.sampled_from(["a", "b", 1]), max_size=2)),
    )
    records = [SourceRecordData("customer", ext, {"id": ext, "n": draw(st.integers(0, 9))},
                                source_updated_at=now - timedelta(hours=draw(st.integers(0, 5))),
                                person=person)]
    for n in range(draw(st.integers(0, 2))):
        records.append(SourceRecordData(
            "order", f"{ext}-o{n}", {"n": n}, person_ref=("customer", ext),
            order=OrderData(number=f"#{ext}-{n}", currency="EUR", placed_at=now,
                            total=Decimal("12.50"))))
    for n, body in enumerate(draw(st.lists(st.sampled_from(["hello", "I want a refund"]),
                                           max_size=2))):
        records.append(SourceRecordData(
            "message", f"{ext}-m{n}", {"n": n}, person_ref=("customer", ext),
            interaction=InteractionData(Channel.EMAIL, InteractionKind.MESSAGE,
                                        Direction.INBOUND, now, subject="Order", body=body)))
    if draw(st.booleans()):
        records.append(SourceRecordData(
            "review", f"{ext}-r", {"r": 1}, person_ref=("customer", ext),
            feedback=FeedbackData(FeedbackKind.NPS, draw(st.integers(0, 10)), 10,
                                  Channel.EMAIL, now)))
    return records


# -- snapshots -----------------------------------------------------------------------------


def touching(engine: Engine, ids: tuple[uuid.UUID, ...]) -> dict[str, list[tuple]]:
    """Every row of every table that belongs to one of these customers, in full."""
    found: dict[str, list[tuple]] = {}
    with engine.connect() as db:
        source_ids = select(SourceRecord.id).where(SourceRecord.customer_id.in_(ids))
        for table in Base.metadata.sorted_tables:
            if table.name in HISTORY:
                continue
            if table.name == Customer.__tablename__:
                where = table.c.id.in_(ids)
            elif "customer_id" in table.c:
                where = table.c.customer_id.in_(ids)
            elif table.name == SourceProfile.__tablename__:
                where = table.c.source_record_id.in_(source_ids)
            else:
                continue
            columns = [c for c in table.c
                       if not (table.name == Customer.__tablename__ and c.name in FORWARD)]
            rows = db.execute(select(*columns).where(where)).all()
            found[table.name] = sorted((tuple(map(repr, row)) for row in rows))
    return found


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as db:
        return {t.name: db.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables if t.name not in HISTORY}


PROPERTY = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@given(data=st.data())
@PROPERTY
def test_merge_then_unmerge_is_the_identity(engine, shops, data):
    ns = uuid.uuid4().hex[:8]
    first = data.draw(people(ns, "a"))
    second = data.draw(people(ns, "b"))
    write(engine, shops[0], *first)
    write(engine, shops[1], *second)
    a = customer_of(engine, shops[0], first[0].external_id)
    b = customer_of(engine, shops[1], second[0].external_id)
    # Two people who share nothing stay two customers until merged.
    assert a != b
    survivor, absorbed = (a, b) if data.draw(st.booleans()) else (b, a)
    before, sizes = touching(engine, (a, b)), counts(engine)

    with engine.begin() as db:
        merge_id = merge(db, survivor, absorbed, actor=SYSTEM, survivorship=SURVIVORSHIP)
    merged = touching(engine, (a, b))
    with Session(engine) as session:
        gone = session.get_one(Customer, absorbed)
        assert (gone.status, gone.merged_into_id) == (CustomerStatus.MERGED, survivor)
        for table in ("contact_points", "source_records", "orders", "interactions", "consents"):
            assert not [row for row in merged[table] if repr(absorbed) in row[1:3]], table
    assert merged != before

    with engine.begin() as db:
        assert last_merge_of(db, absorbed) == merge_id
        unmerge(db, merge_id, actor=SYSTEM, survivorship=SURVIVORSHIP)
    assert touching(engine, (a, b)) == before
    assert counts(engine) == sizes


def test_versions_move_forward_and_the_pair_is_remembered(engine, shops):
    ns = uuid.uuid4().hex[:8]
    a, b = person(engine, shops[0], ns, "a"), person(engine, shops[1], ns, "b")
    versions = version_of(engine, a), version_of(engine, b)
    with engine.begin() as db:
        merge_id = merge(db, a, b, actor=SYSTEM, survivorship=SURVIVORSHIP)
    assert version_of(engine, a) > versions[0] and version_of(engine, b) > versions[1]
    with engine.begin() as db:
        unmerge(db, merge_id, actor=SYSTEM, survivorship=SURVIVORSHIP)
    assert version_of(engine, a) > versions[0] + 1 and version_of(engine, b) > versions[1] + 1
    with Session(engine) as session:
        pair = session.scalars(select(MergeSuggestion).where(
            MergeSuggestion.left_customer_id.in_([a, b]),
            MergeSuggestion.right_customer_id.in_([a, b]))).one()
        assert (pair.status, pair.decided_by) == (MergeSuggestionStatus.DISMISSED, "system")
        done = session.get_one(CustomerMerge, merge_id)
        assert done.unmerged_at is not None and done.unmerged_by == "system"
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.record_id == str(a), AuditEvent.action.like("customer.%merge"))).all()
        assert sorted(actions) == ["customer.merge", "customer.unmerge"]
        events = session.execute(select(OutboxEvent.type, OutboxEvent.subject_id,
                                        OutboxEvent.payload)
                                 .where(OutboxEvent.subject_id.in_([a, b]))).all()
        of_merge = sorted((t, s) for t, s, p in events
                          if global_id("CustomerMerge", merge_id) in str(p))
        assert of_merge == sorted([("customer.merged", a), ("customer.updated", a),
                                   ("customer.updated", b)])


def test_refusals_are_typed_and_change_nothing(engine, shops):
    ns = uuid.uuid4().hex[:8]
    a, b = person(engine, shops[0], ns, "a"), person(engine, shops[1], ns, "b")
    c = person(engine, shops[0], ns, "c")
    cases = [
        ((a, a), MergeErrorCode.SAME_CUSTOMER, "absorbedId"),
        ((a, uuid.uuid4()), MergeErrorCode.NOT_FOUND, "absorbedId"),
    ]
    for (survivor, absorbed), code, field in cases:
        with pytest.raises(MergeError) as refused, engine.begin() as db:
            merge(db, survivor, absorbed, actor=SYSTEM, survivorship=SURVIVORSHIP)
        assert (refused.value.code, refused.value.field) == (code, field)
    with engine.begin() as db:
        first = merge(db, a, b, actor=SYSTEM, survivorship=SURVIVORSHIP)
    before = touching(engine, (a, b, c))
    with pytest.raises(MergeError) as refused, engine.begin() as db:
        merge(db, c, b, actor=SYSTEM, survivorship=SURVIVORSHIP)
    assert refused.value.code is MergeErrorCode.NOT_ACTIVE
    # The survivor merged again: its own merge must be undone first.
    with engine.begin() as db:
        second = merge(db, c, a, actor=SYSTEM, survivorship=SURVIVORSHIP)
    with pytest.raises(MergeError) as refused, engine.begin() as db:
        unmerge(db, first, actor=SYSTEM, survivorship=SURVIVORSHIP)
    assert refused.value.code is MergeErrorCode.SURVIVOR_MERGED
    with engine.begin() as db:
        unmerge(db, second, actor=SYSTEM, survivorship=SURVIVORSHIP)
    assert touching(engine, (a, b, c)) == before
    with engine.begin() as db:
        unmerge(db, first, actor=SYSTEM, survivorship=SURVIVORSHIP)
    with pytest.raises(MergeError) as refused, engine.begin() as db:
        unmerge(db, first, actor=SYSTEM, survivorship=SURVIVORSHIP)
    assert refused.value.code is MergeErrorCode.ALREADY_UNMERGED


def test_what_a_moved_source_brings_after_the_merge_goes_back_with_it(engine, shops):
    ns = uuid.uuid4().hex[:8]
    a, b = person(engine, shops[0], ns, "a"), person(engine, shops[1], ns, "b")
    with engine.begin() as db:
        merge_id = merge(db, a, b, actor=SYSTEM, survivorship=SURVIVORSHIP)
    # b's platform sends b again, now with a second e-mail: it lands on the survivor ...
    write(engine, shops[1], customer_record(f"{ns}-b", PersonData(
        given_name="B", family_name="Merge",
        contact_points=(email(ns, "b"), email(ns, "b-new")), tags=("b",)),
        datetime.now(UTC), n=2))
    assert holder_of(engine, f"b-new@{ns}.merge.example") == a
    with engine.begin() as db:
        unmerge(db, merge_id, actor=SYSTEM, survivorship=SURVIVORSHIP)
    # ... and goes back with b's source record.
    assert holder_of(engine, f"b-new@{ns}.merge.example") == b
    assert holder_of(engine, f"a@{ns}.merge.example") == a


def holder_of(engine: Engine, value: str) -> uuid.UUID:
    with Session(engine) as session:
        return session.scalars(select(ContactPoint.customer_id).where(
            ContactPoint.normalised_value == value)).one()


# -- survivorship --------------------------------------------------------------------------


def test_the_golden_name_is_picked_whole_from_the_most_complete_source(engine, shops):
    ns = uuid.uuid4().hex[:8]
    t0 = datetime.now(UTC) - timedelta(days=1)
    write(engine, shops[0], customer_record(f"{ns}-a", PersonData(
        given_name="Bob", family_name="Norman", locale="en-US",
        contact_points=(email(ns, "bob"),)), t0))
    # A platform that knows only a display name gives it whole, later.
    write(engine, shops[1], customer_record(f"{ns}-b", PersonData(
        given_name="Bob Norman", locale="en-GB",
        contact_points=(ContactPointData(ContactPointKind.SOCIAL, f"facebook:{ns}"),)),
        t0 + timedelta(hours=1)))
    a, b = customer_of(engine, shops[0], f"{ns}-a"), customer_of(engine, shops[1], f"{ns}-b")
    with engine.begin() as db:
        merge(db, a, b, actor=SYSTEM, survivorship=SURVIVORSHIP)
    with Session(engine) as session:
        bob = session.get_one(Customer, a)
        assert (bob.given_name, bob.family_name, bob.display_name) == ("Bob", "Norman",
                                                                        "Bob Norman")
        # The locale: no source priority configured, so the most recent source's.
        assert bob.locale == "en-GB"
        provenance = {p.field: p for p in session.scalars(
            select(FieldProvenance).where(FieldProvenance.customer_id == a))}
    source_a = source_id(engine, shops[0], f"{ns}-a")
    source_b = source_id(engine, shops[1], f"{ns}-b")
    assert {f: (p.value, p.source_record_id, p.rule) for f, p in provenance.items()} == {
        "kind": ("PERSON", source_a, "most_complete"),
        "given_name": ("Bob", source_a, "most_complete"),
        "family_name": ("Norman", source_a, "most_complete"),
        "organization_name": (None, source_a, "most_complete"),
        "locale": ("en-GB", source_b, "most_recent"),
    }
    # The whole name arriving again (a later sync) does not garble the golden record.
    write(engine, shops[1], customer_record(f"{ns}-b", PersonData(
        given_name="Bob Norman", locale="en-GB",
        contact_points=(ContactPointData(ContactPointKind.SOCIAL, f"facebook:{ns}"),)),
        t0 + timedelta(hours=2), n=2))
    with Session(engine) as session:
        assert session.get_one(Customer, a).display_name == "Bob Norman"


def test_source_priority_wins_when_configured(engine, shops):
    ns = uuid.uuid4().hex[:8]
    t0 = datetime.now(UTC) - timedelta(days=1)
    write(engine, shops[0], customer_record(f"{ns}-a", PersonData(
        given_name="Ann", family_name="Lee", locale="en-GB", contact_points=(email(ns, "a"),)), t0))
    write(engine, shops[1], customer_record(f"{ns}-b", PersonData(
        given_name="Anne", family_name="Leigh", locale="fr-FR",
        contact_points=(email(ns, "b"),)), t0 + timedelta(hours=1)))
    a, b = customer_of(engine, shops[0], f"{ns}-a"), customer_of(engine, shops[1], f"{ns}-b")
    with Session(engine) as session:
        trusted = session.execute(select(SourceRecord.connection_id).where(
            SourceRecord.external_id == f"{ns}-a")).scalar_one()
        name = session.get_one(Connection, trusted).name
    prefer = SurvivorshipSettings(source_priority=[name], name=["source_priority"],
                                  locale=["source_priority"])
    with engine.begin() as db:
        merge(db, b, a, actor=SYSTEM, survivorship=prefer)
    with Session(engine) as session:
        ann = session.get_one(Customer, b)
        assert (ann.given_name, ann.family_name, ann.locale) == ("Ann", "Lee", "en-GB")
        rules = set(session.scalars(select(FieldProvenance.rule).where(
            FieldProvenance.customer_id == b)))
    assert rules == {"source_priority"}


def test_provenance_is_stored_once_a_second_source_joins(engine, shops):
    ns = uuid.uuid4().hex[:8]
    a = person(engine, shops[0], ns, "solo")
    stored = select(FieldProvenance).where(FieldProvenance.customer_id == a)
    with Session(engine) as session:
        # One source: nothing to choose, nothing written (the API works it out when asked).
        assert session.scalars(stored).all() == []
    write(engine, shops[1], customer_record(f"{ns}-again", PersonData(
        given_name="Solo", family_name="Merge", contact_points=(email(ns, "solo"),)),
        datetime.now(UTC)))
    assert customer_of(engine, shops[1], f"{ns}-again") == a
    with Session(engine) as session:
        rows = session.scalars(stored).all()
    # No source knows a locale: only the name is picked.
    assert {r.field for r in rows} == {"kind", "given_name", "family_name", "organization_name"}
    assert {r.rule for r in rows} == {"most_recent"}


# -- old ids -------------------------------------------------------------------------------


def test_records_of_an_absorbed_customer_land_on_the_survivor(engine, shops):
    ns = uuid.uuid4().hex[:8]
    a, b = person(engine, shops[0], ns, "a"), person(engine, shops[1], ns, "b")
    with engine.begin() as db:
        merge(db, a, b, actor=SYSTEM, survivorship=SURVIVORSHIP)
    write(engine, shops[1], customer_record(f"{ns}-b", PersonData(
        given_name="Bee", contact_points=(email(ns, "b"),)), datetime.now(UTC), n=7))
    assert customer_of(engine, shops[1], f"{ns}-b") == a
    with Session(engine) as session:
        assert session.get_one(Customer, b).status is CustomerStatus.MERGED


# -- incremental: on every synced page --------------------------------------------------


def test_a_synced_page_joins_a_new_record_to_its_customer_at_once(engine, shops):
    ns = f"inc{uuid.uuid4().hex[:8]}"
    shop, mail = new_connection(engine, "inc-shop"), new_connection(engine, "inc-mail")
    run_stream(engine, shop, "customers", pages_of([factory.customer(ns, 1)], 10), map_record)
    known = customer_of(engine, shop, "c1")
    # Another platform's page: the same person, their e-mail in other case, a whole name.
    page = [factory.customer(ns, 1, first="Given1 Family1", last=None,
                             email=f"PERSON1@{ns.upper()}.test", phone=None, city=None),
            factory.customer(ns, 2)]
    run = run_stream(engine, mail, "members", pages_of(page, 10), map_record)
    assert run.records_failed == 0
    assert customer_of(engine, mail, "c1") == known
    assert customer_of(engine, mail, "c2") != known
    with Session(engine) as session:
        joined = session.get_one(Customer, known)
        assert (joined.given_name, joined.family_name) == ("Given1", "Family1")
        rules = {p.field: p.rule for p in session.scalars(
            select(FieldProvenance).where(FieldProvenance.customer_id == known))}
    assert rules["given_name"] == "most_complete"


def test_a_known_customer_showing_anothers_email_absorbs_them_at_once(engine, shops):
    ns = f"inc{uuid.uuid4().hex[:8]}"
    shop = new_connection(engine, "inc-twins")
    records = [factory.customer(ns, 1), factory.customer(ns, 2)]
    run_stream(engine, shop, "customers", pages_of(records, 10), map_record)
    one, two = customer_of(engine, shop, "c1"), customer_of(engine, shop, "c2")
    assert one != two
    # c2 now gives c1's e-mail: one person after all, merged on the page that says so.
    again = [factory.customer(ns, 2, version=5, email=f"person1@{ns}.test")]
    run_stream(engine, shop, "customers", pages_of(again, 10), map_record)
    with Session(engine) as session:
        absorbed = session.get_one(Customer, one)
        assert (absorbed.status, absorbed.merged_into_id) == (CustomerStatus.MERGED, two)
        done = session.scalars(select(CustomerMerge).where(CustomerMerge.absorbed_id == one)).one()
        assert (done.rule, done.merged_by) == ("email", "connector")
        assert session.scalars(select(AuditEvent.action).where(
            AuditEvent.record_id == str(two), AuditEvent.action == "customer.merge")).all()
    # Unmerged by a person, the two stay apart however often the page comes again.
    with engine.begin() as db:
        unmerge(db, done.id, actor=SYSTEM, survivorship=SURVIVORSHIP)
    again = [factory.customer(ns, 2, version=9, email=f"person1@{ns}.test")]
    run_stream(engine, shop, "customers", pages_of(again, 10), map_record)
    with Session(engine) as session:
        assert session.get_one(Customer, one).status is CustomerStatus.ACTIVE


# -- helpers -------------------------------------------------------------------------------


def email(ns: str, who: str) -> ContactPointData:
    return ContactPointData(ContactPointKind.EMAIL, f"{who}@{ns}.merge.example", is_primary=True)


def customer_record(ext: str, person_data: PersonData, when: datetime,
                    n: int = 1) -> SourceRecordData:
    return SourceRecordData("customer", ext, {"id": ext, "n": n}, source_updated_at=when,
                            person=person_data)


def person(engine: Engine, connection_id: uuid.UUID, ns: str, label: str) -> uuid.UUID:
    write(engine, connection_id, customer_record(f"{ns}-{label}", PersonData(
        given_name=label.title(), family_name="Merge", contact_points=(email(ns, label),),
        tags=(label,)), datetime.now(UTC)))
    return customer_of(engine, connection_id, f"{ns}-{label}")


def source_id(engine: Engine, connection_id: uuid.UUID, external_id: str) -> uuid.UUID:
    with Session(engine) as session:
        return session.scalars(select(SourceRecord.id).where(
            SourceRecord.connection_id == connection_id,
            SourceRecord.external_id == external_id)).one()


def version_of(engine: Engine, customer_id: uuid.UUID) -> int:
    with Session(engine) as session:
        return session.get_one(Customer, customer_id).version
