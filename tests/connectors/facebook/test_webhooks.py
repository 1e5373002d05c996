"""Meta's subscription handshake, X-Hub-Signature-256, and deliveries as records.

Delivery bodies follow the documented shapes (Messenger "messages" and
"message_echoes" events; Page "feed" changes for comments), with the ids of the
recorded conversations and comments.
"""

from __future__ import annotations

import json

import pytest

from connectors.base import SignatureError, hmac_hex
from hub.models.enums import Direction, InteractionKind
from hub.sync.records import MappingError
from tests.connectors.facebook.conftest import APP_SECRET, DEV_PAGE, PAGE, VERIFY_TOKEN

KUN = "2711636948859886"
MESSAGES = {
    "object": "page",
    "entry": [
        {
            "id": PAGE,
            "time": 1627034000000,
            "messaging": [
                {
                    "sender": {"id": KUN},
                    "recipient": {"id": PAGE},
                    "timestamp": 1627033848000,
                    "message": {"mid": "m_ToF35NI1OImBjyUIgplSaBMylUFmkYY4", "text": "Hello?"},
                },
                {
                    "sender": {"id": PAGE},
                    "recipient": {"id": KUN},
                    "timestamp": 1627033900000,
                    "message": {
                        "mid": "m_echo42",
                        "is_echo": True,
                        "app_id": 1517776481860111,
                        "text": "Hi Kun!",
                    },
                },
                {
                    "sender": {"id": KUN},
                    "recipient": {"id": PAGE},
                    "timestamp": 1627033901000,
                    "read": {"watermark": 1627033900000},
                },
            ],
        }
    ],
}


def feed(*changes: dict) -> dict:
    return {
        "object": "page",
        "entry": [
            {
                "id": DEV_PAGE,
                "time": 1628628000,
                "changes": [{"field": "feed", "value": value} for value in changes],
            }
        ],
    }


COMMENT = {
    "from": {"id": "6100000000000001", "name": "Maria Silva"},
    "post_id": "19292868552_10158407654328553",
    "comment_id": "10158407654328553_10158407835073553",
    "parent_id": "19292868552_10158407654328553",
    "created_time": 1628621103,
    "item": "comment",
    "verb": "add",
    "message": "Boa noite peço ajuda",
}


def test_the_subscription_handshake_echoes_the_challenge(connector):
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    assert connector.verify_subscription(query, VERIFY_TOKEN) == "1158201444"
    for bad in (
        {**query, "hub.verify_token": "guess"},
        {**query, "hub.mode": "unsubscribe"},
        {k: v for k, v in query.items() if k != "hub.challenge"},
        {k: v for k, v in query.items() if k != "hub.verify_token"},
    ):
        with pytest.raises(SignatureError):
            connector.verify_subscription(bad, VERIFY_TOKEN)
    with pytest.raises(SignatureError):  # no verify token configured: nobody passes
        connector.verify_subscription({**query, "hub.verify_token": ""}, "")


def test_deliveries_must_carry_the_app_secrets_signature(connector):
    body = json.dumps(MESSAGES).encode()
    signature = "sha256=" + hmac_hex(APP_SECRET, body)
    connector.verify_webhook({"x-hub-signature-256": signature}, body, APP_SECRET)
    connector.verify_webhook(
        {"X-Hub-Signature-256": signature.upper().replace("SHA256=", "sha256=")}, body, APP_SECRET
    )
    for headers, raw in (
        ({"X-Hub-Signature-256": signature}, body + b" "),
        ({"X-Hub-Signature-256": "sha256=" + hmac_hex("another app", body)}, body),
        ({"X-Hub-Signature-256": signature[len("sha256=") :]}, body),
        ({"X-Hub-Signature": "sha1=" + hmac_hex(APP_SECRET, body, "sha1")}, body),
        ({}, body),
    ):
        with pytest.raises(SignatureError):
            connector.verify_webhook(headers, raw, APP_SECRET)
    with pytest.raises(SignatureError, match="no app secret"):
        connector.verify_webhook({"X-Hub-Signature-256": signature}, body, None)


def test_messages_become_message_interactions_with_their_mid_as_event_id(connector):
    events = connector.webhook_events(MESSAGES)
    assert [(e.provider_event_id, e.topic) for e in events] == [
        ("message:m_ToF35NI1OImBjyUIgplSaBMylUFmkYY4", "messages"),
        ("message:m_echo42", "messages"),
    ]  # the read receipt is not a message
    inbound, echo = (e.record for e in events)
    assert (inbound.object_type, inbound.external_id) == (
        "message",
        "m_ToF35NI1OImBjyUIgplSaBMylUFmkYY4",
    )
    assert inbound.interaction.direction is Direction.INBOUND
    assert inbound.interaction.body == "Hello?"
    assert inbound.person_ref == ("user", KUN)
    assert inbound.person.contact_points[0].value == f"facebook:{KUN}"
    assert inbound.source_updated_at.timestamp() == 1627033848
    assert echo.interaction.direction is Direction.OUTBOUND and echo.person_ref == ("user", KUN)
    assert connector.events_from_webhook(MESSAGES) == [inbound, echo]


