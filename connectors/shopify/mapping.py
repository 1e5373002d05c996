"""Shopify Admin REST customers and orders in the canonical model's words.

Money stays the decimal string Shopify sends, read as ``Decimal`` (never a
float); timestamps keep their offset; phones pass through raw (the sync
writer normalises them to E.164, helped by the addresses' ISO countries).
Anything that cannot be read raises ``MappingError`` naming the record and
the field, and the sync engine dead-letters that record with its payload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.models.enums import (
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    FinancialStatus,
    FulfillmentStatus,
    OrderStatus,
)
from hub.sync.records import (
    AddressData,
    ConsentData,
    ContactPointData,
    MappingError,
    OrderData,
    OrderLineData,
    PersonData,
    SourceRecordData,
)

log = logging.getLogger(__name__)

SOURCE = "shopify"
CUSTOMER = "customer"
ORDER = "order"

# email_marketing_consent.state -> consent status. "not_subscribed" (never asked) and
# "invalid" (an undeliverable address) record no decision, so they map to no consent at all:
# a customer who was simply never asked must not override an opt-in given elsewhere.
_CONSENT_STATUS = {
    "subscribed": ConsentStatus.GRANTED,
    "pending": ConsentStatus.PENDING,
    "unsubscribed": ConsentStatus.WITHDRAWN,
    "redacted": ConsentStatus.WITHDRAWN,
}
_NO_CONSENT_DECISION = {"not_subscribed", "invalid"}

_FINANCIAL_STATUS = {
    None: FinancialStatus.PENDING,
    "pending": FinancialStatus.PENDING,
    "partially_paid": FinancialStatus.PENDING,
    "authorized": FinancialStatus.AUTHORIZED,
    "paid": FinancialStatus.PAID,
    "partially_refunded": FinancialStatus.PARTIALLY_REFUNDED,
    "refunded": FinancialStatus.REFUNDED,
    "voided": FinancialStatus.VOIDED,
    "expired": FinancialStatus.VOIDED,  # an authorisation that lapsed: nothing was captured
}
_FULFILLMENT_STATUS = {
    None: FulfillmentStatus.UNFULFILLED,
    "unfulfilled": FulfillmentStatus.UNFULFILLED,
    "restocked": FulfillmentStatus.UNFULFILLED,  # the items went back to stock, not to the buyer
    "partial": FulfillmentStatus.PARTIAL,
    "fulfilled": FulfillmentStatus.FULFILLED,
}


# -- customers --------------------------------------------------------------------------------


def customer_record(raw: Any) -> SourceRecordData:
    """A Shopify customer (REST resource or customers/* webhook body) as a person record."""
    record = _object(raw, CUSTOMER)
    external_id = _external_id(record, CUSTOMER)
    what = f"shopify customer {external_id}"
    updated_at = _moment(record.get("updated_at"), "updated_at", what)
    addresses = _customer_addresses(record, what)
    person = PersonData(
        given_name=_text(record.get("first_name")),
        family_name=_text(record.get("last_name")),
        contact_points=_customer_contact_points(record),
        addresses=addresses,
        tags=split_tags(record.get("tags"), what),
        consents=_email_consent(record.get("email_marketing_consent"), updated_at, what),
        attributes=_customer_attributes(record),
    )
    return SourceRecordData(
        object_type=CUSTOMER,
        external_id=external_id,
        payload=record,
        source_updated_at=updated_at,
        person=person,
    )


def tombstone(
    object_type: str, raw_id: Any, payload: dict[str, Any], at: datetime | None = None
) -> SourceRecordData:
    """A deletion: Shopify's delete and redact payloads carry only ids."""
    external_id = _id_text(raw_id, f"shopify {object_type} id")
    return SourceRecordData(
        object_type=object_type,
        external_id=external_id,
        payload=payload,
        source_updated_at=at,
        deleted=True,
    )


def split_tags(value: Any, what: str = "shopify customer") -> tuple[str, ...]:
    """Shopify's ``"Buyer, Canadian"`` as ``("Buyer", "Canadian")``, order kept, no blanks."""
    if value is None:
        return ()
    if not isinstance(value, str):
        raise MappingError(f"{what}: tags must be a comma-separated string, got {value!r}")
    return tuple(dict.fromkeys(tag.strip() for tag in value.split(",") if tag.strip()))


def _customer_contact_points(record: dict[str, Any]) -> tuple[ContactPointData, ...]:
    points = []
    email, phone = _text(record.get("email")), _text(record.get("phone"))
    if email:
        points.append(ContactPointData(ContactPointKind.EMAIL, email, None, True))
    if phone:
        points.append(ContactPointData(ContactPointKind.PHONE, phone, None, True))
    default = record.get("default_address")
    address_phone = _text(default.get("phone")) if isinstance(default, dict) else None
    if address_phone and address_phone != phone:
        points.append(ContactPointData(ContactPointKind.PHONE, address_phone, "address", False))
    return tuple(points)


def _customer_addresses(record: dict[str, Any], what: str) -> tuple[AddressData, ...]:
    raw = record.get("addresses")
    if raw is None:
        raw = [record["default_address"]] if record.get("default_address") else []
    if not isinstance(raw, list):
        raise MappingError(f"{what}: addresses must be a list, got {type(raw).__name__}")
    found: dict[Any, AddressData] = {}
    for position, item in enumerate(raw):
        address = _address(item, f"{what} address {position}", None)
        if address is not None:
            key = item.get("id", position) if isinstance(item, dict) else position
            found.setdefault(key, address)
    return tuple(found.values())


def _address(raw: Any, what: str, label: str | None) -> AddressData | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise MappingError(f"{what}: expected an object, got {type(raw).__name__}")
    country = _text(raw.get("country_code"))
    if country is not None:
        country = country.upper()
        if len(country) != 2 or not country.isalpha():
            raise MappingError(f"{what}: country_code {country!r} is not an ISO 3166-1 code")
    address = AddressData(
        line1=_text(raw.get("address1")),
        line2=_text(raw.get("address2")),
        city=_text(raw.get("city")),
        region=_text(raw.get("province")) or _text(raw.get("province_code")),
        postal_code=_text(raw.get("zip")),
        country=country,
        label=label,
        is_primary=bool(raw.get("default")),
    )
    parts = (address.line1, address.line2, address.city, address.postal_code, address.country)
    return address if any(parts) else None


def _email_consent(raw: Any, updated_at: datetime | None, what: str) -> tuple[ConsentData, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise MappingError(f"{what}: email_marketing_consent must be an object, got {raw!r}")
    state = raw.get("state")
    if not isinstance(state, str):
        raise MappingError(f"{what}: email_marketing_consent.state is missing")
    if state in _NO_CONSENT_DECISION:
        return ()
    status = _CONSENT_STATUS.get(state)
    if status is None:
        # A state newer than this mapping: record nothing rather than guess its meaning.
        log.warning("%s: unknown email_marketing_consent.state %r ignored", what, state)
        return ()
    when = (
        _moment(raw.get("consent_updated_at"), "email_marketing_consent.consent_updated_at", what)
        or updated_at
    )
    if when is None:
        raise MappingError(
            f"{what}: email_marketing_consent has no consent_updated_at "
            "and the customer no updated_at to date it by"
        )
    evidence = {
        "field": "email_marketing_consent",
        "state": state,
        "opt_in_level": raw.get("opt_in_level"),
        "consent_updated_at": raw.get("consent_updated_at"),
    }
    return (ConsentData(ConsentPurpose.MARKETING_EMAIL, status, when, SOURCE, evidence),)


def _customer_attributes(record: dict[str, Any]) -> dict[str, Any]:
    kept = ("state", "verified_email", "orders_count", "total_spent", "currency")
    shopify = {key: record[key] for key in kept if record.get(key) is not None}
    return {"shopify": shopify} if shopify else {}


# -- orders -----------------------------------------------------------------------------------


def order_record(raw: Any) -> SourceRecordData:
    """A Shopify order (REST resource or orders/* webhook body) with its lines and buyer."""
    record = _object(raw, ORDER)
    external_id = _external_id(record, ORDER)
    what = f"shopify order {external_id}"
    currency = _text(record.get("currency"))
    if currency is None:
        raise MappingError(f"{what}: currency is missing")
    placed_at = _moment(
        record.get("processed_at") or record.get("created_at"), "processed_at/created_at", what
    )
    if placed_at is None:
        raise MappingError(f"{what}: has neither processed_at nor created_at")
    cancelled_at = _moment(record.get("cancelled_at"), "cancelled_at", what)
    closed_at = _moment(record.get("closed_at"), "closed_at", what)
    order = OrderData(
        number=_text(record.get("name"))
        or _id_text(record.get("order_number") or external_id, f"{what} order_number"),
        currency=currency.upper(),
        placed_at=placed_at,
        total=_money(record.get("total_price"), "total_price", what, required=True),
        subtotal=_money(record.get("subtotal_price"), "subtotal_price", what),
        discount_total=_money(record.get("total_discounts"), "total_discounts", what),
        tax_total=_money(record.get("total_tax"), "total_tax", what),
        shipping_total=_shipping_total(record, what),
        status=_order_status(cancelled_at, closed_at),
        financial_status=_status(
            _FINANCIAL_STATUS, record.get("financial_status"), "financial_status", what
        ),
        fulfillment_status=_status(
            _FULFILLMENT_STATUS, record.get("fulfillment_status"), "fulfillment_status", what
        ),
        cancelled_at=cancelled_at,
        lines=_lines(record.get("line_items"), what),
    )
    customer = record.get("customer")
    if customer is not None and not isinstance(customer, dict):
        raise MappingError(f"{what}: customer must be an object, got {type(customer).__name__}")
    customer_id = customer.get("id") if customer else None
    person_ref = None
    if customer_id is not None:
        person_ref = (CUSTOMER, _id_text(customer_id, f"{what} customer.id"))
    return SourceRecordData(
        object_type=ORDER,
        external_id=external_id,
        payload=record,
        source_updated_at=_moment(record.get("updated_at"), "updated_at", what),
        person=_buyer(record, customer or {}, what),
        person_ref=person_ref,
        order=order,
    )


def _order_status(cancelled_at: datetime | None, closed_at: datetime | None) -> OrderStatus:
    if cancelled_at is not None:
        return OrderStatus.CANCELLED  # a cancelled order is closed too: cancellation wins
    return OrderStatus.CLOSED if closed_at is not None else OrderStatus.OPEN


def _lines(raw: Any, what: str) -> tuple[OrderLineData, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MappingError(f"{what}: line_items must be a list, got {type(raw).__name__}")
    lines = []
    for position, item in enumerate(raw):
        where = f"{what} line_items[{position}]"
        if not isinstance(item, dict):
            raise MappingError(f"{where}: expected an object, got {type(item).__name__}")
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise MappingError(f"{where}: quantity must be a whole number, got {quantity!r}")
        unit_price = _money(item.get("price"), "price", where, required=True)
        title = _text(item.get("name")) or _text(item.get("title"))
        if title is None:
            raise MappingError(f"{where}: has neither name nor title")
        lines.append(
            OrderLineData(
                title=title,
                quantity=quantity,
                unit_price=unit_price,
                total=unit_price * quantity - _line_discount(item, where),
                sku=_text(item.get("sku")),
            )
        )
    return tuple(lines)


def _line_discount(item: dict[str, Any], where: str) -> Decimal:
    allocations = item.get("discount_allocations")
    if isinstance(allocations, list) and allocations:
        amounts = [a.get("amount") if isinstance(a, dict) else a for a in allocations]
        return sum((_money(v, "discount_allocations.amount", where) for v in amounts), Decimal(0))
    return _money(item.get("total_discount"), "total_discount", where)


def _shipping_total(record: dict[str, Any], what: str) -> Decimal:
    shipping_set = record.get("total_shipping_price_set")
    shop_money = shipping_set.get("shop_money") if isinstance(shipping_set, dict) else None
    if isinstance(shop_money, dict) and shop_money.get("amount") is not None:
        return _money(shop_money["amount"], "total_shipping_price_set", what)
    lines = record.get("shipping_lines") or []
    if not isinstance(lines, list):
        raise MappingError(f"{what}: shipping_lines must be a list")
    return sum(
        (
            _money(line.get("price"), "shipping_lines.price", what)
            for line in lines
            if isinstance(line, dict)
        ),
        Decimal(0),
    )


def _buyer(record: dict[str, Any], customer: dict[str, Any], what: str) -> PersonData | None:
    """Who placed the order, as the order shows them; None for an anonymous order."""
    billing = record.get("billing_address")
    if billing is not None and not isinstance(billing, dict):
        raise MappingError(f"{what}: billing_address must be an object")
    billing = billing or {}
    emails = _unique(
        _text(v) for v in (customer.get("email"), record.get("email"), record.get("contact_email"))
    )
    phones = _unique(_text(v) for v in (customer.get("phone"), record.get("phone")))
    points = [
        ContactPointData(ContactPointKind.EMAIL, e, None, i == 0) for i, e in enumerate(emails)
    ]
    points += [
        ContactPointData(ContactPointKind.PHONE, p, None, i == 0) for i, p in enumerate(phones)
    ]
    # Only the billing address is the buyer's own: a shipping address may be a gift recipient's.
    address = _address(billing, f"{what} billing_address", "billing") if billing else None
    person = PersonData(
        given_name=_text(customer.get("first_name")) or _text(billing.get("first_name")),
        family_name=_text(customer.get("last_name")) or _text(billing.get("last_name")),
        contact_points=tuple(points),
        addresses=(address,) if address else (),
    )
    if not (person.given_name or person.family_name or person.contact_points or person.addresses):
        return None
    return person


# -- readers ----------------------------------------------------------------------------------


def _object(raw: Any, kind: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MappingError(f"shopify {kind}: expected a JSON object, got {type(raw).__name__}")
    return raw


def _external_id(record: dict[str, Any], kind: str) -> str:
    if record.get("id") is None:
        raise MappingError(f"shopify {kind}: the record has no id")
    return _id_text(record["id"], f"shopify {kind} id")


def _id_text(value: Any, what: str) -> str:
    """Shopify ids are positive integers (sent as JSON numbers, sometimes as strings)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MappingError(f"{what}: {value!r} is not a Shopify id")
    text = str(value).strip()
    if not text.isdigit():
        raise MappingError(f"{what}: {value!r} is not a Shopify id")
    return text


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _moment(value: Any, field: str, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"{what}: {field} must be an ISO 8601 string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MappingError(f"{what}: {field} {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise MappingError(f"{what}: {field} {value!r} has no UTC offset")
    return moment


def _money(value: Any, field: str, what: str, *, required: bool = False) -> Decimal:
    """Shopify's decimal strings ("598.94") exactly; an absent optional amount is zero."""
    if value is None or value == "":
        if required:
            raise MappingError(f"{what}: {field} is missing")
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MappingError(f"{what}: {field} {value!r} is not an amount")
    try:
        amount = Decimal(str(value).strip())  # str() of a JSON float is its shortest exact text
    except InvalidOperation:
        raise MappingError(f"{what}: {field} {value!r} is not an amount") from None
    if not amount.is_finite():
        raise MappingError(f"{what}: {field} {value!r} is not an amount")
    return amount


def _status(table: dict[Any, Any], value: Any, field: str, what: str) -> Any:
    try:
        return table[value]
    except (KeyError, TypeError):
        known = ", ".join(sorted(k for k in table if k))
        raise MappingError(f"{what}: unknown {field} {value!r} (known: {known})") from None
