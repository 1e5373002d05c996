"""Recorded members in the canonical model: status as MARKETING_EMAIL consent, person, tombstones."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from connectors.mailchimp.mapping import activity, member, subscriber_hash
from hub.models.enums import (
    Channel,
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    Direction,
    InteractionKind,
)
from hub.sync.records import MappingError
from tests.connectors.mailchimp.conftest import recorded_body

LIST = "a36b032126"


@pytest.fixture
def subscribed() -> dict:
    return recorded_body("members_first_run")["members"][0]  # Dorthy Iston, imported


@pytest.fixture
def unsubscribed() -> dict:
    return recorded_body("write_back", 1)  # the PATCH status=unsubscribed answer


def test_subscriber_hash_is_mailchimps_member_id(subscribed):
    assert subscriber_hash(subscribed["email_address"]) == subscribed["id"]
    assert (
        subscriber_hash(" Dorthy.X@Example.COM ")
        == hashlib.md5(b"dorthy.x@example.com").hexdigest()
    )
    for record in recorded_body("members_incremental")["members"]:
        assert subscriber_hash(record["email_address"]) == record["id"]


def test_a_subscribed_member_is_a_person_with_granted_consent(subscribed):
    record = member(subscribed)
    assert (record.object_type, record.external_id) == ("member", f"{LIST}:{subscribed['id']}")
    assert record.source_updated_at == datetime(2022, 2, 23, 16, 25, 57, tzinfo=UTC)
    assert not record.deleted and record.interaction is None
    person = record.person
    assert (person.given_name, person.family_name) == ("Dorthy", "Iston")
    (email,) = person.contact_points
    assert (email.kind, email.value, email.is_primary) == (
        ContactPointKind.EMAIL,
        "xdiston9@grouparoo.com",
        True,
    )
    assert person.addresses == () and person.locale is None
    assert person.attributes == {"mailchimp_userid": 10, "mailchimp_ltv": 290.53}
    (consent,) = person.consents
    assert consent.purpose is ConsentPurpose.MARKETING_EMAIL
    assert consent.status is ConsentStatus.GRANTED
    assert consent.source == "mailchimp"
    assert consent.recorded_at == datetime(2022, 2, 23, 16, 25, 57, tzinfo=UTC)  # timestamp_opt
    assert consent.evidence == {"list_id": LIST, "status": "subscribed", "ip_opt": "186.6.243.135"}
    assert "_links" not in record.payload and record.payload["id"] == subscribed["id"]


def test_an_unsubscribed_member_withdraws_and_unsubscribes(unsubscribed):
    record = member(unsubscribed)
    changed = datetime(2021, 11, 23, 22, 51, 58, tzinfo=UTC)
    (consent,) = record.person.consents
    assert (consent.status, consent.recorded_at) == (ConsentStatus.WITHDRAWN, changed)
    assert consent.evidence["unsubscribe_reason"] == "N/A (Unsubscribed by admin)"
    assert consent.evidence["status"] == "unsubscribed"
    interaction = record.interaction
    assert (interaction.channel, interaction.kind, interaction.direction) == (
        Channel.EMAIL,
        InteractionKind.UNSUBSCRIBE,
        Direction.INBOUND,
    )
    assert interaction.occurred_at == changed
    assert interaction.body == "N/A (Unsubscribed by admin)"
    phone = record.person.contact_points[1]
    assert (phone.kind, phone.value) == (ContactPointKind.PHONE, "+5583999999999")


def test_an_unsubscribe_without_a_time_is_not_dated_by_the_opt_in(unsubscribed):
    # The opt-in time is no time for an opt-out; a withdrawal must not vanish either.
    with pytest.raises(MappingError, match="status unsubscribed has no time"):
        member({**unsubscribed, "last_changed": ""})


@pytest.mark.parametrize(
    ("status", "consent", "at"),
    [
        ("cleaned", ConsentStatus.WITHDRAWN, "last_changed"),
        ("pending", ConsentStatus.PENDING, "last_changed"),
    ],
)
def test_cleaned_and_pending(subscribed, status, consent, at):
    record = member({**subscribed, "status": status, "last_changed": "2022-03-01T10:00:00+00:00"})
    (decision,) = record.person.consents
    assert decision.status is consent
    assert decision.recorded_at == datetime(2022, 3, 1, 10, tzinfo=UTC)
    assert decision.evidence["status"] == status
    assert record.interaction is None


def test_pending_is_dated_by_the_signup(subscribed):
    record = member(
        {**subscribed, "status": "pending", "timestamp_signup": "2022-01-05T08:00:00+00:00"}
    )
    assert record.person.consents[0].recorded_at == datetime(2022, 1, 5, 8, tzinfo=UTC)


def test_transactional_contacts_carry_no_marketing_consent(subscribed):
    record = member({**subscribed, "status": "transactional"})
    assert record.person.consents == () and record.person.contact_points


def test_archived_members_are_tombstones():
    archived = recorded_body("archived_members")["members"][0]
    record = member(archived)
    assert record.deleted and record.person is None
    assert record.external_id == f"{LIST}:aebd14df525c6670d3145987e33343ab"


def test_tags_address_and_custom_merge_fields(subscribed):
    archived = recorded_body("archived_members")["members"][0]
    unsubscribes = {  # the merge fields of Airbyte's recorded unsubscribe report record
        "FNAME": "Joe",
        "LNAME": "Barry",
        "ADDRESS": {
            "addr1": "109 Barry St",
            "addr2": "",
            "city": "Gary",
            "state": "IN",
            "zip": "46401",
            "country": "US",
        },
        "PHONE": "",
        "BIRTHDAY": "",
    }
    record = member({**archived, "status": "subscribed", "merge_fields": unsubscribes})
    person = record.person
    assert person.tags == ("list three", "list two", "list four", "list one")
    (address,) = person.addresses
    assert (address.line1, address.line2, address.city, address.region) == (
        "109 Barry St",
        None,
        "Gary",
        "IN",
    )
    assert (address.postal_code, address.country, address.is_primary) == ("46401", "US", True)
    assert person.attributes == {}  # BIRTHDAY is empty
    free_text = {**unsubscribes, "ADDRESS": {**unsubscribes["ADDRESS"], "country": "USA"}}
    assert member({**subscribed, "merge_fields": free_text}).person.addresses[0].country is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "vip"}, "unknown status 'vip'"),
        ({"email_address": ""}, "without email_address"),
        ({"list_id": None}, "without list_id"),
        ({"timestamp_opt": "", "last_changed": ""}, "status subscribed has no time"),
    ],
)
def test_a_member_the_mapping_cannot_read_is_a_mapping_error(subscribed, change, message):
    with pytest.raises(MappingError, match=message):
        member({**subscribed, **change})


def test_activity_needs_a_known_action_and_time():
    opened = {
        "campaign_id": "7847cdaeff",
        "list_id": "16d6ec4ffc",
        "email_id": "11273c9a5dc6ae6c5aaccfb77b2addfb",
        "action": "open",
        "timestamp": "2023-11-06T20:17:57+00:00",
    }
    assert activity(opened).external_id == (
        "7847cdaeff:11273c9a5dc6ae6c5aaccfb77b2addfb:open:2023-11-06T20:17:57+00:00"
    )
    with pytest.raises(MappingError, match="unknown action 'forward'"):
        activity({**opened, "action": "forward"})
    with pytest.raises(MappingError, match="unreadable timestamp"):
        activity({**opened, "timestamp": "yesterday"})
    with pytest.raises(MappingError, match="without email_id"):
        activity({**opened, "email_id": ""})
