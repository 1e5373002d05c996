"""The webhook hooks every connector has: safe defaults, old overrides kept working, the example."""

from __future__ import annotations

import inspect
import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, SecretStr

from connectors.base import Connector, ConnectorError, SignatureError, hmac_hex
from connectors.example import ExampleConnector
from hub.sync.records import MappingError

SECRET = "whsec_contract"


class Quiet(Connector):
    """A connector that declares nothing about webhooks."""

    name, title = "quiet", "Quiet"


class Credentials(BaseModel):
    webhook_secret: SecretStr | None = None


def test_defaults_refuse_deliveries_and_answer_no_challenge():
    quiet = Quiet()
    with pytest.raises(SignatureError):
        quiet.verify_webhook({}, b"{}", "secret", {}, config=None)
    with pytest.raises(ConnectorError):
        quiet.webhook_records({}, b"{}")
    assert quiet.webhook_challenge({"hub.challenge": "1"}) is None
    assert quiet.webhook_topic({}, b"{}") == "webhook"


def test_default_event_id_is_a_stable_hash_of_the_body():
    quiet = Quiet()
    first = quiet.webhook_event_id({"X-Any": "1"}, b'{"a":1}')
    assert first == quiet.webhook_event_id({"X-Any": "2"}, b'{"a":1}')  # headers do not count
    assert first != quiet.webhook_event_id({}, b'{"a":2}')
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64


def test_default_secret_is_the_credentials_webhook_secret():
    quiet = Quiet()
    assert quiet.webhook_secret(None, Credentials(webhook_secret=SecretStr("s3"))) == "s3"
    assert quiet.webhook_secret(None, Credentials()) == ""
    assert quiet.webhook_secret(None, None) == ""


def test_an_override_with_the_old_three_arguments_still_works():
    seen = []

    class Old(Connector):
        name, title = "old", "Old"

        def verify_webhook(self, headers, body, secret):
            seen.append((body, secret))

    Old().verify_webhook({}, b"x", "s", {"secret": "q"}, config=None)
    Old().verify_webhook({}, b"y", "s")
    assert seen == [(b"x", "s"), (b"y", "s")]
    assert "query" in inspect.signature(Old.verify_webhook).parameters


def test_an_override_with_part_of_the_arguments_gets_those():
    seen = []

    class Half(Connector):
        name, title = "half", "Half"

        def verify_webhook(self, headers, body, secret, query=None):
            seen.append(query)

    Half().verify_webhook({}, b"", "s", {"secret": "q"}, config=object())
    assert seen == [{"secret": "q"}]


# -- the example connector -----------------------------------------------------------------


def signed(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    return {
        "X-Example-Timestamp": stamp,
        "X-Example-Signature": "sha256=" + hmac_hex(secret, f"{stamp}.".encode() + body),
    }


def event(event_id: str, topic: str, data: dict) -> bytes:
    return json.dumps({"id": event_id, "event": topic, "data": data}).encode()


CONTACT = {
    "id": 7,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "emails": [{"address": "ada@example.com", "primary": True}],
    "updated_at": "2026-03-01T10:00:00+00:00",
}


def test_example_verifies_with_the_whole_contract():
    example = ExampleConnector()
    body = event("evt_1", "contact.updated", CONTACT)
    example.verify_webhook(signed(body), body, SECRET, {}, config=None)
    with pytest.raises(SignatureError):
        example.verify_webhook(signed(body, "other"), body, SECRET, {})
    with pytest.raises(SignatureError):
        example.verify_webhook({"X-Example-Timestamp": str(int(time.time()))}, body, SECRET, {})


def test_example_names_its_events():
    example = ExampleConnector()
    body = event("evt_1", "contact.updated", CONTACT)
    assert example.webhook_event_id({}, body) == "evt_1"
    assert example.webhook_topic({}, body) == "contact.updated"
    # A body the job will refuse still has a stable id to be stored under.
    assert example.webhook_event_id({}, b"not json") == Quiet().webhook_event_id({}, b"not json")
    assert example.webhook_topic({}, b"not json") == "unknown"


def test_example_records():
    example = ExampleConnector()
    [contact] = example.webhook_records({}, event("e1", "contact.updated", CONTACT))
    assert (contact.object_type, contact.external_id, contact.deleted) == ("contact", "7", False)
    assert contact.source_updated_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert contact.person.given_name == "Ada"

    gone = {"id": 7, "updated_at": "2026-03-02T10:00:00+00:00"}
    [tombstone] = example.webhook_records({}, event("e2", "contact.deleted", gone))
    assert tombstone.deleted and tombstone.external_id == "7"

    note = {"id": "n1", "contact_id": 7, "body": "hi", "created_at": "2026-03-01T09:00:00+00:00"}
    [record] = example.webhook_records({}, event("e3", "note.created", note))
    assert record.person_ref == ("contact", "7") and record.interaction.body == "hi"

    assert example.webhook_records({}, event("e4", "invoice.paid", {})) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        event("e5", "contact.updated", None),  # type: ignore[arg-type]
        event("e6", "contact.updated", {"id": 7}),  # no updated_at
        event("e7", "contact.updated", {**CONTACT, "updated_at": "yesterday"}),
    ],
)
def test_example_malformed_bodies_raise_mapping_errors(body):
    with pytest.raises(MappingError):
        ExampleConnector().webhook_records({}, body)


def test_example_challenge():
    assert ExampleConnector().webhook_challenge({"challenge": "abc"}) == "abc"
    assert ExampleConnector().webhook_challenge({}) is None


def test_example_secret_lives_in_the_credentials():
    example = ExampleConnector()
    credentials = example.parse_credentials({"api_key": "k", "webhook_secret": SECRET})
    assert example.webhook_secret(example.parse_config({}), credentials) == SECRET
    assert SECRET not in repr(credentials)
