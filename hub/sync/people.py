"""Writing what one source says about a person onto their customer.

Contact points and addresses belong to the source record that brought them
(``source_record_id``): each source keeps its own set in step with its latest
payload, so a source dropping an e-mail removes only its own copy, and an
unmerge can hand every part back to the identity it came from. Tags and
consents carry no per-source ownership and are only ever added; names,
locale and attributes take the latest non-empty value.

Statements run in program order (SQLAlchemy Core): the models declare no
relationships, so the ORM's unit of work could not order these inserts by
foreign key, and a sync writes too many rows to flush them one by one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from hub.identity.normalise import fold
from hub.models import Address, Consent, ContactPoint, Customer, CustomerTag, new_id
from hub.models.enums import ContactPointKind, CustomerKind, CustomerStatus
from hub.sync.contact_points import NormalisedContactPoint
from hub.sync.copy import insert_rows
from hub.sync.records import AddressData, MappingError, PersonData

customers = Customer.__table__
points_t = ContactPoint.__table__
addresses_t = Address.__table__
tags_t = CustomerTag.__table__
consents_t = Consent.__table__

_SEARCHED = (ContactPointKind.EMAIL, ContactPointKind.PHONE)
_NAMES = ("given_name", "family_name", "organization_name", "locale")
_ADDRESS_FIELDS = ("label", "line1", "line2", "city", "region", "postal_code", "country",
                   "is_primary")

# What a person's record puts on their customer besides names, in foreign-key-safe order.
PARTS = (points_t, addresses_t, tags_t, consents_t)
_INSERT = {table.name: insert(table) for table in (customers, *PARTS)}
_CUSTOMER = select(customers).where(customers.c.id == bindparam("id"))
_POINTS_OF_SOURCE = select(points_t).where(points_t.c.source_record_id == bindparam("source"))
_ADDRESSES_OF_SOURCE = (
    select(addresses_t).where(addresses_t.c.source_record_id == bindparam("source"))
    .order_by(addresses_t.c.id)
)
_TAGS = select(tags_t.c.tag).where(tags_t.c.customer_id == bindparam("customer"))
_REACHABLE = (
    select(points_t.c.normalised_value)
    .where(points_t.c.customer_id == bindparam("customer"), points_t.c.kind.in_(_SEARCHED))
    .order_by(points_t.c.kind, points_t.c.normalised_value)
)
_CONSENT_KNOWN = select(consents_t.c.id).where(
    consents_t.c.customer_id == bindparam("customer"),
    consents_t.c.purpose == bindparam("purpose"),
    consents_t.c.status == bindparam("status"),
    consents_t.c.source == bindparam("source"),
    consents_t.c.recorded_at == bindparam("recorded_at"),
).limit(1)


def load_customer(db: Connection, customer_id: uuid.UUID) -> Mapping[str, Any]:
    return db.execute(_CUSTOMER, {"id": customer_id}).one()._mapping


def insert_customer(db: Connection, now: datetime, person: PersonData | None = None,
                    points: Sequence[NormalisedContactPoint] = ()) -> dict[str, Any]:
    """A new ACTIVE customer made from one person's data (or an empty placeholder); its row."""
    values = new_customer(now, person, points)
    db.execute(_INSERT[customers.name], values)
    return values


