"""Write-back replayed from cassettes: every write recorded with its idempotency key."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from vcr.errors import CannotOverwriteExistingCassetteException

from connectors.base import ConnectorError


def writes(played):
    return [r for r in played.requests if r.method != "GET"]


def test_tagging_merges_with_the_existing_tags_once(connector, session, cassette):
    with cassette("write_tag_customer.yaml") as played:
        first = connector.run_action(
            session, "tag_customer", {"customer_id": "207119551", "tags": ["VIP"]}, "hub-action-41"
        )
        # Retried by the hub (same key): the tag is there, whatever its case; nothing is sent.
        again = connector.run_action(
            session, "tag_customer", {"customer_id": 207119551, "tags": ["vip"]}, "hub-action-41"
        )
    assert played.all_played and played.play_count == 3
    assert first == {"customer_id": 207119551, "tags": ["Léon", "Noël", "VIP"], "changed": True}
    assert again == {"customer_id": 207119551, "tags": ["Léon", "Noël", "VIP"], "changed": False}
    (put,) = writes(played)
    assert put.headers["Idempotency-Key"] == "hub-action-41"
    assert json.loads(put.body) == {"customer": {"id": 207119551, "tags": "Léon, Noël, VIP"}}


def test_untagging_keeps_the_other_tags(connector, session, cassette):
    with cassette("write_untag_customer.yaml") as played:
        result = connector.run_action(
            session, "untag_customer", {"customer_id": 207119551, "tags": ["VIP"]}, "hub-action-42"
        )
    assert played.all_played
    assert result == {"customer_id": 207119551, "tags": ["Léon", "Noël"], "changed": True}
    assert writes(played)[0].headers["Idempotency-Key"] == "hub-action-42"


def test_email_marketing_consent_is_written_with_its_evidence(connector, session, cassette):
    with cassette("write_email_consent.yaml") as played:
        result = connector.run_action(
            session,
            "set_email_marketing_consent",
            {
                "customer_id": 207119551,
                "state": "subscribed",
                "opt_in_level": "confirmed_opt_in",
                "consent_updated_at": "2026-11-20T10:00:00Z",
            },
            "hub-action-43",
        )
    assert played.all_played
    (put,) = writes(played)
    assert put.headers["Idempotency-Key"] == "hub-action-43"
    assert json.loads(put.body)["customer"]["email_marketing_consent"] == {
        "state": "subscribed",
        "opt_in_level": "confirmed_opt_in",
        "consent_updated_at": "2026-11-20T10:00:00+00:00",
    }
    assert result["email_marketing_consent"]["state"] == "subscribed"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("tag_customer", {"customer_id": "../orders/1", "tags": ["VIP"]}),
        ("tag_customer", {"customer_id": 0, "tags": ["VIP"]}),
        ("tag_customer", {"customer_id": 207119551, "tags": []}),
        ("tag_customer", {"customer_id": 207119551, "tags": ["VIP, Gold"]}),
        ("tag_customer", {"customer_id": 207119551, "tags": ["  "]}),
        ("tag_customer", {"customer_id": 207119551, "tags": ["x" * 256]}),
        ("set_email_marketing_consent", {"customer_id": 207119551, "state": "not_subscribed"}),
        (
            "set_email_marketing_consent",
            {"customer_id": 207119551, "state": "subscribed", "opt_in_level": "double"},
        ),
        (
            "set_email_marketing_consent",
            {
                "customer_id": 207119551,
                "state": "subscribed",
                "consent_updated_at": "2026-11-20T10:00:00",
            },
        ),
    ],
)
def test_bad_input_is_refused_before_any_call(connector, session, cassette, name, data):
    with cassette("write_email_consent.yaml") as played, pytest.raises(ValidationError):
        connector.run_action(session, name, data, "hub-action-44")
    assert played.play_count == 0


def test_an_unknown_action(connector, session):
    with pytest.raises(ConnectorError, match="no write action 'delete_customer'"):
        connector.run_action(session, "delete_customer", {}, "hub-action-45")


def test_a_write_without_the_recorded_key_does_not_replay(connector, session, cassette):
    with (
        cassette("write_untag_customer.yaml"),
        pytest.raises(CannotOverwriteExistingCassetteException),
    ):
        connector.run_action(
            session, "untag_customer", {"customer_id": 207119551, "tags": ["VIP"]}, "another-key"
        )
