"""What a connector hands the hub: records already mapped to the canonical model's words.

A stream's mapping turns one raw platform record into one ``SourceRecordData``:
the external identity (object type + external id), when the platform last
changed it, whether it is a deletion, and the canonical parts it carries. The
sync engine stores the raw payload with its hash for provenance and writes the
parts; identity resolution hooks in where a person's parts meet a customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from hub.models.enums import (
    Channel,
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    CustomerKind,
    Direction,
    FeedbackKind,
    FinancialStatus,
    FulfillmentStatus,
    InteractionKind,
    OrderStatus,
)


class MappingError(ValueError):
    """A record the mapping cannot understand; it goes to the dead-letter table with its payload."""


@dataclass(frozen=True)
class ContactPointData:
    kind: ContactPointKind
    value: str
    label: str | None = None
    is_primary: bool = False


@dataclass(frozen=True)
class AddressData:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    label: str | None = None
    is_primary: bool = False


@dataclass(frozen=True)
class ConsentData:
    purpose: ConsentPurpose
    status: ConsentStatus
    recorded_at: datetime
    source: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonData:
    """A person (or organisation) as one platform knows them."""

    kind: CustomerKind = CustomerKind.PERSON
    given_name: str | None = None
    family_name: str | None = None
    organization_name: str | None = None
    locale: str | None = None
    contact_points: tuple[ContactPointData, ...] = ()
    addresses: tuple[AddressData, ...] = ()
    tags: tuple[str, ...] = ()
    consents: tuple[ConsentData, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderLineData:
    title: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    sku: str | None = None


@dataclass(frozen=True)
class OrderData:
    number: str
    currency: str
    placed_at: datetime
    total: Decimal
    subtotal: Decimal = Decimal(0)
    discount_total: Decimal = Decimal(0)
    tax_total: Decimal = Decimal(0)
    shipping_total: Decimal = Decimal(0)
    status: OrderStatus = OrderStatus.OPEN
    financial_status: FinancialStatus = FinancialStatus.PENDING
    fulfillment_status: FulfillmentStatus = FulfillmentStatus.UNFULFILLED
    cancelled_at: datetime | None = None
    lines: tuple[OrderLineData, ...] = ()


@dataclass(frozen=True)
class InteractionData:
    channel: Channel
    kind: InteractionKind
    direction: Direction
    occurred_at: datetime
    subject: str | None = None
    body: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class FeedbackData:
    kind: FeedbackKind
    score: int
    scale_max: int
    channel: Channel
    occurred_at: datetime
    comment: str | None = None


@dataclass(frozen=True)
class SourceRecordData:
    """One external record, mapped.

    ``person`` describes who the record is about (for a customer record, the
    customer; for an order, its buyer as the order shows them). ``person_ref``
    instead points at another record of the same connection that is the person
    (e.g. an order's ``("customer", "123")``), when the record only names them.
    At most one of ``order``, ``interaction``, ``feedback`` is set.
    """

    object_type: str
    external_id: str
    payload: dict[str, Any]
    source_updated_at: datetime | None = None
    deleted: bool = False
    person: PersonData | None = None
    person_ref: tuple[str, str] | None = None
    order: OrderData | None = None
    interaction: InteractionData | None = None
    feedback: FeedbackData | None = None
