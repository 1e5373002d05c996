"""The one place where mapped records become canonical rows.

``CanonicalWriter.write`` upserts the source identity (connection, object
type, external id) and, when the record changed, the canonical parts it
carries. The rules that make syncs idempotent and safe to replay:

- the payload is stored with the SHA-256 of its canonical JSON; a record whose
  hash is unchanged writes nothing at all (not even ``last_seen_at``: a full
  refresh stamps what it saw separately) and counts as UNCHANGED;
- a record older than the stored one (``source_updated_at``) is not applied;
- a deletion is a tombstone: ``deleted_at`` is set, the canonical parts stay
  for audit, and a later, newer record brings the identity back;
- a record naming a person the hub has not seen (``person_ref``) links to a
  placeholder customer under that identity, filled in when the person arrives.

``write_page`` writes a page as ``write`` would write its records one after the
other, but makes the customers of the page's plainly new people (see
``_new_people``) with one statement per table (a ``COPY`` on PostgreSQL, see
``hub.sync.copy``), then writes the rest one at a time.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.orm import Session

from hub.cases.rules import InteractionHook, complaint_cases
from hub.events.customers import note_written
from hub.models import Customer, SourceRecord, new_id
from hub.models.enums import CustomerStatus
from hub.sync import activity, contact_points, people
from hub.sync.copy import insert_rows
from hub.sync.records import MappingError, PersonData, SourceRecordData
from hub.sync.resolution import (
    CustomerResolver,
    MatchByEmailOrPhone,
    PageMatch,
    PagePerson,
    PageResolver,
    PersonWritten,
    SourceIdentity,
    absorb_placeholder,
)

sources = SourceRecord.__table__
customers = Customer.__table__

# The hash of a placeholder identity: named by another record, never received itself.
PLACEHOLDER_HASH = ""

_INSERT_SOURCE = insert(sources)
_SOURCE = select(sources).where(
    sources.c.connection_id == bindparam("connection_id"),
    sources.c.object_type == bindparam("object_type"),
    sources.c.external_id == bindparam("external_id"),
)
_SOURCES_OF_TYPE = select(sources).where(
    sources.c.connection_id == bindparam("connection_id"),
    sources.c.object_type == bindparam("object_type"),
    sources.c.external_id.in_(bindparam("external_ids", expanding=True)),
)
# session.info key: (connection id, {(object type, external id): stored row or None}).
_PAGE_SOURCES = "crmhub.page_sources"
_PREFETCH_CHUNK = 500
_MERGED_INTO = select(customers.c.status, customers.c.merged_into_id).where(
    customers.c.id == bindparam("id")
)


class Outcome(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    DELETED = "DELETED"


def canonical_json(payload: Any) -> bytes:
    """Sorted keys, no spaces, dates and decimals as text: equal payloads give equal bytes."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
                        default=str)


