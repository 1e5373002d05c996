"""Write-back through the session, replayed against recorded answers to the same changes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.base import NotFound
from tests.connectors.mailchimp.conftest import replay

LIST = "a36b032126"
EMAIL = "wx3ti580f4ycqy185cumm@grouparoo.com"  # member 5eb0d793a5aa4f1b9fd29305d6afbf7c


@pytest.fixture
def sent(session):
    """(method, path, Idempotency-Key) of every request the session sends."""
    seen = []
    send = session.send

    def spy(method, url, **kwargs):
        seen.append((method, url.split("/3.0/")[1], kwargs["headers"].get("Idempotency-Key")))
        return send(method, url, **kwargs)

    session.send = spy
    return seen


def test_subscribe_upserts_the_member_by_subscriber_hash(connector, session, sent):
    with replay.use_cassette("write_back.yaml"):
        member = connector.run_action(
            session, "subscribe", {"list_id": LIST, "email": EMAIL}, "sub-1"
        )
    assert member["status"] == "subscribed" and member["email_address"] == EMAIL
    assert sent == [("PUT", f"lists/{LIST}/members/5eb0d793a5aa4f1b9fd29305d6afbf7c", "sub-1")]


def test_unsubscribe_patches_the_status(connector, session, sent):
    with replay.use_cassette("write_back.yaml"):
        member = connector.run_action(
            session, "unsubscribe", {"list_id": LIST, "email": EMAIL.upper()}, "unsub-1"
        )
    assert member["status"] == "unsubscribed"
    assert member["unsubscribe_reason"] == "N/A (Unsubscribed by admin)"
    # The hash is of the lower-cased address, whatever case the caller used.
    assert sent == [("PATCH", f"lists/{LIST}/members/5eb0d793a5aa4f1b9fd29305d6afbf7c", "unsub-1")]


def test_tags_are_set_active_and_inactive(connector, session, sent):
    with replay.use_cassette("write_back.yaml"):
        added = connector.run_action(
            session,
            "tag",
            {"list_id": LIST, "email": EMAIL, "add": ["list two", "list three"]},
            "tag-1",
        )
        removed = connector.run_action(
            session,
            "tag",
            {
                "list_id": LIST,
                "email": "6pf0bp7w89fy5hit308x4m@grouparoo.com",
                "remove": ["list two", "list three"],
            },
            "tag-2",
        )
    assert added == {"active": ["list two", "list three"], "inactive": []}
    assert removed == {"active": [], "inactive": ["list two", "list three"]}
    assert [(method, key) for method, _, key in sent] == [("POST", "tag-1"), ("POST", "tag-2")]
    assert sent[1][1] == f"lists/{LIST}/members/f0f4a3247e34526684cc57236c91d4da/tags"


def test_tagging_an_address_not_in_the_audience_is_not_found(connector, session):
    gone = ["list one", "list two", "list three", "list four"]
    with (
        replay.use_cassette("write_back.yaml"),
        pytest.raises(NotFound, match="Resource Not Found"),
    ):
        connector.run_action(
            session, "tag", {"list_id": LIST, "email": EMAIL, "remove": gone}, "tag-3"
        )


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("subscribe", {"list_id": LIST, "email": "not an address"}),
        ("unsubscribe", {"list_id": "../lists", "email": EMAIL}),
        ("tag", {"list_id": LIST, "email": EMAIL}),
        ("tag", {"list_id": LIST, "email": EMAIL, "add": ["vip"], "remove": ["vip"]}),
    ],
)
def test_invalid_input_is_refused_before_any_request(connector, session, sent, name, data):
    with pytest.raises(ValidationError):
        connector.run_action(session, name, data, "bad-1")
    assert sent == []
