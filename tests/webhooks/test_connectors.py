"""The real connectors behind /webhooks: each platform's signature, URL check and records."""

from __future__ import annotations

import json
import uuid
import zlib
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import hmac_base64, hmac_hex
from hub.models import SourceRecord
from hub.sync.inbox import Result, process_event
from tests.connectors.shopify.conftest import payload
from tests.webhooks.conftest import KEYS
from tests.webhooks.deliveries import new_connection, stored

SHOP = "acme-webhooks.myshopify.com"
SHOPIFY_SECRET = "shpss_webhooks_0123456789abcdef"
MAILCHIMP_SECRET = "mc_webhooks_6d1a9988db2f4c1e"


def records(engine, connection_id: uuid.UUID) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(SourceRecord.object_type, SourceRecord.external_id)
            .where(SourceRecord.connection_id == connection_id)
        )
        return sorted((kind, external_id) for kind, external_id in rows)


# -- Shopify -------------------------------------------------------------------------------


def shopify_connection(engine) -> uuid.UUID:
    return new_connection(engine, KEYS, connector="shopify", config={"shop_domain": SHOP},
                          credentials={"access_token": "shpat_x", "webhook_secret": SHOPIFY_SECRET})


def shopify_headers(raw: bytes, *, secret: str = SHOPIFY_SECRET, shop: str = SHOP,
                    webhook_id: str = "b54557e4-0000-4b37-8a5f-bf7d70bcd043") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "customers/update",
        "X-Shopify-Hmac-Sha256": hmac_base64(secret, raw),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Triggered-At": "2026-11-23T12:00:00.000000Z",
    }


async def test_shopify_delivery_is_verified_stored_once_and_processed(hub, engine):
    connection = shopify_connection(engine)
    customer = payload("customer_john.json")
    raw = json.dumps(customer).encode()

    first = await hub.post(connection, raw, shopify_headers(raw))
    again = await hub.post(connection, raw, shopify_headers(raw))

    assert (first.json(), again.json()) == ({"status": "accepted"}, {"status": "duplicate"})
    [event] = stored(engine, connection)
    assert (event.provider_event_id, event.topic) == ("b54557e4-0000-4b37-8a5f-bf7d70bcd043",
                                                      "customers/update")
    assert "x-shopify-hmac-sha256" not in event.headers
    assert process_event(engine, event.id) is Result.PROCESSED
    assert records(engine, connection) == [("customer", str(customer["id"]))]


async def test_shopify_refuses_a_bad_signature_and_another_shops_delivery(hub, engine):
    connection = shopify_connection(engine)
    raw = json.dumps(payload("customer_john.json")).encode()
    forged = await hub.post(connection, raw, shopify_headers(raw, secret="shpss_forged"))
    # Genuinely signed by the same app, but for another shop: not this connection's.
    elsewhere = await hub.post(connection, raw, shopify_headers(raw, shop="other.myshopify.com"))
    assert (forged.status_code, elsewhere.status_code) == (401, 401)
    assert stored(engine, connection) == []


# -- Mailchimp ------------------------------------------------------------------------------


def mailchimp_connection(engine) -> uuid.UUID:
    return new_connection(engine, KEYS, connector="mailchimp",
                          credentials={"api_key": "0123456789abcdef-us6",
                                       "webhook_secret": MAILCHIMP_SECRET})


def subscribe_form(email: str) -> bytes:
    return urlencode({
        "type": "subscribe", "fired_at": "2026-03-26 21:35:57", "data[id]": "8a25ff1d98",
        "data[list_id]": "a6b5da1054", "data[email]": email, "data[merges][FNAME]": "Mailchimp",
    }).encode()


async def test_mailchimp_trusts_the_secret_in_the_url(hub, engine, ns):
    connection = mailchimp_connection(engine)
    raw = subscribe_form(f"member@{ns}.test")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    assert (await hub.post(connection, raw, form)).status_code == 401
    assert (await hub.post(connection, raw, form, query="?secret=guess")).status_code == 401
    accepted = await hub.post(connection, raw, form, query=f"?secret={MAILCHIMP_SECRET}")
    again = await hub.post(connection, raw, form, query=f"?secret={MAILCHIMP_SECRET}")

    assert (accepted.json(), again.json()) == ({"status": "accepted"}, {"status": "duplicate"})
    [event] = stored(engine, connection)
    assert event.topic == "subscribe" and MAILCHIMP_SECRET not in repr(event.headers)
    assert process_event(engine, event.id) is Result.PROCESSED
    assert [kind for kind, _ in records(engine, connection)] == ["member", "webhook_event"]


async def test_mailchimp_url_check(hub, engine):
    connection = mailchimp_connection(engine)
    ping = await hub.get(connection, f"?secret={MAILCHIMP_SECRET}")
    assert (ping.status_code, ping.text) == (200, "")
    assert (await hub.get(connection, "?secret=guess")).status_code == 401


# -- Facebook -------------------------------------------------------------------------------

PAGE = "104816398587521"
APP_SECRET = "fb_app_secret_webhooks_0123"
VERIFY_TOKEN = "fb_verify_webhooks_4567"


def facebook_connection(engine) -> uuid.UUID:
    return new_connection(engine, KEYS, connector="facebook", config={"page_id": PAGE},
                          credentials={"page_access_token": "EAAB", "app_secret": APP_SECRET,
                                       "verify_token": VERIFY_TOKEN})


def message_delivery(ns: str) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1627034000000,
        "messaging": [{"sender": {"id": str(zlib.crc32(ns.encode()))},
                       "recipient": {"id": PAGE}, "timestamp": 1627033848000,
                       "message": {"mid": f"m_{ns}", "text": "Hello?"}}]}]}).encode()


async def test_facebook_delivery_is_checked_with_the_app_secret(hub, engine, ns):
    connection = facebook_connection(engine)
    raw = message_delivery(ns)
    good = {"Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac_hex(APP_SECRET, raw)}
    forged = {**good, "X-Hub-Signature-256": "sha256=" + hmac_hex("another app", raw)}

    assert (await hub.post(connection, raw, forged)).status_code == 401
    assert (await hub.post(connection, raw, {"Content-Type": "application/json"})).status_code \
        == 401
    assert (await hub.post(connection, raw, good)).json() == {"status": "accepted"}
    assert (await hub.post(connection, raw, good)).json() == {"status": "duplicate"}

    [event] = stored(engine, connection)
    assert event.provider_event_id == f"message:m_{ns}" and event.topic == "messages"
    assert "x-hub-signature-256" not in event.headers
    assert process_event(engine, event.id) is Result.PROCESSED
    assert ("message", f"m_{ns}") in records(engine, connection)


async def test_facebook_subscription_handshake(hub, engine):
    connection = facebook_connection(engine)
    query = f"?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    answer = await hub.get(connection, query)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    wrong = "?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444"
    assert (await hub.get(connection, wrong)).status_code == 401
