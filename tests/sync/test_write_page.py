"""A page written whole leaves the database its records leave written one at a time, in order.

``CanonicalWriter.write_page`` makes the customers of a page's plainly new people
with one statement per table, then writes every other record one at a time.
Here the same generated pages (new people, people repeated within a page or
matching stored customers, updates, deletions, older copies, orders naming
customers stored, on the page or never seen, consents, a record that fails) go
through it in one fresh database, and record by record (a resolver without the
page methods) in another; every canonical table must end up the same, ids and
the times of writing aside. A page of new people costs the same statements
whatever its size.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db import create_sync_engine
from hub.migrate import upgrade
from hub.models import Base, ContactPoint, DeadLetter, OutboxEvent, SourceRecord
from hub.models.enums import ConsentPurpose, ConsentStatus, ContactPointKind
from hub.settings import Settings
from hub.sync.engine import run_stream
from hub.sync.records import ConsentData, ContactPointData, SourceRecordData
from hub.sync.resolution import MatchByEmailOrPhone, PageResolver
from hub.sync.writer import CanonicalWriter
from tests.conftest import empty_database
from tests.sync.factory import T0, Page, customer, map_record, new_connection, order, pages_of
from tests.sync.statements import Statements


class OneAtATime:
    """The default resolver without its page methods: the writer writes record by record."""

    def __init__(self) -> None:
        self.resolver = MatchByEmailOrPhone()

    def resolve_customer(self, session, person, source):
        return self.resolver.resolve_customer(session, person, source)

    def person_written(self, db, customer_id, source_id, person, observed_at, now, *, fresh):
        self.resolver.person_written(db, customer_id, source_id, person, observed_at, now,
                                     fresh=fresh)


def test_a_resolver_without_page_methods_is_written_record_by_record() -> None:
    assert isinstance(MatchByEmailOrPhone(), PageResolver)
    assert not isinstance(OneAtATime(), PageResolver)


# -- the generated stream --------------------------------------------------------------------


def map_mixed(raw: dict[str, Any]) -> SourceRecordData:
    """The toy shop's mapping, with more e-mails, a consent and attributes when given."""
    rec = map_record(raw)
    if rec.person is None:
        return rec
    person = rec.person
    more = tuple(ContactPointData(ContactPointKind.EMAIL, e, "other") for e in raw.get("also", ()))
    consents = (ConsentData(ConsentPurpose.MARKETING_EMAIL, ConsentStatus.GRANTED,
                            T0, "toyshop", {"form": raw["id"]}),) if raw.get("consent") else ()
    return replace(rec, person=replace(person, contact_points=person.contact_points + more,
                                       consents=consents, attributes=raw.get("attrs", {})))


def mixed_stream(seed: int, ns: str, pages: int = 8, size: int = 14) -> list[list[dict]]:
    """Pages of records mixing everything a sync meets, the same for the same seed."""
    rng = random.Random(seed)
    made = 0  # people numbered so far; "c{n}" is person n's record at the shop
    version: dict[int, int] = {}  # records sent so far and their latest version
    orders = 0

    def someone(ahead: int = 0) -> int:
        return rng.randrange(0, made + ahead + 1)

    def email(n: int) -> str:
        return f"person{n}@{ns}.test"

    stream = []
    for _ in range(pages):
        page: list[dict] = []
        for _ in range(size):
            roll = rng.random()
            sent = sorted(version)
            if roll < 0.35 or not sent:  # a new person
                n, made = made, made + 1
                extra: dict[str, Any] = {}
                if rng.random() < 0.3:
                    extra["consent"] = True
                if rng.random() < 0.2:
                    extra["attrs"] = {"tier": rng.choice(["gold", "silver"])}
                if rng.random() < 0.1:
                    extra |= {"email": None, "phone": None, "city": None}  # nobody can match
                page.append(customer(ns, n, **extra))
                version[n] = 0
            elif roll < 0.45:  # a new record of someone seen (stored, on this page or to come)
                n, made = made, made + 1
                m = someone(ahead=2)
                shared = rng.choice([{"email": email(m).upper()},
                                     {"email": None, "phone": customer(ns, m)["phone"]},
                                     {"also": [email(m), email(someone(ahead=2))]}])
                page.append(customer(ns, n, **shared))
                version[n] = 0
            elif roll < 0.6:  # an update, sometimes showing another person's e-mail
                m = rng.choice(sent)
                version[m] += rng.randint(1, 3)
                change = rng.choice([{"city": f"Moved{version[m]}"}, {"first": f"New{m}"},
                                     {"email": email(someone(ahead=1))},
                                     {"email": f"fresh{m}.{version[m]}@{ns}.test"},
                                     {"tags": ["vip", f"t{m % 3}"]}])
                page.append(customer(ns, m, version=version[m], **change))
            elif roll < 0.65:  # an older copy
                m = rng.choice(sent)
                page.append(customer(ns, m, version=version[m] - 1, first="Stale"))
            elif roll < 0.72:  # a deletion
                m = rng.choice(sent)
                version[m] += 1
                page.append(customer(ns, m, version=version[m], deleted=True))
            elif roll < 0.9:  # an order of someone stored, on the page, to come or unknown
                buyer = rng.choice([someone(ahead=2), 900 + rng.randrange(4)])
                page.append(order(ns, orders, customer_n=buyer, lines=rng.randint(0, 2)))
                orders += 1
            elif roll < 0.97:  # the unknown buyer of an order turns up
                n = 900 + rng.randrange(4)
                version[n] = version.get(n, 0) + 1
                page.append(customer(ns, n, version=version[n]))
            else:  # a record that cannot be written: its only contact point is junk
                n, made = made, made + 1
                page.append(customer(ns, n, email=None, phone="call me maybe"))
        stream.append(page)
    return stream


