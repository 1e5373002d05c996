"""Webhook deliveries: HMAC on the raw body, the envelope headers, and what each topic means."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.base import SignatureError, hmac_base64
from connectors.shopify.webhooks import HANDLED_TOPICS, PRIVACY_REQUEST
from hub.models.enums import OrderStatus
from hub.sync.records import MappingError
from tests.connectors.shopify.conftest import CONFIG, SHOP, WEBHOOK_SECRET, payload

TRIGGERED = "2026-11-23T12:00:00.000000Z"
AT = datetime(2026, 11, 23, 12, tzinfo=UTC)

# Shopify's documented example bodies of the mandatory privacy topics.
DATA_REQUEST = {
    "shop_id": 954889,
    "shop_domain": SHOP,
    "orders_requested": [299938, 280263, 220458],
    "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
    "data_request": {"id": 9999},
}
CUSTOMER_REDACT = {
    "shop_id": 954889,
    "shop_domain": SHOP,
    "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
    "orders_to_redact": [299938, 280263, 220458],
}
SHOP_REDACT = {"shop_id": 954889, "shop_domain": SHOP}


def raw(data) -> bytes:
    return json.dumps(data).encode()


def signed_headers(body: bytes, topic: str, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_base64(secret, body),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": TRIGGERED,
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    }


def test_a_signed_delivery_verifies_and_names_its_event(connector):
    body = raw(payload("customer_john.json"))
    headers = signed_headers(body, "customers/update")
    connector.verify_webhook(headers, body, WEBHOOK_SECRET)
    connector.verify_webhook({k.lower(): v for k, v in headers.items()}, body, WEBHOOK_SECRET)
    delivery = connector.webhook_delivery(headers, CONFIG)
    assert (delivery.event_id, delivery.topic, delivery.shop_domain, delivery.api_version) == (
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "customers/update",
        SHOP,
        "2026-10",
    )
    assert delivery.triggered_at == AT
    (record,) = connector.events_from_webhook(delivery.topic, body, delivery.triggered_at)
    assert (record.object_type, record.external_id) == ("customer", "112223902")
    assert record.person.tags == ("Buyer", "Canadian")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers, secret: (body.replace(b"Smith", b"Smyth"), headers, secret),
        lambda body, headers, secret: (body + b" ", headers, secret),
        lambda body, headers, secret: (body, headers, "shpss_another_apps_secret"),
        lambda body, headers, secret: (body, {**headers, "X-Shopify-Hmac-Sha256": ""}, secret),
        lambda body, headers, secret: (
            body,
            {k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"},
            secret,
        ),
        lambda body, headers, secret: (body, headers, ""),  # no secret configured
        lambda body, headers, secret: (body, headers, None),
    ],
)
def test_a_tampered_or_unsigned_delivery_is_refused(connector, tamper):
    body = raw(payload("customer_john.json"))
    body, headers, secret = tamper(body, signed_headers(body, "customers/update"), WEBHOOK_SECRET)
    with pytest.raises(SignatureError):
        connector.verify_webhook(headers, body, secret)


def test_a_delivery_needs_its_id_and_topic_and_this_connections_shop(connector):
    headers = signed_headers(b"{}", "customers/update")
    for missing in ("X-Shopify-Webhook-Id", "X-Shopify-Topic"):
        with pytest.raises(SignatureError, match=missing):
            connector.webhook_delivery({k: v for k, v in headers.items() if k != missing})
    other_shop = {**headers, "X-Shopify-Shop-Domain": "someone-else.myshopify.com"}
    assert connector.webhook_delivery(other_shop).shop_domain == "someone-else.myshopify.com"
    with pytest.raises(SignatureError, match="someone-else"):
        connector.webhook_delivery(other_shop, CONFIG)
    odd = {**headers, "X-Shopify-Triggered-At": "soon"}
    assert connector.webhook_delivery(odd).triggered_at is None


@pytest.mark.parametrize(
    "topic", ["customers/create", "customers/update", "customers/enable", "customers/disable"]
)
def test_customer_topics_map_like_the_stream(connector, topic):
    (record,) = connector.events_from_webhook(topic, raw(payload("customer_bob.json")))
    assert (record.object_type, record.external_id, record.deleted) == (
        "customer",
        "207119551",
        False,
    )
    assert record.person.given_name == "Bob"


@pytest.mark.parametrize(
    "topic",
    [
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/fulfilled",
        "orders/partially_fulfilled",
    ],
)
def test_order_topics_map_like_the_stream(connector, topic):
    (record,) = connector.events_from_webhook(topic, payload("order_1001.json"))
    assert (record.object_type, record.external_id) == ("order", "450789469")
    assert record.person_ref == ("customer", "207119551")


def test_a_cancelled_order(connector):
    cancelled = {
        **payload("order_1002.json"),
        "cancelled_at": "2008-01-11T09:00:00-05:00",
        "cancel_reason": "customer",
    }
    (record,) = connector.events_from_webhook("orders/cancelled", raw(cancelled))
    assert record.order.status is OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("topic", "object_type"), [("customers/delete", "customer"), ("orders/delete", "order")]
)
def test_deletes_are_tombstones_dated_by_the_delivery(connector, topic, object_type):
    (record,) = connector.events_from_webhook(topic, b'{"id":207119551}', AT)
    assert (record.object_type, record.external_id, record.deleted) == (
        object_type,
        "207119551",
        True,
    )
    assert (record.source_updated_at, record.payload) == (AT, {"id": 207119551})


def test_a_data_request_becomes_a_privacy_request(connector):
    (record,) = connector.events_from_webhook("customers/data_request", raw(DATA_REQUEST), AT)
    assert (record.object_type, record.external_id) == (
        PRIVACY_REQUEST,
        "customers/data_request:9999",
    )
    assert record.payload == {"topic": "customers/data_request", "request": DATA_REQUEST}
    assert record.person_ref == ("customer", "191167")
    assert (record.person, record.deleted, record.source_updated_at) == (None, False, AT)


def test_a_customer_redact_tombstones_the_customer_and_orders_then_asks_for_erasure(connector):
    records = connector.events_from_webhook("customers/redact", raw(CUSTOMER_REDACT), AT)
    assert [(r.object_type, r.external_id, r.deleted) for r in records] == [
        ("customer", "191167", True),
        ("order", "299938", True),
        ("order", "280263", True),
        ("order", "220458", True),
        (PRIVACY_REQUEST, "customers/redact:191167", False),
    ]
    assert records[-1].payload["topic"] == "customers/redact"
    assert records[-1].person_ref == ("customer", "191167")
    assert all(r.source_updated_at == AT for r in records)


def test_a_redact_naming_the_customer_by_email_only_is_kept(connector):
    body = {**CUSTOMER_REDACT, "customer": {"email": "john@example.com"}, "orders_to_redact": []}
    (record,) = connector.events_from_webhook("customers/redact", raw(body))
    assert record.object_type == PRIVACY_REQUEST
    assert record.external_id.startswith("customers/redact:") and record.person_ref is None
    again = connector.events_from_webhook("customers/redact", raw(body))
    assert again[0].external_id == record.external_id  # a redelivery is the same request


def test_a_shop_redact_asks_to_erase_the_whole_connection(connector):
    (record,) = connector.events_from_webhook("shop/redact", raw(SHOP_REDACT), AT)
    assert (record.object_type, record.external_id, record.person_ref) == (
        PRIVACY_REQUEST,
        "shop/redact:954889",
        None,
    )
    assert record.payload == {"topic": "shop/redact", "request": SHOP_REDACT}


def test_other_topics_mean_nothing_to_the_hub(connector):
    assert connector.events_from_webhook("products/update", b'{"id": 1}') == []
    assert {"customers/data_request", "customers/redact", "shop/redact"} <= set(HANDLED_TOPICS)


@pytest.mark.parametrize(
    ("topic", "body", "message"),
    [
        ("customers/update", b"<html>", "customers/update webhook: the body is not JSON"),
        ("customers/update", b"[1, 2]", "the body is not a JSON object"),
        ("customers/update", b'{"first_name": "Bob"}', "has no id"),
        ("customers/delete", b"{}", "customers/delete webhook: the body has no id"),
        ("orders/delete", b'{"id": "x1"}', "'x1' is not a Shopify id"),
        (
            "customers/data_request",
            raw({**DATA_REQUEST, "data_request": {}}),
            "data_request.id is missing",
        ),
        (
            "customers/redact",
            raw({**CUSTOMER_REDACT, "customer": {}}),
            "the customer is not identified",
        ),
        (
            "customers/redact",
            raw({**CUSTOMER_REDACT, "orders_to_redact": "299938"}),
            "orders_to_redact must be a list",
        ),
        ("shop/redact", b"{}", "neither shop_id nor shop_domain"),
    ],
)
def test_malformed_deliveries_raise_a_clear_mapping_error(connector, topic, body, message):
    with pytest.raises(MappingError) as caught:
        connector.events_from_webhook(topic, body)
    assert message in str(caught.value)