def payload_hash(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def json_safe(payload: Any) -> Any:
    """The payload as it is stored and hashed: plain JSON values only."""
    return orjson.loads(canonical_json(payload))


class CanonicalWriter:
    def __init__(self, resolver: CustomerResolver | None = None,
                 on_new_interaction: InteractionHook | None = None) -> None:
        self.resolver: CustomerResolver = resolver or MatchByEmailOrPhone()
        # Called for each interaction written for the first time; opens complaint cases.
        self.on_new_interaction = on_new_interaction or complaint_cases()

    def prefetch(self, session: Session, connection_id: uuid.UUID,
                 records: Iterable[SourceRecordData]) -> None:
        """Look up the stored source records of a page (and those they name) in one go.

        For the rest of the session's transaction ``write`` takes a record's stored
        state from here instead of one SELECT each. What is taken from here only
        decides whether a record changed (hash, time, tombstone): a record that is
        written is read again first, and an identity written in the page is read
        again at its next use, so the look-up never hides a change made since.
        """
        wanted: dict[str, set[str]] = defaultdict(set)
        for rec in records:
            wanted[rec.object_type].add(rec.external_id)
            if rec.person_ref is not None:
                wanted[rec.person_ref[0]].add(rec.person_ref[1])
        db = session.connection()
        known: dict[tuple[str, str], Row[Any] | None] = {}
        for object_type, external_ids in wanted.items():
            ordered = sorted(external_ids)
            for start in range(0, len(ordered), _PREFETCH_CHUNK):
                chunk = ordered[start:start + _PREFETCH_CHUNK]
                known.update(dict.fromkeys(((object_type, e) for e in chunk), None))
                for row in db.execute(_SOURCES_OF_TYPE, {
                        "connection_id": connection_id, "object_type": object_type,
                        "external_ids": chunk}):
                    known[(row.object_type, row.external_id)] = row
        session.info[_PAGE_SOURCES] = (connection_id, known)

    @contextmanager
    def savepoint(self, session: Session) -> Iterator[None]:
        """A SAVEPOINT for one record that also takes back what hooks noted in the session.

        Hooks keep per-transaction notes in ``session.info`` (the customer events of
        the page); a record rolled back to its savepoint must leave none behind.
        """
        noted = {key: value.copy() if isinstance(value, dict | list | set) else value
                 for key, value in session.info.items() if key != _PAGE_SOURCES}
        try:
            # The writer works in Core on this connection, so a Connection-level SAVEPOINT
            # is enough (and much cheaper than the Session's, which flushes around it).
            with session.connection().begin_nested():
                yield
        except BaseException:
            session.info.clear()
            session.info.update(noted)  # the page's look-up is dropped: it may be stale now
            raise

    def write_page(self, session: Session, connection_id: uuid.UUID,
                   records: Sequence[SourceRecordData], now: datetime) -> list[Outcome]:
        """Write a page's records (after ``prefetch``) as one ``write`` after another would.

        The plainly new people's customers, source records, parts and profiles are
        written first, one statement per table for all of them; every other record then
        goes through ``write``, in page order. Nothing a record reads can tell the two
        orders apart (see ``_new_people``): a later record finds the new people stored,
        as it would have, and no earlier one written in its turn could have met them.
        """
        new = self._new_people(session, connection_id, records)
        if new:
            self._write_new_people(session, connection_id,
                                   [(records[i], person) for i, person in new.items()], now)
        return [Outcome.CREATED if i in new else self.write(session, connection_id, rec, now)
                for i, rec in enumerate(records)]

    def _new_people(self, session: Session, connection_id: uuid.UUID,
                    records: Sequence[SourceRecordData]) -> dict[int, PagePerson]:
        """The records (by position) that only make a new person's customer, and the person.

        Such a record has a person and nothing else to write (no ``person_ref``, order,
        interaction or feedback; not a deletion), its identity is not stored (the
        page's look-up says so) nor named earlier on the page, its contact points and
        times are valid, and the resolver calls the person NEW. And no earlier record
        of the page that is written in its turn may make a customer: a customer's id
        grows with its creation and breaks the tie between customers made on the same
        page (the oldest is matched first), so the new people's customers, made ahead
        of the page, must be the first customers it makes.
        """
        if not isinstance(self.resolver, PageResolver):
            return {}
        page = session.info.get(_PAGE_SOURCES)
        stored = page[1] if page is not None and page[0] == connection_id else {}
        named: set[tuple[str, str]] = set()
        plain: dict[int, PagePerson] = {}
        people: list[PagePerson] = []
        for i, rec in enumerate(records):
            key = (rec.object_type, rec.external_id)
            simple = (key in stored and stored[key] is None and key not in named
                      and rec.person_ref is None and not rec.deleted and rec.order is None
                      and rec.interaction is None and rec.feedback is None)
            named.add(key)
            if rec.person_ref is not None:
                named.add(rec.person_ref)
            if rec.person is None:
                continue
            try:
                points = contact_points.usable(rec.person)
                _check_aware(rec)
            except MappingError:
                # Written (and failed) in its turn; it has no usable contact point to share.
                continue
            identity = SourceIdentity(connection_id, rec.object_type, rec.external_id)
            people.append(PagePerson(identity, rec.person, points))
            if simple:
                plain[i] = people[-1]
        if not plain:
            return {}
        matches = dict(zip(map(id, people), self.resolver.resolve_page(session, people),
                           strict=True))
        new: dict[int, PagePerson] = {}
        for i, rec in enumerate(records):
            person = plain.get(i)
            if person is not None and matches[id(person)] is PageMatch.NEW:
                new[i] = person
            elif _may_make_customer(rec, stored):
                break
        return new

    def _write_new_people(self, session: Session, connection_id: uuid.UUID,
                          new: Sequence[tuple[SourceRecordData, PagePerson]],
                          now: datetime) -> None:
        """What ``write`` does for each of these records, one statement per table for all."""
        db = session.connection()
        customer_rows: list[dict[str, Any]] = []
        source_rows: list[dict[str, Any]] = []
        parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        written: list[PersonWritten] = []
        for rec, new_person in new:
            person, points, identity = new_person.person, new_person.points, new_person.source
            customer = people.new_customer(now, person, points)
            payload = json_safe(rec.payload)
            source_id = new_id()
            customer_rows.append(customer)
            source_rows.append({
                "id": source_id, **identity.columns(), "customer_id": customer["id"],
                "payload": payload, "payload_hash": payload_hash(payload),
                "source_updated_at": rec.source_updated_at, "first_seen_at": now,
                "last_seen_at": now, "deleted_at": None,
            })
            for table, rows in people.fresh_parts(customer["id"], source_id, person, points,
                                                  now).items():
                parts[table] += rows
            written.append(PersonWritten(customer["id"], source_id, person,
                                         rec.source_updated_at or now))
            _forget(session, identity)
        people.insert_customers(db, customer_rows)
        insert_rows(db, sources, source_rows)
        people.insert_parts(db, parts)
        resolver: PageResolver = self.resolver  # type: ignore[assignment] - see _new_people
        resolver.people_written(db, written, now)
        for person in written:
            note_written(session, person.customer_id, True, connection_id, now)

    def write(self, session: Session, connection_id: uuid.UUID, rec: SourceRecordData,
              now: datetime) -> Outcome:
        _check_aware(rec)
        payload = json_safe(rec.payload)
        digest = payload_hash(payload)
        identity = SourceIdentity(connection_id, rec.object_type, rec.external_id)
        # Core statements on the session's connection, in program order (see people.py).
        db = session.connection()
        stored, prefetched = _stored(session, identity)
        _forget(session, identity)  # whatever happens next, the next look-up reads it again
        if stored is None:
            values = {
                "id": new_id(), **identity.columns(), "customer_id": None, "payload": payload,
                "payload_hash": digest, "source_updated_at": rec.source_updated_at,
                "first_seen_at": now, "last_seen_at": now, "deleted_at": None,
            }
            if rec.deleted:
                # Kept so that an older copy arriving later cannot bring the record back.
                db.execute(_INSERT_SOURCE, {**values, "deleted_at": now})
                return Outcome.DELETED
            self._write(session, identity.with_id(values["id"]), None, values, rec, now)
            return Outcome.CREATED

        if _older(rec.source_updated_at, stored.source_updated_at):
            return Outcome.UNCHANGED
        newer = {"source_updated_at": rec.source_updated_at} if rec.source_updated_at else {}
        if rec.deleted:
            if stored.deleted_at is not None:
                return Outcome.UNCHANGED
            db.execute(update(sources).where(sources.c.id == stored.id)
                       .values(deleted_at=now, last_seen_at=now, **newer))
            return Outcome.DELETED
        if stored.deleted_at is None and stored.payload_hash == digest:
            return Outcome.UNCHANGED

        values = {"payload": payload, "payload_hash": digest, "last_seen_at": now,
                  "deleted_at": None, **newer}
        if prefetched:  # its customer may have changed since the page was looked up
            stored = db.execute(_SOURCE, identity.params()).one()
        self._write(session, identity.with_id(stored.id), stored, values, rec, now)
        # A placeholder only knew the id: this is the first time the record itself is stored.
        return Outcome.CREATED if stored.payload_hash == PLACEHOLDER_HASH else Outcome.UPDATED

    def _write(self, session: Session, identity: SourceIdentity, stored: Row[Any] | None,
               values: dict[str, Any], rec: SourceRecordData, now: datetime) -> None:
        """Write the source record (``values``; ``stored`` is None when it is new) and its parts.

        The customer is settled first, then the source record, then the parts that
        point at both: statements run in this order, so foreign keys always hold.
        """
        db = session.connection()
        first_write = stored is None
        customer_id = stored.customer_id if stored is not None else None
        if rec.person_ref is not None:
            customer_id = self._customer_of_ref(session, identity.connection_id,
                                                rec.person_ref, now)
        customer, fresh, points = None, False, []
        written: uuid.UUID | None = None
        if rec.person is not None:
            points = contact_points.usable(rec.person)
            was_placeholder = stored is not None and stored.payload_hash == PLACEHOLDER_HASH
            customer_id = self._customer_for_person(
                session, identity, rec.person, customer_id,
                follow_ref=rec.person_ref is not None, was_placeholder=was_placeholder,
            )
            if customer_id is None:
                customer, fresh = people.insert_customer(db, now, rec.person, points), True
                customer_id = customer["id"]
            else:
                customer = people.load_customer(db, customer_id)
        if first_write:
            db.execute(_INSERT_SOURCE, {**values, "customer_id": customer_id})
        else:
            if customer_id != stored.customer_id:
                values["customer_id"] = customer_id
            db.execute(update(sources).where(sources.c.id == identity.id).values(**values))

        if customer is not None and customer["status"] is not CustomerStatus.ERASED:
            people.apply_person(db, customer, identity.id, rec.person, points, now,
                                first_write=first_write, fresh=fresh)
            written = customer_id
            self.resolver.person_written(db, customer_id, identity.id, rec.person,
                                         rec.source_updated_at or now, now, fresh=fresh)
        if rec.order is not None:
            activity.write_order(db, identity.id, rec.order, customer_id,
                                 rec.source_updated_at or now, first_write)
        if rec.interaction is not None:
            activity.write_interaction(db, identity.id, rec.interaction,
                                       _required(customer_id, rec), first_write)
            if first_write:
                self.on_new_interaction(db, customer_id, identity.id, rec.interaction, now)
        if rec.feedback is not None:
            activity.write_feedback(db, identity.id, rec.feedback,
                                    _required(customer_id, rec), first_write)
        if written is not None:  # the record is written whole: its customer's event is due
            note_written(session, written, fresh, identity.connection_id, now)

    def _customer_for_person(self, session: Session, identity: SourceIdentity,
                             person: PersonData, linked: uuid.UUID | None, *,
                             follow_ref: bool, was_placeholder: bool) -> uuid.UUID | None:
        """The customer this person is, or None when they are new to the hub.

        ``linked`` is the customer the record already belongs to (its own, or the
        one its ``person_ref`` names): a linked identity keeps its customer, except
        that a placeholder's may turn out to be someone the hub already knows.
        """
        if linked is not None and (follow_ref or not was_placeholder):
            return _surviving(session, linked)
        match = self.resolver.resolve_customer(session, person, identity)
        if linked is None:
            return None if match is None else _surviving(session, match)
        if match is None or match == linked:
            return _surviving(session, linked)
        absorb_placeholder(session, linked, match)
        session.info.pop(_PAGE_SOURCES, None)  # records of the placeholder changed customer
        return _surviving(session, match)

    def _customer_of_ref(self, session: Session, connection_id: uuid.UUID,
                         ref: tuple[str, str], now: datetime) -> uuid.UUID:
        """The customer of the record a ``person_ref`` names, a placeholder if not seen yet."""
        named = SourceIdentity(connection_id, *ref)
        db = session.connection()
        row, prefetched = _stored(session, named)
        if prefetched and row is not None:  # its customer is read fresh
            row = db.execute(_SOURCE, named.params()).one_or_none()
        _forget(session, named)
        if row is not None and row.customer_id is not None:
            return _surviving(session, row.customer_id)
        customer_id = people.insert_customer(db, now)["id"]
        if row is None:
            db.execute(_INSERT_SOURCE, {
                "id": new_id(), **named.columns(), "customer_id": customer_id, "payload": {},
                "payload_hash": PLACEHOLDER_HASH, "first_seen_at": now, "last_seen_at": now,
            })
        else:
            db.execute(update(sources).where(sources.c.id == row.id)
                       .values(customer_id=customer_id))
        return customer_id


def _stored(session: Session, identity: SourceIdentity) -> tuple[Row[Any] | None, bool]:
    """The stored source record (None: not stored), and whether it came from ``prefetch``."""
    page = session.info.get(_PAGE_SOURCES)
    key = (identity.object_type, identity.external_id)
    if page is not None and page[0] == identity.connection_id and key in page[1]:
        return page[1][key], True
    return session.connection().execute(_SOURCE, identity.params()).one_or_none(), False


def _may_make_customer(rec: SourceRecordData, stored: dict[tuple[str, str], Any]) -> bool:
    """Whether ``write`` may make a customer for this record: a person or a ``person_ref``
    whose identity the page's look-up does not show linked to a customer."""
    def unlinked(key: tuple[str, str]) -> bool:
        row = stored.get(key)
        return row is None or row.customer_id is None

    if rec.deleted:
        return False
    if rec.person_ref is not None:
        return unlinked(rec.person_ref)
    return rec.person is not None and unlinked((rec.object_type, rec.external_id))


def _forget(session: Session, identity: SourceIdentity) -> None:
    page = session.info.get(_PAGE_SOURCES)
    if page is not None:
        page[1].pop((identity.object_type, identity.external_id), None)


def _surviving(session: Session, customer_id: uuid.UUID) -> uuid.UUID:
    """The customer itself, or the one it was merged into (followed to the end)."""
    seen = set()
    while customer_id not in seen:
        seen.add(customer_id)
        row = session.connection().execute(_MERGED_INTO, {"id": customer_id}).one()
        if row.status is not CustomerStatus.MERGED or row.merged_into_id is None:
            break
        customer_id = row.merged_into_id
    return customer_id


def _required(customer_id: uuid.UUID | None, rec: SourceRecordData) -> uuid.UUID:
    if customer_id is None:
        raise MappingError(
            f"{rec.object_type} {rec.external_id}: needs a person or a person_ref to belong to"
        )
    return customer_id


def _older(incoming: datetime | None, stored: datetime | None) -> bool:
    return incoming is not None and stored is not None and incoming < stored


def _check_aware(rec: SourceRecordData) -> None:
    stamps: list[tuple[str, datetime | None]] = [("source_updated_at", rec.source_updated_at)]
    if rec.order is not None:
        stamps += [("order.placed_at", rec.order.placed_at),
                   ("order.cancelled_at", rec.order.cancelled_at)]
    if rec.interaction is not None:
        stamps.append(("interaction.occurred_at", rec.interaction.occurred_at))
    if rec.feedback is not None:
        stamps.append(("feedback.occurred_at", rec.feedback.occurred_at))
    if rec.person is not None:
        stamps += [("consent.recorded_at", c.recorded_at) for c in rec.person.consents]
    for name, stamp in stamps:
        if stamp is not None and stamp.tzinfo is None:
            raise MappingError(f"{name} {stamp.isoformat()} has no time zone")
