"""Shopify webhook deliveries: who sent them, what they mean for the hub.

Verification: ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw
body keyed with the app's client secret (a webhook created in the store admin
uses the signing key shown there instead). Check it on the raw bytes before
parsing. Deliveries are at least once: ``X-Shopify-Webhook-Id`` is the event
id the inbox dedupes on. An app secret signs the deliveries of every shop the
app is installed in, so the inbox must also check ``X-Shopify-Shop-Domain``
against the connection (``delivery(headers, shop_domain=...)`` does).

What each topic becomes (``events_from_webhook``):

=========================================  =========================================
customers/create, update, enable, disable  the customer, mapped as the stream maps it
customers/delete                           a customer tombstone (the body is ``{"id"}``)
orders/create, updated, cancelled, paid,   the order, mapped as the stream maps it
fulfilled, partially_fulfilled
orders/delete                              an order tombstone
customers/data_request                     a ``privacy_request`` record: the hub opens a
                                           data-subject access request (export)
customers/redact                           tombstones for the customer and every order
                                           named, then a ``privacy_request`` record: the
                                           hub erases them
shop/redact                                a ``privacy_request`` record: the hub erases
                                           everything this connection brought in
=========================================  =========================================

A tombstone only marks the source record deleted (the canonical parts stay
for audit); erasure is the ``privacy_request`` record's job. Its payload is
``{"topic": ..., "request": <the body as sent>}`` and its ``person_ref`` names
the customer when the body gives an id. Other topics map to nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import Headers, SignatureError, verify_hmac
from connectors.base.credentials import SecretLike, reveal
from connectors.shopify.mapping import (
    CUSTOMER,
    ORDER,
    customer_record,
    order_record,
    tombstone,
)
from hub.sync.records import MappingError, SourceRecordData

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
API_VERSION_HEADER = "X-Shopify-API-Version"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"

PRIVACY_REQUEST = "privacy_request"

CUSTOMER_TOPICS = ("customers/create", "customers/update", "customers/enable", "customers/disable")
ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/fulfilled",
    "orders/partially_fulfilled",
)
DELETE_TOPICS = {"customers/delete": CUSTOMER, "orders/delete": ORDER}
PRIVACY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


def verify(headers: Mapping[str, str], body: bytes, secret: SecretLike) -> None:
    """Raise SignatureError unless ``body`` carries Shopify's HMAC for ``secret``."""
    if not reveal(secret):
        raise SignatureError("no webhook secret is configured for this connection")
    verify_hmac(secret, body, Headers.of(headers).get(HMAC_HEADER), "base64")


@dataclass(frozen=True)
class Delivery:
    """The envelope of one delivery, from its headers."""

    event_id: str
    topic: str
    shop_domain: str | None
    api_version: str | None
    triggered_at: datetime | None


def delivery(headers: Mapping[str, str], *, shop_domain: str | None = None) -> Delivery:
    """Read the delivery headers; with ``shop_domain``, refuse another shop's delivery."""
    headers = Headers.of(headers)
    event_id = (headers.get(WEBHOOK_ID_HEADER) or "").strip()
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    if not event_id or not topic:
        missing = [h for h, v in ((WEBHOOK_ID_HEADER, event_id), (TOPIC_HEADER, topic)) if not v]
        raise SignatureError(f"not a Shopify delivery: {' and '.join(missing)} missing")
    shop = (headers.get(SHOP_HEADER) or "").strip().lower() or None
    if shop_domain is not None and shop != shop_domain.lower():
        raise SignatureError(f"delivery for shop {shop!r}, not this connection's {shop_domain!r}")
    return Delivery(
        event_id=event_id,
        topic=topic,
        shop_domain=shop,
        api_version=headers.get(API_VERSION_HEADER),
        triggered_at=_triggered_at(headers.get(TRIGGERED_AT_HEADER)),
    )


def _triggered_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None  # informative only: a bad value must not cost the delivery
    return moment if moment.tzinfo else None