def insert_customers(db: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows made by ``new_customer``, in one statement (a ``COPY`` on PostgreSQL)."""
    insert_rows(db, customers, rows)


def new_customer(now: datetime, person: PersonData | None = None,
                 points: Sequence[NormalisedContactPoint] = ()) -> dict[str, Any]:
    """The row of a new ACTIVE customer made from one person's data (or of a placeholder)."""
    values: dict[str, Any] = {
        "id": new_id(), "kind": CustomerKind.PERSON, "status": CustomerStatus.ACTIVE,
        "given_name": None, "family_name": None, "organization_name": None, "locale": None,
        "attributes": {}, "created_at": now, "updated_at": now, "version": 1,
    }
    if person is not None:
        values |= _person_values(values, person)
    reachable = sorted({(p.data.kind.value, p.value) for p in points if p.data.kind in _SEARCHED})
    values |= _search_fields(values, [value for _, value in reachable])
    return values


def fresh_parts(customer_id: uuid.UUID, source_id: uuid.UUID, person: PersonData,
                points: Sequence[NormalisedContactPoint], now: datetime
                ) -> dict[str, list[dict[str, Any]]]:
    """The rows ``apply_person`` writes for a customer just made from ``person`` by its first
    source record (``fresh`` and ``first_write``), by table name, without writing them."""
    return {
        points_t.name: [_point_row(customer_id, source_id, point, now) for point in points],
        addresses_t.name: _address_rows(customer_id, source_id,
                                        [_address(a) for a in person.addresses], now),
        tags_t.name: _tag_rows(customer_id, _wanted_tags(person.tags), now),
        consents_t.name: _consent_rows(customer_id, person),
    }


def insert_parts(db: Connection, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Rows of ``fresh_parts`` (of one customer or many): one statement per table (a
    ``COPY`` on PostgreSQL)."""
    for table in PARTS:
        insert_rows(db, table, rows.get(table.name, ()))


def apply_person(db: Connection, customer: Mapping[str, Any], source_id: uuid.UUID,
                 person: PersonData, points: Sequence[NormalisedContactPoint], now: datetime,
                 *, first_write: bool, fresh: bool) -> None:
    """Bring the customer in step with ``person``.

    ``first_write``: the source record is new, so it owns no parts yet; ``fresh``: the
    customer was just made from this person by ``insert_customer``, so it has nothing else.
    """
    addresses = [_address(a) for a in person.addresses]
    customer_id = customer["id"]
    changes = {} if fresh else _person_values(customer, person)
    touched = _sync_contact_points(db, customer_id, source_id, points, now, first_write)
    touched |= _sync_addresses(db, customer_id, source_id, addresses, now, first_write)
    touched |= _add_tags(db, customer_id, person.tags, now, fresh)
    _add_consents(db, customer_id, person, fresh)
    if fresh:
        return
    reachable = db.scalars(_REACHABLE, {"customer": customer_id}).all()
    changes |= _changed(customer, _search_fields({**customer, **changes}, reachable))
    if changes or touched:
        # The version column is the ORM's optimistic lock: bump it as the ORM would.
        db.execute(
            update(customers).where(customers.c.id == customer_id)
            .values(**changes, updated_at=now, version=customers.c.version + 1)
        )


def _person_values(current: Mapping[str, Any], person: PersonData) -> dict[str, Any]:
    # A source that does not know a name says nothing about it: None never erases.
    wanted: dict[str, Any] = {"kind": person.kind}
    for name in _NAMES:
        value = getattr(person, name)
        if value is not None and value.strip():
            wanted[name] = value.strip()
    if person.attributes:
        wanted["attributes"] = {**(current["attributes"] or {}), **person.attributes}
    return _changed(current, wanted)


def _search_fields(customer: Mapping[str, Any], reachable: Sequence[str]) -> dict[str, str]:
    """display_name, sort_name and search_text, from names and e-mails and phones."""
    reachable = list(dict.fromkeys(reachable))
    given, family = customer["given_name"], customer["family_name"]
    org = customer["organization_name"]
    person_name = " ".join(filter(None, (given, family)))
    if customer["kind"] is CustomerKind.ORGANIZATION and org:
        display, sort_name = org, fold(org)
    elif person_name:
        display, sort_name = person_name, fold(" ".join(filter(None, (family, given))))
    else:
        display = org or (reachable[0] if reachable else "")
        sort_name = fold(display)
    search = fold(" ".join(filter(None, (given, family, org, *reachable))))
    return {"display_name": display, "sort_name": sort_name, "search_text": search}


def _sync_contact_points(db: Connection, customer_id: uuid.UUID, source_id: uuid.UUID,
                         points: Sequence[NormalisedContactPoint], now: datetime,
                         first_write: bool) -> bool:
    existing = {} if first_write else {
        (row.kind, row.normalised_value): row
        for row in db.execute(_POINTS_OF_SOURCE, {"source": source_id})
    }
    new_rows = []
    for point in points:
        row = existing.pop(point.key, None)
        if row is None:
            new_rows.append(_point_row(customer_id, source_id, point, now))
        elif changes := _changed(row._mapping, _point_values(customer_id, point)):
            db.execute(update(points_t).where(points_t.c.id == row.id).values(**changes))
    if existing:
        gone = [row.id for row in existing.values()]
        db.execute(delete(points_t).where(points_t.c.id.in_(gone)))
    if new_rows:
        db.execute(_INSERT[points_t.name], new_rows)
    return bool(new_rows or existing)


def _point_values(customer_id: uuid.UUID, point: NormalisedContactPoint) -> dict[str, Any]:
    return {"customer_id": customer_id, "raw_value": point.data.value.strip(),
            "label": point.data.label, "is_primary": point.data.is_primary}


def _point_row(customer_id: uuid.UUID, source_id: uuid.UUID, point: NormalisedContactPoint,
               now: datetime) -> dict[str, Any]:
    return {"id": new_id(), "kind": point.data.kind, "normalised_value": point.value,
            "source_record_id": source_id, "created_at": now,
            **_point_values(customer_id, point)}


def _address(data: AddressData) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in _ADDRESS_FIELDS}
    for name in _ADDRESS_FIELDS[:-1]:
        if isinstance(values[name], str):
            values[name] = values[name].strip() or None
    country = values["country"]
    if country is not None:
        if len(country) != 2 or not country.isalpha():
            raise MappingError(
                f"address country must be an ISO 3166-1 alpha-2 code, got {country!r}"
            )
        values["country"] = country.upper()
    return values


def _sync_addresses(db: Connection, customer_id: uuid.UUID, source_id: uuid.UUID,
                    addresses: list[dict[str, Any]], now: datetime, first_write: bool) -> bool:
    rows = [] if first_write else db.execute(
        _ADDRESSES_OF_SOURCE, {"source": source_id}
    ).all()
    wanted = [tuple(a[name] for name in _ADDRESS_FIELDS) for a in addresses]
    have = [tuple(getattr(row, name) for name in _ADDRESS_FIELDS) for row in rows]
    if wanted == have and all(row.customer_id == customer_id for row in rows):
        return False
    # Addresses have no identity of their own: the source's set is replaced as a whole.
    if rows:
        db.execute(delete(addresses_t).where(addresses_t.c.id.in_([r.id for r in rows])))
    if addresses:
        db.execute(_INSERT[addresses_t.name],
                   _address_rows(customer_id, source_id, addresses, now))
    return True


def _address_rows(customer_id: uuid.UUID, source_id: uuid.UUID,
                  addresses: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return [{"id": new_id(), "customer_id": customer_id, "source_record_id": source_id,
             "created_at": now, **values} for values in addresses]


def _add_tags(db: Connection, customer_id: uuid.UUID, tags: Sequence[str], now: datetime,
              fresh: bool) -> bool:
    wanted = _wanted_tags(tags)
    if not wanted:
        return False
    have = set() if fresh else set(db.scalars(_TAGS, {"customer": customer_id}))
    missing = [t for t in wanted if t not in have]
    if missing:
        db.execute(_INSERT[tags_t.name], _tag_rows(customer_id, missing, now))
    return bool(missing)


def _wanted_tags(tags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t.strip()[:100] for t in tags if t and t.strip()))


def _tag_rows(customer_id: uuid.UUID, tags: Sequence[str], now: datetime
              ) -> list[dict[str, Any]]:
    return [{"customer_id": customer_id, "tag": tag, "created_at": now} for tag in tags]


def _add_consents(db: Connection, customer_id: uuid.UUID, person: PersonData,
                  fresh: bool) -> None:
    def known(key: dict[str, Any]) -> bool:
        return not fresh and db.scalar(_CONSENT_KNOWN, key) is not None

    new_rows = _consent_rows(customer_id, person, known)
    if new_rows:
        db.execute(_INSERT[consents_t.name], new_rows)


def _consent_rows(customer_id: uuid.UUID, person: PersonData,
                  known: Callable[[dict[str, Any]], bool] = lambda _: False
                  ) -> list[dict[str, Any]]:
    # Consent is a history: a decision already recorded is not recorded twice.
    keys: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    for consent in person.consents:
        key = {"customer": customer_id, "purpose": consent.purpose, "status": consent.status,
               "source": consent.source, "recorded_at": consent.recorded_at}
        if key in keys or known(key):
            continue
        keys.append(key)
        new_rows.append({"id": new_id(), "customer_id": customer_id,
                         "purpose": consent.purpose, "status": consent.status,
                         "source": consent.source, "recorded_at": consent.recorded_at,
                         "evidence": dict(consent.evidence)})
    return new_rows


def _changed(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """Only what differs, so that an unchanged row is never written (nor its version bumped)."""
    return {name: value for name, value in wanted.items() if current[name] != value}
