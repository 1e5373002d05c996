"""A toy platform for the sync tests: raw records, its mapping, pages, and a digest of the result.

Raw records look like a small shop's API: ``{"type": "customer", "id": "c1",
"email": ..., "updated_at": ...}`` and ``{"type": "order", "customer": "c1",
...}``. E-mail domains carry a namespace so that tests sharing one database
never match each other's customers; ``digest`` takes the namespace out again
so that two runs in different namespaces can be compared.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.models import (
    Address,
    Connection,
    ContactPoint,
    Customer,
    CustomerTag,
    Order,
    OrderLine,
    SourceRecord,
)
from hub.models.enums import ContactPointKind, OrderStatus
from hub.sync.records import (
    AddressData,
    ContactPointData,
    MappingError,
    OrderData,
    OrderLineData,
    PersonData,
    SourceRecordData,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Page:
    records: list[dict[str, Any]]
    bookmark: dict[str, Any] | None


def new_connection(engine: Engine, prefix: str = "sync-test") -> uuid.UUID:
    with Session(engine) as session, session.begin():
        connection = Connection(name=f"{prefix}-{uuid.uuid4().hex[:10]}", connector="toyshop")
        session.add(connection)
        session.flush()
        return connection.id


def phone_prefix(ns: str) -> str:
    """A UK mobile range of the namespace's own: tests must not match each other by phone."""
    return f"7{zlib.crc32(ns.encode()) % 100_000:05d}"


def phone(ns: str, n: int) -> str:
    """The customer's phone as the platform shows it; E.164 is the same without spaces."""
    return f"+44 {phone_prefix(ns)} {n:04d}"


def customer(ns: str, n: int, *, version: int = 0, **extra: Any) -> dict[str, Any]:
    raw = {
        "type": "customer", "id": f"c{n}", "first": f"Given{n}", "last": f"Family{n}",
        "email": f"person{n}@{ns}.test", "phone": phone(ns, n), "country": "DE",
        "city": f"City{n % 7}", "tags": [f"t{n % 3}"], "updated_at": _at(n + version),
    }
    return raw | extra


def order(ns: str, n: int, customer_n: int, *, version: int = 0, lines: int = 2) -> dict[str, Any]:
    return {
        "type": "order", "id": f"o{n}", "customer": f"c{customer_n}", "number": f"#{1000 + n}",
        "currency": "eur", "updated_at": _at(n + version),
        "lines": [{"sku": f"sku-{n}-{i}", "title": f"Item {i}", "qty": i + 1, "price": "9.99"}
                  for i in range(lines)],
    }


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def map_record(raw: dict[str, Any]) -> SourceRecordData:
    """The toy platform's stream mapping (what a connector's mapping.py would be)."""
    kind = raw["type"]
    updated = datetime.fromisoformat(raw["updated_at"]) if raw.get("updated_at") else None
    common = {"external_id": str(raw["id"]), "payload": raw, "source_updated_at": updated,
              "deleted": bool(raw.get("deleted"))}
    if kind == "customer":
        points = []
        if raw.get("email"):
            points.append(ContactPointData(ContactPointKind.EMAIL, raw["email"], "personal", True))
        if raw.get("phone"):
            points.append(ContactPointData(ContactPointKind.PHONE, raw["phone"], "mobile", True))
        addresses = ()
        if raw.get("city"):
            addresses = (AddressData(line1=f"{raw['id']} Street 1", city=raw["city"],
                                     country=raw.get("country"), is_primary=True),)
        person = PersonData(given_name=raw.get("first"), family_name=raw.get("last"),
                            contact_points=tuple(points), addresses=addresses,
                            tags=tuple(raw.get("tags", ())))
        return SourceRecordData(object_type="customer", person=person, **common)
    if kind == "order":
        lines = tuple(
            OrderLineData(title=line["title"], quantity=line["qty"],
                          unit_price=Decimal(line["price"]),
                          total=Decimal(line["price"]) * line["qty"], sku=line["sku"])
            for line in raw["lines"]
        )
        subtotal = sum((line.total for line in lines), Decimal(0))
        data = OrderData(number=raw["number"], currency=raw["currency"], placed_at=T0,
                         total=subtotal, subtotal=subtotal, lines=lines, status=OrderStatus.OPEN)
        return SourceRecordData(object_type="order", person_ref=("customer", raw["customer"]),
                                order=data, **common)
    raise MappingError(f"unknown record type {kind!r}")


