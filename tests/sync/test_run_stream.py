"""run_stream on both backends: counts, updates, order, tombstones, reconciliation, dead letters,
idempotency and resuming after a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hub.access.audit import CONNECTOR
from hub.events.outbox import global_id
from hub.identity.merge import unmerge
from hub.models import (
    Address,
    AuditEvent,
    Connection,
    ContactPoint,
    Customer,
    CustomerMerge,
    DeadLetter,
    Order,
    OrderLine,
    OutboxEvent,
    SourceRecord,
    SyncRun,
    new_id,
)
from hub.models.enums import SyncRunStatus
from hub.settings import get_settings
from hub.sync.engine import SyncFailed, run_stream, start_bookmark
from hub.sync.writer import CanonicalWriter
from tests.sync.factory import (
    Page,
    customer,
    digest,
    map_record,
    new_connection,
    order,
    pages_of,
    phone,
)


def _source(engine, connection, object_type: str, external_id: str) -> SourceRecord:
    with Session(engine) as session:
        return session.scalars(select(SourceRecord).where(
            SourceRecord.connection_id == connection, SourceRecord.object_type == object_type,
            SourceRecord.external_id == external_id,
        )).one()


def _customer_of(engine, connection, external_id: str) -> Customer:
    with Session(engine) as session:
        return session.get_one(Customer, _source(engine, connection, "customer",
                                                 external_id).customer_id)


def _emails(engine, customer_id) -> list[str]:
    with Session(engine) as session:
        return sorted(session.scalars(select(ContactPoint.normalised_value).where(
            ContactPoint.customer_id == customer_id, ContactPoint.kind == "EMAIL")))


def _counts(run: SyncRun) -> tuple[int, ...]:
    return (run.records_read, run.records_created, run.records_updated, run.records_unchanged,
            run.records_deleted, run.records_failed)


def test_first_run_creates_and_a_rerun_changes_nothing(engine, connection, ns) -> None:
    records = [customer(ns, 1), customer(ns, 2), customer(ns, 3), order(ns, 1, customer_n=2)]
    seen: list[int] = []

    run = run_stream(engine, connection, "all", pages_of(records, 3), map_record,
                     progress=seen.append)
    assert run.status is SyncRunStatus.SUCCEEDED and run.finished_at is not None
    assert _counts(run) == (4, 4, 0, 0, 0, 0)
    assert seen == [3, 1]
    assert start_bookmark(engine, connection, "all") == {"position": 4}
    assert start_bookmark(engine, connection, "all", full_refresh=True) is None

    ann = _customer_of(engine, connection, "c2")
    assert ann.display_name == "Given2 Family2" and ann.sort_name == "family2 given2"
    e164 = phone(ns, 2).replace(" ", "")
    assert ann.search_text == f"given2 family2 person2@{ns}.test {e164}"
    with Session(engine) as session:
        placed = session.scalars(select(Order).where(
            Order.source_record_id == _source(engine, connection, "order", "o1").id)).one()
        assert placed.customer_id == ann.id and placed.currency == "EUR"
        assert session.scalar(select(func.count()).where(OrderLine.order_id == placed.id)) == 2
        mobile = session.scalars(select(ContactPoint).where(
            ContactPoint.customer_id == ann.id, ContactPoint.kind == "PHONE")).one()
        assert (mobile.raw_value, mobile.normalised_value) == (phone(ns, 2), e164)
        assert mobile.source_record_id == _source(engine, connection, "customer", "c2").id

    again = run_stream(engine, connection, "all", pages_of(records, 3), map_record)
    assert again.status is SyncRunStatus.SUCCEEDED
    assert _counts(again) == (4, 0, 0, 4, 0, 0)


def test_a_changed_payload_updates_the_customer_and_its_parts(engine, connection, ns) -> None:
    run_stream(engine, connection, "customers", pages_of([customer(ns, 1)], 10), map_record)
    before = _customer_of(engine, connection, "c1")

    changed = customer(ns, 1, version=5, first="Anna", email=f"ANNA@{ns}.test", city="Bonn")
    run = run_stream(engine, connection, "customers", pages_of([changed], 10), map_record)
    assert _counts(run) == (1, 0, 1, 0, 0, 0)

    after = _customer_of(engine, connection, "c1")
    assert after.id == before.id and after.version == before.version + 1
    assert after.display_name == "Anna Family1" and after.sort_name == "family1 anna"
    assert f"anna@{ns}.test" in after.search_text and "person1" not in after.search_text
    assert _emails(engine, after.id) == [f"anna@{ns}.test"]
    with Session(engine) as session:
        cities = session.scalars(select(Address.city).where(Address.customer_id == after.id))
        assert list(cities) == ["Bonn"]


def test_an_older_record_is_not_applied(engine, connection, ns) -> None:
    newer = customer(ns, 1, version=10, first="Newer")
    run_stream(engine, connection, "customers", pages_of([newer], 10), map_record)
    older = customer(ns, 1, version=1, first="Older")
    run = run_stream(engine, connection, "customers", pages_of([older], 10), map_record)
    assert _counts(run) == (1, 0, 0, 1, 0, 0)
    assert _customer_of(engine, connection, "c1").given_name == "Newer"
    assert _source(engine, connection, "customer", "c1").payload["first"] == "Newer"


def test_a_deletion_is_a_tombstone_and_a_newer_record_revives_it(engine, connection, ns) -> None:
    run_stream(engine, connection, "customers", pages_of([customer(ns, 1)], 10), map_record)
    gone = customer(ns, 1, version=3, deleted=True)
    run = run_stream(engine, connection, "customers", pages_of([gone, gone], 10), map_record)
    assert _counts(run) == (2, 0, 0, 1, 1, 0)

    tombstone = _source(engine, connection, "customer", "c1")
    assert tombstone.deleted_at is not None
    assert tombstone.payload["first"] == "Given1"  # the last real payload, kept for audit
    kept = _customer_of(engine, connection, "c1")
    assert _emails(engine, kept.id) == [f"person1@{ns}.test"]

    older = customer(ns, 1, version=2)
    assert _counts(run_stream(engine, connection, "customers", pages_of([older], 10),
                              map_record))[3] == 1
    back = customer(ns, 1, version=4)
    run = run_stream(engine, connection, "customers", pages_of([back], 10), map_record)
    assert _counts(run) == (1, 0, 1, 0, 0, 0)
    assert _source(engine, connection, "customer", "c1").deleted_at is None


def test_full_refresh_tombstones_what_it_did_not_see(engine, connection, ns) -> None:
    everyone = [customer(ns, n) for n in (1, 2, 3)] + [order(ns, 1, customer_n=1)]
    run_stream(engine, connection, "customers", pages_of(everyone, 2), map_record)

    # An incremental run that does not mention c2 says nothing about it.
    run_stream(engine, connection, "customers", pages_of([customer(ns, 1)], 2), map_record)
    assert _source(engine, connection, "customer", "c2").deleted_at is None

    refreshed = [customer(ns, 1), customer(ns, 3, version=1)]
    run = run_stream(engine, connection, "customers", pages_of(refreshed, 1), map_record,
                     full_refresh=True)
    assert run.status is SyncRunStatus.SUCCEEDED
    assert _counts(run) == (2, 0, 1, 1, 1, 0)
    assert _source(engine, connection, "customer", "c2").deleted_at is not None
    assert _source(engine, connection, "customer", "c1").deleted_at is None
    assert _source(engine, connection, "customer", "c1").last_seen_run_id == run.id
    # Only the object types the refresh produced are reconciled.
    assert _source(engine, connection, "order", "o1").deleted_at is None


def test_full_refresh_with_failures_does_not_reconcile(engine, connection, ns) -> None:
    run_stream(engine, connection, "customers",
               pages_of([customer(ns, 1), customer(ns, 2)], 5), map_record)
    refreshed = [customer(ns, 1), {"type": "customer", "first": "no id"}]
    run = run_stream(engine, connection, "customers", pages_of(refreshed, 5), map_record,
                     full_refresh=True)
    assert run.status is SyncRunStatus.PARTIAL
    assert run.records_deleted == 0 and "reconciliation skipped" in run.error
    assert _source(engine, connection, "customer", "c2").deleted_at is None


def test_a_bad_record_goes_to_dead_letters_and_the_page_is_kept(engine, connection, ns) -> None:
    page = [
        customer(ns, 1),
        {"type": "customer", "first": "Nobody"},  # no id: KeyError in the mapping
        customer(ns, 2, email=None, phone="call me maybe"),  # its only contact point is junk
        customer(ns, 3, country="Deutschland"),
        {"type": "coupon", "id": "x1"},  # MappingError
        customer(ns, 4, phone="not a phone"),  # junk phone, but the e-mail is enough
    ]
    run = run_stream(engine, connection, "customers", [Page(page, {"position": 6})], map_record)
    assert run.status is SyncRunStatus.PARTIAL
    assert _counts(run) == (6, 2, 0, 0, 0, 4)
    assert start_bookmark(engine, connection, "customers") == {"position": 6}

    with Session(engine) as session:
        letters = session.scalars(select(DeadLetter).where(DeadLetter.sync_run_id == run.id)
                                  .order_by(DeadLetter.external_id)).all()
    # A mapping that fails cannot say which record it was: the payload still does.
    unnamed = {letter.payload.get("type"): letter for letter in letters if not letter.external_id}
    by_id = {letter.external_id: letter for letter in letters if letter.external_id}
    assert set(unnamed) == {"customer", "coupon"} and set(by_id) == {"c2", "c3"}
    assert unnamed["customer"].payload == {"type": "customer", "first": "Nobody"}
    assert unnamed["customer"].error.startswith("KeyError")
    assert "unknown record type 'coupon'" in unnamed["coupon"].error
    assert "call me maybe" in by_id["c2"].error and by_id["c2"].payload["id"] == "c2"
    assert "ISO 3166-1" in by_id["c3"].error
    assert all(letter.connection_id == connection and letter.stream == "customers"
               and letter.resolved_at is None for letter in letters)
    assert _emails(engine, _customer_of(engine, connection, "c4").id) == [f"person4@{ns}.test"]


class _BreaksOn(CanonicalWriter):
    """Writes a record (or a page holding it), then hits a constraint in the database, as a
    real conflict would."""

    def __init__(self, external_id: str) -> None:
        super().__init__()
        self.external_id = external_id

    def write_page(self, session, connection_id, records, now):
        outcomes = super().write_page(session, connection_id, records, now)
        if any(rec.external_id == self.external_id for rec in records):
            self._conflict(session, connection_id)
        return outcomes

    def write(self, session, connection_id, rec, now):
        outcome = super().write(session, connection_id, rec, now)
        if rec.external_id == self.external_id:
            self._conflict(session, connection_id)
        return outcome

    @staticmethod
    def _conflict(session, connection_id) -> None:
        name = session.get_one(Connection, connection_id).name
        session.execute(insert(Connection.__table__), {"id": new_id(), "name": name,
                                                        "connector": "duplicate"})


def test_a_database_error_on_one_record_loses_only_that_record(engine, connection, ns) -> None:
    records = [customer(ns, 1), customer(ns, 2), customer(ns, 3)]
    run = run_stream(engine, connection, "customers", pages_of(records, 3), map_record,
                     writer=_BreaksOn("c2"))
    assert _counts(run) == (3, 2, 0, 0, 0, 1)
    with Session(engine) as session:
        stored = session.scalars(select(SourceRecord.external_id).where(
            SourceRecord.connection_id == connection)).all()
        letter = session.scalars(select(DeadLetter).where(DeadLetter.sync_run_id == run.id)).one()
        # The savepoint took back everything the failed record had written.
        orphan = session.scalar(select(func.count()).select_from(ContactPoint).where(
            ContactPoint.normalised_value == f"person2@{ns}.test"))
    assert sorted(stored) == ["c1", "c3"] and orphan == 0
    assert letter.external_id == "c2" and letter.error.startswith("IntegrityError")
    # The page was written again record by record: events only for what was kept, once each.
    kept = {_customer_of(engine, connection, c).id for c in ("c1", "c3")}
    with Session(engine) as session:
        created = session.scalars(select(OutboxEvent.subject_id).where(
            OutboxEvent.type == "customer.created",
            OutboxEvent.payload["connectionId"].as_string() == global_id(
                "Connection", connection))).all()
    assert sorted(created) == sorted(kept)


def test_running_the_same_pages_twice_leaves_identical_rows(engine, connection, ns) -> None:
    records = [customer(ns, n) for n in range(6)] + [order(ns, n, customer_n=n) for n in range(4)]
    records.append(customer(ns, 2, version=20, city="Changed"))
    run_stream(engine, connection, "all", pages_of(records, 4), map_record)
    first = digest(engine, connection, exact=True)
    run = run_stream(engine, connection, "all", pages_of(records, 4), map_record)
    assert run.records_created == run.records_updated == 0
    assert digest(engine, connection, exact=True) == first


def test_a_failing_source_keeps_committed_pages_and_the_next_run_resumes(
    engine, connection, ns
) -> None:
    records = [customer(ns, n) for n in range(10)] + [order(ns, n, customer_n=n) for n in range(5)]

    def failing(start: int) -> Iterator[Page]:
        for number, page in enumerate(pages_of(records, 4, start)):
            if number == 2:
                raise ConnectionError(
                    "GET https://shop.example/orders?page=3&access_token=shpat_SECRET failed"
                )
            yield page

    with pytest.raises(SyncFailed) as failed:
        run_stream(engine, connection, "all", failing(0), map_record)
    assert "shpat_SECRET" not in failed.value.message
    assert isinstance(failed.value.__cause__, ConnectionError)
    with Session(engine) as session:
        run = session.get_one(SyncRun, failed.value.run_id)
        stored = session.scalar(select(func.count()).select_from(SourceRecord).where(
            SourceRecord.connection_id == connection))
    assert run.status is SyncRunStatus.FAILED and run.finished_at is not None
    assert run.error.startswith("ConnectionError") and "SECRET" not in run.error
    assert "access_token=***" in run.error
    assert run.records_read == 8 and stored == 8
    assert start_bookmark(engine, connection, "all") == {"position": 8}

    resumed = run_stream(engine, connection, "all", pages_of(records, 4, start=8), map_record)
    assert resumed.status is SyncRunStatus.SUCCEEDED and resumed.records_read == 7

    clean_ns = f"{ns}clean"
    clean_connection = new_connection(engine)
    clean_records = [customer(clean_ns, n) for n in range(10)] + [
        order(clean_ns, n, customer_n=n) for n in range(5)]
    run_stream(engine, clean_connection, "all", pages_of(clean_records, 4), map_record)
    assert digest(engine, connection, ns) == digest(engine, clean_connection, clean_ns)


def test_the_same_person_from_two_connections_is_one_customer(engine, ns) -> None:
    shop, newsletter = new_connection(engine, "shop"), new_connection(engine, "newsletter")
    run_stream(engine, shop, "customers",
               pages_of([customer(ns, 1, email=f"Anna.Schmidt@{ns}.test")], 5), map_record)
    # The newsletter only knows the e-mail, in another case; a national phone matches too.
    run_stream(engine, newsletter, "members", pages_of([
        {"type": "customer", "id": "m-77", "email": f"anna.schmidt@{ns}.TEST",
         "updated_at": "2026-02-01T00:00:00+00:00"},
        {"type": "customer", "id": "m-78", "phone": "0" + phone(ns, 1)[4:], "country": "GB",
         "city": "Köln", "updated_at": "2026-02-01T00:00:00+00:00"},
    ], 5), map_record)

    anna = _customer_of(engine, shop, "c1")
    assert _customer_of(engine, newsletter, "m-77").id == anna.id
    assert _customer_of(engine, newsletter, "m-78").id == anna.id
    with Session(engine) as session:
        identities = session.scalars(select(SourceRecord.connection_id).where(
            SourceRecord.customer_id == anna.id)).all()
        points = session.execute(select(ContactPoint.normalised_value, ContactPoint.raw_value)
                                 .where(ContactPoint.customer_id == anna.id,
                                        ContactPoint.kind == "EMAIL")).all()
    assert sorted(map(str, identities)) == sorted([str(shop), str(newsletter), str(newsletter)])
    # One copy per source: provenance kept, and the names the shop gave survive.
    assert sorted(points) == [(f"anna.schmidt@{ns}.test", f"Anna.Schmidt@{ns}.test"),
                              (f"anna.schmidt@{ns}.test", f"anna.schmidt@{ns}.TEST")]
    assert anna.display_name == "Given1 Family1"


def test_an_order_before_its_customer_gets_a_placeholder_filled_in_later(engine, ns) -> None:
    shop, other = new_connection(engine, "shop"), new_connection(engine, "crm")
    run_stream(engine, other, "contacts", pages_of([customer(ns, 5)], 5), map_record)
    known = _customer_of(engine, other, "c5")

    run_stream(engine, shop, "orders", pages_of([order(ns, 1, customer_n=5)], 5), map_record)
    placeholder = _source(engine, shop, "customer", "c5")
    assert placeholder.payload_hash == "" and placeholder.customer_id != known.id

    run = run_stream(engine, shop, "customers", pages_of([customer(ns, 5)], 5), map_record)
    assert run.records_created == 1
    with Session(engine) as session:
        retired = session.get_one(Customer, placeholder.customer_id)
        placed = session.scalars(select(Order).where(
            Order.source_record_id == _source(engine, shop, "order", "o1").id)).one()
    assert retired.status == "MERGED" and retired.merged_into_id == known.id
    assert placed.customer_id == known.id
    assert _customer_of(engine, shop, "c5").id == known.id

    # A merge like any other: recorded for an unmerge, audited, announced.
    with Session(engine) as session:
        [merge] = session.scalars(select(CustomerMerge).where(
            CustomerMerge.absorbed_id == placeholder.customer_id)).all()
        audited = session.scalars(select(AuditEvent.action).where(
            AuditEvent.record_id == str(known.id))).all()
        announced = session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.type == "customer.merged", OutboxEvent.subject_id == known.id)).all()
    assert (merge.survivor_id, merge.rule) == (known.id, "reference")
    assert "customer.merge" in audited
    assert [p["absorbed"] for p in announced] == [global_id("Customer", placeholder.customer_id)]
    with engine.begin() as conn:
        unmerge(conn, merge.id, actor=CONNECTOR, survivorship=get_settings().identity.survivorship)
    with Session(engine) as session:
        assert session.get_one(Customer, placeholder.customer_id).status == "ACTIVE"
        assert session.get_one(Order, placed.id).customer_id == placeholder.customer_id


def test_an_unexpected_error_fails_the_run_and_takes_back_the_whole_page(
    engine, connection, ns
) -> None:
    def buggy(raw):
        if raw["id"] == "c6":
            raise RuntimeError("bug in the mapping")
        return map_record(raw)

    records = [customer(ns, n) for n in range(8)]
    with pytest.raises(SyncFailed, match="RuntimeError: bug in the mapping"):
        run_stream(engine, connection, "customers", pages_of(records, 4), buggy)
    with Session(engine) as session:
        stored = session.scalars(select(SourceRecord.external_id).where(
            SourceRecord.connection_id == connection)).all()
    # Page one is committed; of page two (c4..c7) nothing, not even c4 and c5.
    assert sorted(stored) == ["c0", "c1", "c2", "c3"]
    assert start_bookmark(engine, connection, "customers") == {"position": 4}