def events_from_webhook(
    topic: str, body: bytes | str | Mapping[str, Any], *, triggered_at: datetime | None = None
) -> list[SourceRecordData]:
    """The records a delivery means (see the table above); [] for a topic the hub ignores.

    ``triggered_at`` (from ``Delivery``) dates tombstones and privacy requests,
    whose bodies carry no time, so a late, older copy cannot undo them.
    """
    handler = _HANDLERS.get(topic)
    if handler is None:
        return []
    return handler(topic, _body(topic, body), triggered_at)


def _body(topic: str, body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise MappingError(f"shopify {topic} webhook: the body is not JSON ({error})") from None
    if not isinstance(body, Mapping):
        raise MappingError(f"shopify {topic} webhook: the body is not a JSON object")
    return dict(body)


def _upsert(mapper: Callable[[Any], SourceRecordData]) -> Handler:
    return lambda topic, body, at: [mapper(body)]


def _delete(topic: str, body: dict[str, Any], at: datetime | None) -> list[SourceRecordData]:
    if body.get("id") is None:
        raise MappingError(f"shopify {topic} webhook: the body has no id")
    return [tombstone(DELETE_TOPICS[topic], body["id"], body, at)]


def _data_request(topic: str, body: dict[str, Any], at: datetime | None) -> list[SourceRecordData]:
    _customer(topic, body)
    request = body.get("data_request")
    request_id = request.get("id") if isinstance(request, dict) else None
    if request_id is None:
        raise MappingError(f"shopify {topic} webhook: data_request.id is missing")
    return [_privacy_request(topic, str(request_id), body, at)]


def _customer_redact(
    topic: str, body: dict[str, Any], at: datetime | None
) -> list[SourceRecordData]:
    customer = _customer(topic, body)
    orders = body.get("orders_to_redact") or []
    if not isinstance(orders, list):
        raise MappingError(f"shopify {topic} webhook: orders_to_redact must be a list")
    records = []
    if customer.get("id") is not None:
        records.append(
            tombstone(CUSTOMER, customer["id"], {"id": customer["id"], "redacted_by": topic}, at)
        )
    records += [
        tombstone(ORDER, order_id, {"id": order_id, "redacted_by": topic}, at)
        for order_id in orders
    ]
    # Shopify may name the customer by e-mail only: key the request by its content then.
    key = str(customer["id"]) if customer.get("id") is not None else _digest(body)
    return [*records, _privacy_request(topic, key, body, at)]


def _shop_redact(topic: str, body: dict[str, Any], at: datetime | None) -> list[SourceRecordData]:
    shop = body.get("shop_id") or body.get("shop_domain")
    if shop is None:
        raise MappingError(f"shopify {topic} webhook: neither shop_id nor shop_domain is given")
    return [_privacy_request(topic, str(shop), body, at)]


def _customer(topic: str, body: dict[str, Any]) -> dict[str, Any]:
    customer = body.get("customer")
    if not isinstance(customer, dict) or not any(customer.get(k) for k in ("id", "email", "phone")):
        raise MappingError(f"shopify {topic} webhook: the customer is not identified")
    return customer


def _privacy_request(
    topic: str, key: str, body: dict[str, Any], at: datetime | None
) -> SourceRecordData:
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    customer_id = customer.get("id")
    return SourceRecordData(
        object_type=PRIVACY_REQUEST,
        external_id=f"{topic}:{key}",
        payload={"topic": topic, "request": body},
        source_updated_at=at,
        person_ref=(CUSTOMER, str(customer_id)) if customer_id is not None else None,
    )


def _digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


Handler = Callable[[str, dict[str, Any], datetime | None], list[SourceRecordData]]

_HANDLERS: dict[str, Handler] = {
    **{topic: _upsert(customer_record) for topic in CUSTOMER_TOPICS},
    **{topic: _upsert(order_record) for topic in ORDER_TOPICS},
    **{topic: _delete for topic in DELETE_TOPICS},
    "customers/data_request": _data_request,
    "customers/redact": _customer_redact,
    "shop/redact": _shop_redact,
}

HANDLED_TOPICS = tuple(_HANDLERS)