# -- the databases compared ------------------------------------------------------------------

# Written at the time of writing, or ids: they differ between two runs that agree.
_UNCOMPARED = {"id", "created_at", "updated_at", "first_seen_at", "last_seen_at",
               "last_seen_run_id", "merged_at", "decided_at", "snapshot", "sync_run_id",
               "fanned_out_at", "payload", "request_id", "details", "survivor_version",
               "occurred_at"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_WHEN = {"deleted_at", "unmerged_at", "resolved_at"}  # only whether it is set
_TABLES = ("customers", "source_records", "contact_points", "addresses", "customer_tags",
           "consents", "source_profiles", "customer_field_provenance", "orders", "order_lines",
           "customer_merges", "merge_suggestions", "outbox_events", "audit_events",
           "dead_letters")


def canonical(engine) -> dict[str, list[str]]:
    """Every row of the canonical tables, ids replaced by what the rows are, sorted."""
    with engine.connect() as db:
        rows = {name: db.execute(select(Base.metadata.tables[name])).mappings().all()
                for name in (*_TABLES, "connections")}
    label: dict[str, Any] = {str(r["id"]): ("connection", r["name"]) for r in rows["connections"]}
    for r in rows["source_records"]:
        label[str(r["id"])] = ("source", label[str(r["connection_id"])], r["object_type"],
                               r["external_id"])
    held: dict[str, list[Any]] = {}
    for r in rows["source_records"]:
        held.setdefault(str(r["customer_id"]), []).append(label[str(r["id"])])
    absorbed = {str(m["absorbed_id"]): m for m in rows["customer_merges"]}
    for r in rows["customers"]:
        key = str(r["id"])
        if key in held:
            label[key] = ("customer", *sorted(held[key], key=repr))
        elif key in absorbed:  # its source records went to the survivor: the merge says which
            moved = absorbed[key]["moved"].get("source_records", [])
            label[key] = ("absorbed", *sorted((label[m] for m in moved), key=repr))
        else:
            label[key] = ("customer", r["given_name"], r["family_name"])
    for r in rows["orders"]:
        label[str(r["id"])] = ("order", label[str(r["source_record_id"])])
    for r in rows["contact_points"]:
        label[str(r["id"])] = ("point", label[str(r["source_record_id"])], r["kind"],
                               r["normalised_value"])
    for r in rows["addresses"]:
        label[str(r["id"])] = ("address", label[str(r["source_record_id"])], r["line1"],
                               r["city"], r["country"])
    for r in rows["consents"]:
        label[str(r["id"])] = ("consent", r["purpose"], r["status"], r["source"],
                               json.dumps(r["evidence"], sort_keys=True))

    def plain(value: Any) -> Any:
        if str(value) in label:
            return label[str(value)]
        if isinstance(value, uuid.UUID) or (isinstance(value, str) and _UUID.fullmatch(value)):
            return "a row no longer stored"  # e.g. an address its source has since replaced
        if isinstance(value, dict):
            return {k: sorted(map(repr, map(plain, v))) if isinstance(v, list) else plain(v)
                    for k, v in value.items()}
        return value.isoformat() if isinstance(value, datetime) else value

    out = {}
    for name in _TABLES:
        out[name] = sorted(
            json.dumps({column: (value is not None) if column in _WHEN else plain(value)
                        for column, value in r.items() if column not in _UNCOMPARED},
                       default=repr, sort_keys=True)
            for r in rows[name]
        )
    return out


def assert_same(paged: dict[str, list[str]], by_record: dict[str, list[str]]) -> None:
    for table in _TABLES:
        only_paged = sorted((Counter(paged[table]) - Counter(by_record[table])).elements())
        only_by_record = sorted((Counter(by_record[table]) - Counter(paged[table])).elements())
        assert not only_paged and not only_by_record, (
            f"{table} differ:\npage at once:\n" + "\n".join(only_paged)
            + "\nrecord by record:\n" + "\n".join(only_by_record))


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request):
    """Two empty, migrated databases of one backend."""
    engines = []
    with empty_database(request, request.param) as first, \
            empty_database(request, request.param) as second:
        for url in (first, second):
            engine = create_sync_engine(Settings(database_url=url))
            upgrade(engine)
            engines.append(engine)
        yield engines
        for engine in engines:
            engine.dispose()


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 17, 21])
def test_a_page_at_once_leaves_what_record_by_record_leaves(two_databases, seed) -> None:
    paged, by_record = two_databases
    ns = f"mixed{seed}"
    stream = mixed_stream(seed, ns)
    counts, statements = {}, {}
    for engine, writer in ((paged, CanonicalWriter()),
                           (by_record, CanonicalWriter(resolver=OneAtATime()))):
        connection = new_connection(engine, prefix="mixed")
        with engine.begin() as db:  # the same name in both databases
            db.execute(Base.metadata.tables["connections"].update()
                       .where(Base.metadata.tables["connections"].c.id == connection)
                       .values(name=f"mixed-{seed}"))
        runs = []
        with Statements(engine) as sent:
            for number, records in enumerate(stream):
                run = run_stream(engine, connection, f"page{number}",
                                 [Page(records, None)], map_mixed, writer=writer)
                runs.append((run.records_read, run.records_created, run.records_updated,
                             run.records_unchanged, run.records_deleted, run.records_failed))
        counts[engine], statements[engine] = runs, sent.total
    assert counts[paged] == counts[by_record]
    assert sum(run[1] for run in counts[paged]) > 0
    assert_same(canonical(paged), canonical(by_record))
    # The page path did take its short cut: fewer statements for the same rows.
    assert statements[paged] < statements[by_record]


