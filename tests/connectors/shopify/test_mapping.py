"""Customers and orders in the canonical model's words; malformed records fail clearly."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from connectors.shopify.mapping import customer_record, order_record, split_tags, tombstone
from hub.models.enums import (
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    FinancialStatus,
    FulfillmentStatus,
    OrderStatus,
)
from hub.sync.records import MappingError
from tests.connectors.shopify.conftest import payload

EDT, EST = timezone(timedelta(hours=-4)), timezone(timedelta(hours=-5))


def test_a_customer_becomes_a_person():
    bob = customer_record(payload("customer_bob.json"))
    assert (bob.object_type, bob.external_id, bob.deleted) == ("customer", "207119551", False)
    assert bob.source_updated_at == datetime(2015, 5, 27, 18, 11, 24, tzinfo=EDT)
    person = bob.person
    assert (person.given_name, person.family_name) == ("Bob", "Norman")
    assert [(p.kind, p.value, p.label, p.is_primary) for p in person.contact_points] == [
        (ContactPointKind.EMAIL, "bob.norman@hostmail.com", None, True),
        # Passed raw: E.164 is the sync writer's job, helped by the address's country.
        (ContactPointKind.PHONE, "555-625-1199", "address", False),
    ]
    (address,) = person.addresses
    assert (
        address.line1,
        address.line2,
        address.city,
        address.region,
        address.postal_code,
        address.country,
        address.is_primary,
    ) == ("Chestnut Street 92", None, "Louisville", "Kentucky", "40202", "US", True)
    assert person.tags == ()
    assert person.consents == ()  # not_subscribed: never asked, so no decision to record
    assert person.attributes == {
        "shopify": {
            "state": "disabled",
            "verified_email": True,
            "orders_count": 1,
            "total_spent": "41.94",
        }
    }
    assert bob.payload is not None and bob.payload["id"] == 207119551


def test_tags_are_split_from_the_comma_string_and_consent_is_evidenced():
    john = customer_record(payload("customer_john.json"))
    assert john.person.tags == ("Buyer", "Canadian")
    assert john.person.addresses[0].country == "CA"
    (consent,) = john.person.consents
    assert (consent.purpose, consent.status, consent.source) == (
        ConsentPurpose.MARKETING_EMAIL,
        ConsentStatus.GRANTED,
        "shopify",
    )
    assert consent.recorded_at == datetime(2013, 3, 5, 17, 0, 5, tzinfo=EST)
    assert consent.evidence == {
        "field": "email_marketing_consent",
        "state": "subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2013-03-05T17:00:05-05:00",
    }


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("subscribed", ConsentStatus.GRANTED),
        ("pending", ConsentStatus.PENDING),
        ("unsubscribed", ConsentStatus.WITHDRAWN),
        ("redacted", ConsentStatus.WITHDRAWN),
        ("not_subscribed", None),
        ("invalid", None),
        ("some_future_state", None),
    ],
)
def test_email_marketing_states(state, status):
    raw = payload("customer_john.json")
    raw["email_marketing_consent"] = {
        "state": state,
        "opt_in_level": None,
        "consent_updated_at": None,
    }
    consents = customer_record(raw).person.consents
    assert [c.status for c in consents] == ([status] if status else [])
    if status:  # undated consent: dated by the customer's last change
        assert consents[0].recorded_at == datetime(2013, 3, 5, 17, 0, 5, tzinfo=EST)


@pytest.mark.parametrize(
    ("value", "tags"),
    [
        ("", ()),
        (None, ()),
        ("VIP", ("VIP",)),
        (" a , ,b,a ", ("a", "b")),
        ("Léon, Noël", ("Léon", "Noël")),
    ],
)
def test_split_tags(value, tags):
    assert split_tags(value) == tags


def test_an_order_keeps_its_money_exact():
    record = order_record(payload("order_1001.json"))
    order = record.order
    assert (record.object_type, record.external_id) == ("order", "450789469")
    assert (order.number, order.currency) == ("#1001", "USD")
    amounts = (
        order.total,
        order.subtotal,
        order.tax_total,
        order.discount_total,
        order.shipping_total,
    )
    assert all(type(amount) is Decimal for amount in amounts)
    assert [str(a) for a in amounts] == ["598.94", "597.00", "11.94", "10.00", "0.00"]
    assert (order.status, order.financial_status, order.fulfillment_status) == (
        OrderStatus.OPEN,
        FinancialStatus.PARTIALLY_REFUNDED,
        FulfillmentStatus.UNFULFILLED,
    )
    assert order.placed_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert [
        (line.title, line.sku, line.quantity, line.unit_price, line.total) for line in order.lines
    ] == [
        ("IPod Nano - 8gb - green", "IPOD2008GREEN", 1, Decimal("199.00"), Decimal("199.00")),
        ("IPod Nano - 8gb - red", "IPOD2008RED", 1, Decimal("199.00"), Decimal("199.00")),
        ("IPod Nano - 8gb - black", "IPOD2008BLACK", 1, Decimal("199.00"), Decimal("199.00")),
    ]
    assert sum(line.total for line in order.lines) == Decimal("597.00")


def test_an_order_names_its_customer_and_describes_its_buyer():
    record = order_record(payload("order_1001.json"))
    assert record.person_ref == ("customer", "207119551")
    buyer = record.person
    assert (buyer.given_name, buyer.family_name) == ("Bob", "Norman")
    assert [(p.kind, p.value) for p in buyer.contact_points] == [
        (ContactPointKind.EMAIL, "bob.norman@hostmail.com"),
        (ContactPointKind.PHONE, "+16136120707"),
        (ContactPointKind.PHONE, "+557734881234"),
    ]
    (billing,) = buyer.addresses
    assert (billing.label, billing.country, billing.city) == ("billing", "US", "Louisville")
    assert buyer.consents == () and buyer.attributes == {}


def test_order_statuses_and_shipping_from_shipping_lines():
    raw = payload("order_1002.json")
    order = order_record(raw).order
    assert (order.number, order.financial_status) == ("#1002", FinancialStatus.AUTHORIZED)
    assert order.shipping_total == Decimal("0.00")
    raw["shipping_lines"] = [{"price": "4.99"}, {"price": "10.01"}]
    assert order_record(raw).order.shipping_total == Decimal("15.00")
    cancelled = {
        **raw,
        "cancelled_at": "2008-01-11T09:00:00-05:00",
        "cancel_reason": "customer",
        "financial_status": "voided",
        "closed_at": "2008-01-11T09:00:00-05:00",
    }
    order = order_record(cancelled).order
    assert (order.status, order.financial_status) == (OrderStatus.CANCELLED, FinancialStatus.VOIDED)
    assert order.cancelled_at == datetime(2008, 1, 11, 14, 0, tzinfo=UTC)
    closed = {
        **raw,
        "closed_at": "2008-01-12T09:00:00-05:00",
        "financial_status": "paid",
        "fulfillment_status": "fulfilled",
    }
    order = order_record(closed).order
    assert (order.status, order.financial_status, order.fulfillment_status) == (
        OrderStatus.CLOSED,
        FinancialStatus.PAID,
        FulfillmentStatus.FULFILLED,
    )
    for shopify, canonical in [
        ("partial", FulfillmentStatus.PARTIAL),
        ("restocked", FulfillmentStatus.UNFULFILLED),
    ]:
        assert (
            order_record({**raw, "fulfillment_status": shopify}).order.fulfillment_status
            == canonical
        )


def test_line_discounts_come_off_the_line_total():
    raw = payload("order_1002.json")
    raw["line_items"][0]["discount_allocations"] = [{"amount": "19.90"}, {"amount": "0.10"}]
    raw["line_items"][1]["quantity"] = 3
    raw["line_items"][1]["total_discount"] = "0.01"
    lines = order_record(raw).order.lines
    assert [line.total for line in lines] == [
        Decimal("179.00"),
        Decimal("596.99"),
        Decimal("199.00"),
    ]


def test_guest_and_anonymous_orders():
    raw = payload("order_1002.json")
    del raw["customer"]
    guest = order_record(raw)
    assert guest.person_ref is None
    assert guest.person.contact_points[0].value == "bob.norman@hostmail.com"
    anonymous = {k: v for k, v in raw.items() if k not in ("email", "billing_address")}
    assert order_record(anonymous).person is None


def test_tombstones_carry_only_the_id():
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    gone = tombstone("customer", 207119551, {"id": 207119551}, at)
    assert (gone.object_type, gone.external_id, gone.deleted) == ("customer", "207119551", True)
    assert (gone.person, gone.source_updated_at) == (None, at)


def broken(name, change):
    raw = copy.deepcopy(payload(name))
    change(raw)
    return raw


@pytest.mark.parametrize(
    ("mapper", "raw", "message"),
    [
        (customer_record, ["not", "an", "object"], "expected a JSON object, got list"),
        (customer_record, broken("customer_bob.json", lambda r: r.pop("id")), "has no id"),
        (
            customer_record,
            broken("customer_bob.json", lambda r: r.update(id="abc")),
            "'abc' is not a Shopify id",
        ),
        (
            customer_record,
            broken("customer_bob.json", lambda r: r.update(tags=["a"])),
            "customer 207119551: tags must be a comma-separated string",
        ),
        (
            customer_record,
            broken("customer_bob.json", lambda r: r.update(updated_at="2015-05-27 18:11")),
            "customer 207119551: updated_at '2015-05-27 18:11' has no UTC offset",
        ),
        (
            customer_record,
            broken("customer_bob.json", lambda r: r["addresses"][0].update(country_code="USA")),
            "country_code 'USA' is not an ISO 3166-1 code",
        ),
        (
            customer_record,
            broken("customer_bob.json", lambda r: r.update(email_marketing_consent="yes")),
            "email_marketing_consent must be an object",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.update(total_price="598,94")),
            "order 450789469: total_price '598,94' is not an amount",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.pop("total_price")),
            "order 450789469: total_price is missing",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.update(total_tax="NaN")),
            "total_tax 'NaN' is not an amount",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.pop("currency")),
            "currency is missing",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.update(financial_status="owed")),
            "unknown financial_status 'owed'",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r["line_items"][1].update(quantity="1")),
            "line_items[1]: quantity must be a whole number",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.update(line_items={"a": 1})),
            "line_items must be a list",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.update(processed_at="yesterday")),
            "processed_at/created_at 'yesterday' is not an ISO 8601 timestamp",
        ),
        (
            order_record,
            broken("order_1001.json", lambda r: r.update(customer="Bob")),
            "customer must be an object",
        ),
    ],
)
def test_malformed_records_raise_a_clear_mapping_error(mapper, raw, message):
    with pytest.raises(MappingError, match="^shopify") as caught:
        mapper(raw)
    assert message in str(caught.value)


def test_a_json_number_amount_is_read_from_its_text():
    raw = payload("order_1001.json")
    raw["total_price"] = 598.94  # a float in the JSON: its shortest text, not its binary value
    assert order_record(raw).order.total == Decimal("598.94")
