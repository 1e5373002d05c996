"""Mailchimp webhooks: the URL secret, the GET ping, and each event type's form as records.

The forms follow Mailchimp's documented samples (``type``, ``fired_at``, ``data[...]``); no
recording of a delivery is available.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from connectors.base import SignatureError
from connectors.base.redaction import redact_text
from connectors.mailchimp.mapping import member_ref
from connectors.mailchimp.webhooks import (
    event_id,
    events_from_webhook,
    nested,
    parse_form,
    verify_callback,
)
from hub.models.enums import ConsentStatus, ContactPointKind, InteractionKind
from hub.sync.records import MappingError
from tests.connectors.mailchimp.conftest import API_KEY

SECRET = "whsec_6d1a9988db2f4c1e"
LIST = "a6b5da1054"
FIRED = datetime(2009, 3, 26, 21, 35, 57, tzinfo=UTC)
MEMBER = {
    "data[id]": "8a25ff1d98",
    "data[list_id]": LIST,
    "data[email]": "api@mailchimp.com",
    "data[email_type]": "html",
    "data[merges][EMAIL]": "api@mailchimp.com",
    "data[merges][FNAME]": "Mailchimp",
    "data[merges][LNAME]": "API",
    "data[merges][INTERESTS]": "Group1,Group2",
    "data[ip_opt]": "10.20.10.30",
}


def form(kind: str, **data: str) -> dict[str, str]:
    return {"type": kind, "fired_at": "2009-03-26 21:35:57", **data}


def test_the_callback_secret_is_compared(connector):
    connector.verify_callback({"secret": SECRET}, SECRET)
    for query in ({"secret": SECRET + "x"}, {"secret": ""}, {}, {"key": SECRET}):
        with pytest.raises(SignatureError):
            connector.verify_callback(query, SECRET)
    with pytest.raises(SignatureError):
        verify_callback({"secret": ""}, "")  # an unset secret trusts nobody


def test_the_get_ping_and_the_hubs_other_webhook_hooks(connector):
    credentials = {"api_key": API_KEY, "webhook_secret": SECRET}
    # The GET ping: an empty 200 for our secret, refused for any other.
    assert connector.webhook_challenge({"secret": SECRET}, {}, credentials) == ""
    with pytest.raises(SignatureError):
        connector.webhook_challenge({"secret": "guess"}, {}, credentials)
    with pytest.raises(SignatureError):  # no secret configured: nothing is trusted
        connector.webhook_challenge({"secret": ""}, {}, {"api_key": API_KEY})
    # A delivery: no signature in the headers, the secret in the query.
    body = urlencode(form("unsubscribe", **MEMBER, **{"data[action]": "unsub"})).encode()
    connector.verify_webhook({}, body, SECRET, {"secret": SECRET})
    for query in (None, {}, {"secret": "guess"}):
        with pytest.raises(SignatureError):
            connector.verify_webhook({}, body, SECRET, query)
    assert connector.webhook_event_id({}, body) == event_id(parse_form(body))
    assert connector.webhook_topic({}, body) == "unsubscribe"
    (record,) = connector.webhook_records({}, body)
    assert record.interaction.kind is InteractionKind.UNSUBSCRIBE
    # A body that is not a form is still stored (under its hash); its processing says why.
    assert connector.webhook_event_id({}, b"\xff").startswith("sha256:")
    assert connector.webhook_topic({}, b"\xff") == "webhook"
    with pytest.raises(MappingError, match="UTF-8 form"):
        connector.webhook_records({}, b"\xff")


def test_the_secret_never_reaches_a_log_line():
    line = redact_text(f"POST https://hub.example.com/webhooks/mc?secret={SECRET} -> 200")
    assert SECRET not in line and "secret=***" in line


def test_a_form_body_parses_to_flat_keys_and_nests():
    body = urlencode(form("subscribe", **MEMBER)).encode()
    flat = parse_form(body)
    assert flat["data[merges][FNAME]"] == "Mailchimp" and flat["fired_at"] == "2009-03-26 21:35:57"
    assert nested(flat)["data"]["merges"] == {
        "EMAIL": "api@mailchimp.com",
        "FNAME": "Mailchimp",
        "LNAME": "API",
        "INTERESTS": "Group1,Group2",
    }
    with pytest.raises(MappingError, match="UTF-8 form"):
        parse_form(b"type=subscribe&data[email]=\xff")


def test_event_ids_are_derived_deterministically():
    one = form("profile", **MEMBER)
    assert event_id(one) == event_id(dict(reversed(one.items())))
    assert event_id(one) != event_id({**one, "fired_at": "2009-03-26 21:35:58"})
    assert event_id(one) != event_id({**one, "data[merges][FNAME]": "Ada"})
    (record,) = events_from_webhook(one)
    assert record.external_id == event_id(one) and len(record.external_id) == 64


def test_subscribe():
    (record,) = events_from_webhook(
        form("subscribe", **MEMBER, **{"data[ip_signup]": "10.20.10.30"})
    )
    assert (record.object_type, record.source_updated_at) == ("webhook_event", FIRED)
    assert record.person_ref == member_ref(LIST, "api@mailchimp.com")
    assert (record.person.given_name, record.person.family_name) == ("Mailchimp", "API")
    assert record.person.contact_points == ()  # the member record owns the address
    (consent,) = record.person.consents
    assert (consent.status, consent.recorded_at, consent.source) == (
        ConsentStatus.GRANTED,
        FIRED,
        "mailchimp",
    )
    assert consent.evidence == {
        "list_id": LIST,
        "status": "subscribed",
        "webhook": "subscribe",
        "ip_opt": "10.20.10.30",
        "ip_signup": "10.20.10.30",
    }
    assert record.payload["data"]["merges"]["FNAME"] == "Mailchimp"


def test_unsubscribe_withdraws_with_an_unsubscribe_interaction():
    unsub = {"data[action]": "unsub", "data[reason]": "manual", "data[campaign_id]": "cb398d21d2"}
    (record,) = events_from_webhook(form("unsubscribe", **MEMBER, **unsub))
    (consent,) = record.person.consents
    assert consent.status is ConsentStatus.WITHDRAWN
    assert consent.evidence["campaign_id"] == "cb398d21d2" and consent.evidence["action"] == "unsub"
    assert record.interaction.kind is InteractionKind.UNSUBSCRIBE
    assert (record.interaction.occurred_at, record.interaction.body) == (FIRED, "manual")


def test_a_deleted_member_is_also_a_tombstone():
    deleted = {"data[action]": "delete", "data[reason]": "manual"}
    event, tombstone = events_from_webhook(form("unsubscribe", **MEMBER, **deleted))
    assert event.interaction is None and event.person.consents[0].status is ConsentStatus.WITHDRAWN
    assert (tombstone.object_type, tombstone.external_id) == member_ref(LIST, "api@mailchimp.com")
    assert tombstone.deleted and tombstone.source_updated_at == FIRED


def test_profile_updates_names():
    changed = {**MEMBER, "data[merges][FNAME]": "Ada", "data[merges][LNAME]": ""}
    (record,) = events_from_webhook(form("profile", **changed))
    assert (record.person.given_name, record.person.family_name) == ("Ada", None)
    assert record.person.consents == () and record.interaction is None


def test_upemail_moves_the_member_to_its_new_address():
    change = {
        "data[list_id]": LIST,
        "data[new_id]": "51da8c3259",
        "data[new_email]": "api+new@mailchimp.com",
        "data[old_email]": "api+old@mailchimp.com",
    }
    event, tombstone = events_from_webhook(form("upemail", **change))
    assert event.person_ref == member_ref(LIST, "api+old@mailchimp.com")
    (email,) = event.person.contact_points
    assert (email.kind, email.value) == (ContactPointKind.EMAIL, "api+new@mailchimp.com")
    assert tombstone.deleted and (tombstone.object_type, tombstone.external_id) == member_ref(
        LIST, "api+old@mailchimp.com"
    )


@pytest.mark.parametrize(("reason", "bounce"), [("hard", True), ("abuse", False)])
def test_cleaned_withdraws_and_a_hard_bounce_is_on_the_timeline(reason, bounce):
    cleaned = {
        "data[list_id]": LIST,
        "data[campaign_id]": "4fjk2ma9xd",
        "data[reason]": reason,
        "data[email]": "api+cleaned@mailchimp.com",
    }
    (record,) = events_from_webhook(form("cleaned", **cleaned))
    (consent,) = record.person.consents
    assert consent.status is ConsentStatus.WITHDRAWN and consent.evidence["reason"] == reason
    assert consent.evidence["status"] == "cleaned"
    assert (record.interaction is not None) is bounce
    if bounce:
        assert record.interaction.kind is InteractionKind.EMAIL_BOUNCE


def test_campaign_status_is_kept_about_no_person():
    sent = {
        "data[id]": "5aa2102003",
        "data[subject]": "Test Campaign Subject",
        "data[status]": "sent",
        "data[reason]": "",
        "data[list_id]": LIST,
    }
    (record,) = events_from_webhook(form("campaign", **sent))
    assert record.person is None and record.person_ref is None and record.interaction is None
    assert record.payload["data"]["subject"] == "Test Campaign Subject"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (form("forward", **MEMBER), "unknown type 'forward'"),
        ({**form("subscribe", **MEMBER), "fired_at": "soon"}, "unreadable fired_at 'soon'"),
        ({"type": "subscribe", **MEMBER}, "unreadable fired_at None"),
        (form("subscribe"), "no data"),
        (form("subscribe", **{**MEMBER, "data[email]": ""}), r"subscribe: no data\[email\]"),
        (form("unsubscribe", **{**MEMBER, "data[list_id]": ""}), r"no data\[list_id\]"),
        (form("upemail", **{"data[list_id]": LIST, "data[new_email]": "x@y.z"}), "old_email"),
        (form("profile", **MEMBER, **{"data[merges]": "flat"}), "clashes"),
    ],
)
def test_a_malformed_delivery_is_a_clear_mapping_error(bad, message):
    with pytest.raises(MappingError, match=message):
        events_from_webhook(bad)