def test_a_page_of_new_people_costs_the_same_statements_whatever_its_size(
    engine, ns
) -> None:
    sent = {}
    for size in (5, 150):
        connection = new_connection(engine)
        records = [customer(f"{ns}s{size}", n, consent=True) for n in range(size)]
        with Statements(engine) as statements:
            run = run_stream(engine, connection, "customers", pages_of(records, size),
                             map_mixed)
        assert run.records_created == size
        sent[size] = statements.seen
    assert sent[5] == sent[150]
    copied = engine.dialect.name == "postgresql"
    for table in ("customers", "source_records", "contact_points", "consents",
                  "source_profiles"):
        assert sent[5][f"COPY {table}"] == (1 if copied else 0)
    assert sent[5]["INSERT INTO customers"] == (0 if copied else 1)


@pytest.mark.parametrize("later", ["on the page", "on the next page"])
def test_who_is_oldest_is_decided_as_record_by_record(two_databases, later) -> None:
    """A record showing two customers' e-mails joins the older one and absorbs the other.

    On the second page c100 (stored as a tombstone, so written record by record) makes
    a customer before c101 does; c102 then shows both their e-mails, on the same page
    or the next. Customers made on one page share their creation time, so their ids
    decide: c101 must not be made ahead of c100, or it would be the older of the two.
    """
    ns = "oldest"
    both = customer(ns, 102, email=None, also=[f"a@{ns}.test", f"b@{ns}.test"])
    stream = [
        [customer(ns, 100, deleted=True)],
        [customer(ns, 100, version=1, email=f"b@{ns}.test"),
         customer(ns, 101, email=f"a@{ns}.test")],
    ]
    if later == "on the page":
        stream[1].append(both)
    else:
        stream.append([both])
    paged, by_record = two_databases
    for engine, writer in ((paged, CanonicalWriter()),
                           (by_record, CanonicalWriter(resolver=OneAtATime()))):
        connection = new_connection(engine, prefix="mixed")
        with engine.begin() as db:
            db.execute(Base.metadata.tables["connections"].update()
                       .where(Base.metadata.tables["connections"].c.id == connection)
                       .values(name="oldest"))
        for number, records in enumerate(stream):
            run_stream(engine, connection, f"page{number}", [Page(records, None)], map_mixed,
                       writer=writer)
    assert_same(canonical(paged), canonical(by_record))


def test_a_record_failing_among_new_people_is_the_only_one_lost(engine, connection, ns) -> None:
    # Its attributes cannot be stored as JSON: the page's one INSERT of customers fails.
    records = [customer(ns, 1), customer(ns, 2, attrs={"tiers": {"gold"}}), customer(ns, 3)]
    run = run_stream(engine, connection, "customers", pages_of(records, 3), map_mixed)
    assert (run.records_created, run.records_failed) == (2, 1)
    with Session(engine) as session:
        stored = session.scalars(select(SourceRecord.external_id).where(
            SourceRecord.connection_id == connection)).all()
        letter = session.scalars(select(DeadLetter).where(DeadLetter.sync_run_id == run.id)).one()
        kept = session.scalars(select(SourceRecord.customer_id).where(
            SourceRecord.connection_id == connection)).all()
        created = session.scalars(select(OutboxEvent.subject_id).where(
            OutboxEvent.type == "customer.created", OutboxEvent.subject_id.in_(kept))).all()
        lost = session.scalar(select(func.count()).select_from(ContactPoint).where(
            ContactPoint.normalised_value == f"person2@{ns}.test"))
    assert sorted(stored) == ["c1", "c3"] and lost == 0
    assert letter.external_id == "c2" and "TypeError" in letter.error
    assert sorted(created) == sorted(kept)