def pages_of(records: list[dict[str, Any]], size: int, start: int = 0) -> Iterator[Page]:
    """Pages of ``size`` records from position ``start``; the bookmark is the next position."""
    for offset in range(start, len(records), size):
        chunk = records[offset:offset + size]
        yield Page(chunk, {"position": offset + len(chunk)})


def generated(ns: str, count: int) -> list[dict[str, Any]]:
    """A deterministic stream: mostly new customers, every 10th an update of an earlier one."""
    records = []
    for i in range(count):
        if i % 10 == 9:
            records.append(customer(ns, i - 5, version=i, city=f"Moved{i}"))
        else:
            records.append(customer(ns, i))
    return records


def digest(engine: Engine, connection_id: uuid.UUID, ns: str = "", *, exact: bool = False) -> str:
    """A fingerprint of everything a connection's records put into the canonical model.

    ``exact`` includes ids, timestamps and versions (same database, same rows);
    otherwise only content, with the namespace replaced, so different runs compare.
    """
    lines_out: list[str] = []

    def add(*values: Any) -> None:
        text = repr(values)
        if ns:
            text = text.replace(ns, "NS").replace(phone_prefix(ns), "7PHONE")
        lines_out.append(text)

    with Session(engine) as session:
        sources = session.scalars(
            select(SourceRecord).where(SourceRecord.connection_id == connection_id)
        ).all()
        ours = select(SourceRecord.customer_id).where(SourceRecord.connection_id == connection_id)
        first_identity: dict[Any, tuple[str, str]] = {}
        for s in sorted(sources, key=lambda s: (s.object_type, s.external_id)):
            first_identity.setdefault(s.customer_id, (s.object_type, s.external_id))
        label = {cid: (cid if exact else f"customer:{first_identity[cid]}")
                 for cid in first_identity if cid is not None}
        source_label = {s.id: (s.id if exact else (s.object_type, s.external_id)) for s in sources}
        for s in sources:
            add("source", s.object_type, s.external_id, label.get(s.customer_id),
                s.payload_hash if exact else sorted(s.payload.items()), s.deleted_at is not None,
                *((s.id, s.first_seen_at, s.last_seen_at, s.deleted_at) if exact else ()))
        for c in session.scalars(select(Customer).where(Customer.id.in_(ours))):
            add("customer", label[c.id], c.kind, c.given_name, c.family_name, c.display_name,
                c.sort_name, c.search_text, c.status,
                *((c.created_at, c.updated_at, c.version) if exact else ()))
        for row in session.scalars(select(ContactPoint).where(ContactPoint.customer_id.in_(ours))):
            add("contact", label[row.customer_id], row.kind, row.raw_value, row.normalised_value,
                row.label, row.is_primary, source_label.get(row.source_record_id),
                *((row.id,) if exact else ()))
        for row in session.scalars(select(Address).where(Address.customer_id.in_(ours))):
            add("address", label[row.customer_id], row.line1, row.city, row.country,
                source_label.get(row.source_record_id), *((row.id,) if exact else ()))
        for row in session.scalars(select(CustomerTag).where(CustomerTag.customer_id.in_(ours))):
            add("tag", label[row.customer_id], row.tag)
        for o in session.scalars(select(Order).join(
                SourceRecord, SourceRecord.id == Order.source_record_id).where(
                SourceRecord.connection_id == connection_id)):
            add("order", source_label[o.source_record_id], label.get(o.customer_id), o.number,
                o.currency, o.total, o.subtotal, *((o.id, o.updated_at) if exact else ()))
        lines = session.execute(select(OrderLine, Order.source_record_id).join(
            Order, Order.id == OrderLine.order_id).join(
            SourceRecord, SourceRecord.id == Order.source_record_id).where(
            SourceRecord.connection_id == connection_id))
        for line, source_id in lines:
            add("line", source_label[source_id], line.position, line.sku, line.quantity,
                line.unit_price, line.total, *((line.id,) if exact else ()))
    return hashlib.sha256("\n".join(sorted(lines_out)).encode()).hexdigest()