def test_comment_changes_add_edit_and_remove_with_distinct_event_ids(connector):
    edited = {**COMMENT, "verb": "edited", "message": "Boa noite, peço ajuda!"}
    edited_again = {**edited, "message": "Resolvido, obrigado"}
    removed = {k: v for k, v in COMMENT.items() if k != "message"} | {"verb": "remove"}
    hidden = {**COMMENT, "verb": "hide"}
    like = {"item": "reaction", "verb": "add", "post_id": COMMENT["post_id"]}
    events = connector.webhook_events(feed(COMMENT, edited, edited_again, removed, hidden, like))
    ids = [e.provider_event_id for e in events]
    assert ids[0] == "comment:10158407654328553_10158407835073553:add:1628621103"
    assert ids[1].startswith("comment:10158407654328553_10158407835073553:edited:1628621103:")
    assert len(set(ids)) == 4 and len(events) == 4  # hide and the reaction are skipped
    add, edit, _, remove = (e.record for e in events)
    assert (add.interaction.kind, add.interaction.direction) == (
        InteractionKind.COMMENT,
        Direction.INBOUND,
    )
    assert add.person_ref == ("user", "6100000000000001") and add.person.given_name == "Maria Silva"
    assert add.payload == COMMENT
    assert edit.external_id == add.external_id and edit.interaction.body == "Boa noite, peço ajuda!"
    assert remove.deleted and remove.external_id == add.external_id
    assert remove.interaction is None and remove.person is None
    # Delivered twice, the same event keeps its id: the inbox processes it once.
    assert connector.webhook_events(feed(edited))[0].provider_event_id == ids[1]


def test_the_pages_own_reply_is_kept_without_a_customer(connector):
    reply = {
        **COMMENT,
        "from": {"id": DEV_PAGE, "name": "Facebook for Developers"},
        "comment_id": "10158407654328553_10158409984103553",
        "parent_id": "10158407654328553_10158407835073553",
    }
    (event,) = connector.webhook_events(feed(reply))
    assert event.record.interaction is None and event.record.person_ref is None
    assert event.record.external_id == "10158407654328553_10158409984103553"


@pytest.mark.parametrize(
    "body",
    [
        {"object": "instagram", "entry": []},
        {"object": "page"},
        {"object": "page", "entry": [{"time": 1}]},
        feed({**COMMENT, "comment_id": None}),
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE,
                    "messaging": [
                        {
                            "sender": {"id": KUN},
                            "recipient": {"id": PAGE},
                            "timestamp": 1,
                            "message": {},
                        }
                    ],
                }
            ],
        },
    ],
)
def test_a_malformed_delivery_is_a_mapping_error(connector, body):
    with pytest.raises(MappingError):
        connector.webhook_events(body)


def test_the_hubs_webhook_contract(connector):
    credentials = connector.parse_credentials(
        {"page_access_token": "t", "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    )
    config = connector.parse_config({"page_id": PAGE})
    assert connector.webhook_secret(config, credentials) == APP_SECRET
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    assert connector.webhook_challenge(query, config, credentials) == "42"
    assert connector.webhook_challenge({}, config, credentials) is None
    with pytest.raises(SignatureError):
        connector.webhook_challenge({**query, "hub.verify_token": "x"}, config, credentials)
    body = json.dumps(MESSAGES).encode()
    signed = {"X-Hub-Signature-256": "sha256=" + hmac_hex(APP_SECRET, body)}
    connector.verify_webhook(signed, body, APP_SECRET, {}, config=config)
    single = json.dumps(feed(COMMENT)).encode()
    assert connector.webhook_event_id({}, single) == (
        "comment:10158407654328553_10158407835073553:add:1628621103"
    )
    assert connector.webhook_topic({}, single) == "feed"
    batch_id = connector.webhook_event_id({}, body)
    assert batch_id.startswith("batch:") and batch_id == connector.webhook_event_id({}, body)
    assert connector.webhook_topic({}, body) == "messages"
    assert connector.webhook_event_id({}, b"not json").startswith("sha256:")
    assert connector.webhook_topic({}, b"not json") == "unknown"
    assert len(connector.webhook_records({}, body)) == 2
    with pytest.raises(MappingError, match="not JSON"):
        connector.webhook_records({}, b"<html>")
