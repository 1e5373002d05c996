"""Every stream against replayed Mailchimp responses: parents, pages, bookmarks, failures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from connectors.base import (
    AuthExpired,
    CredentialsError,
    DecodingError,
    OffsetPaginator,
    get_connector,
)
from connectors.mailchimp import MailchimpConnector
from connectors.mailchimp.client import api_root
from connectors.mailchimp.mapping import member_ref
from connectors.mailchimp.streams import Members
from hub.models.enums import Direction, InteractionKind
from tests.connectors.mailchimp.conftest import API_KEY, replay

LIST = "a36b032126"
LAST_CHANGED = "2022-02-23T16:25:57+00:00"  # every member of the recorded audience


def records(pages):
    return [record for page in pages for record in page.records]


def test_installed_with_its_streams_and_actions():
    connector = get_connector("mailchimp")
    assert connector is MailchimpConnector
    assert [s.name for s in connector.streams] == [
        "lists",
        "members",
        "archived_members",
        "campaigns",
        "email_activity",
    ]
    assert [a.name for a in connector.write_actions] == ["subscribe", "unsubscribe", "tag"]
    assert "list_ids" not in connector.config_schema().get("required", [])
    assert connector.credentials_schema()["required"] == ["api_key"]


@pytest.mark.parametrize(
    ("key", "root"),
    [
        (f"{'a' * 32}-us6", "https://us6.api.mailchimp.com/3.0/"),
        (f" {'b' * 32}-us21 ", "https://us21.api.mailchimp.com/3.0/"),
    ],
)
def test_the_host_is_the_keys_data_centre(connector, key, root):
    assert api_root(key) == root
    assert connector.session({}, {"api_key": key}).url("lists") == root + "lists"


@pytest.mark.parametrize("key", ["0123456789abcdef", "abc-us6.evil.example/x", "abc-", ""])
def test_a_key_without_a_data_centre_is_refused_without_echoing_it(connector, key):
    with pytest.raises(CredentialsError, match="ends in its data centre") as caught:
        connector.session({}, {"api_key": key})
    assert not key or key not in str(caught.value)


def test_basic_auth_with_the_key_as_password(session):
    with replay.use_cassette("lists.yaml"):
        response = session.get("lists", params={"count": 1000, "offset": 0})
    sent = response.request.headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"crmhub:{API_KEY}".encode()).decode()


def test_lists(connector, session):
    stream = connector.stream("lists", {})
    with replay.use_cassette("lists.yaml") as cassette:
        pages = list(stream.pages(session))
    assert cassette.all_played
    audiences = [stream.map(r) for r in records(pages)]
    assert [a.external_id for a in audiences] == [
        "1b724bb934",
        LIST,
        "6f890f62ee",
        "7cf8c94812",
        LIST,  # the recorder rewrote two real ids to the same fake one
    ]
    assert audiences[0].object_type == "audience"
    assert audiences[0].payload["name"] == "UI Config" and "_links" not in audiences[0].payload
    assert pages[-1].bookmark is None  # lists are read whole


def test_members_of_every_audience_are_read_per_audience(connector, session):
    stream = connector.stream("members", {})
    with replay.use_cassette("members_of_every_audience.yaml") as cassette:
        pages = list(stream.pages(session))
    # Lists once, then each distinct audience once (a36b032126 is listed twice).
    assert cassette.all_played and cassette.play_count == 5
    assert len(records(pages)) == 10
    assert pages[-1].bookmark == {"partitions": {f"list_id={LIST}": {"last_changed": LAST_CHANGED}}}


def test_configured_audiences_are_read_without_listing_them(connector, session):
    stream = connector.stream("members", {"list_ids": [LIST]})
    with replay.use_cassette("members_first_run.yaml") as cassette:
        pages = list(stream.pages(session))
    assert cassette.all_played and cassette.play_count == 1
    members = [stream.map(r) for r in records(pages)]
    assert len(members) == 10 and all(m.object_type == "member" for m in members)
    assert members[0].external_id == f"{LIST}:6373a8b568272a9aa5ec381fc83bd926"
    assert pages[-1].bookmark == {"partitions": {f"list_id={LIST}": {"last_changed": LAST_CHANGED}}}


def test_incremental_members_page_by_count_and_offset_from_the_bookmark(
    connector, session, monkeypatch
):
    monkeypatch.setattr(Members, "paginator", OffsetPaginator("count", "offset", 4, "total_items"))
    stream = connector.stream("members", {"list_ids": [LIST]})
    start = {"partitions": {f"list_id={LIST}": {"last_changed": LAST_CHANGED}}}
    with replay.use_cassette("members_incremental.yaml") as cassette:
        pages = list(stream.pages(session, start))
    # since_last_changed is the bookmark less 1 ms; offsets 0, 4, 8 and no call past total_items.
    assert cassette.all_played and cassette.play_count == 3
    assert [len(p.records) for p in pages] == [4, 4, 2]
    ids = [r["id"] for r in records(pages)]
    assert len(set(ids)) == 10
    # Sorted by last_changed, so every page's bookmark may be committed with it.
    assert all(p.bookmark == start for p in pages)


def test_nothing_changed_since_the_bookmark(connector, session):
    stream = connector.stream("members", {"list_ids": [LIST]})
    start = {"partitions": {f"list_id={LIST}": {"last_changed": "2025-02-11T12:13:14+00:00"}}}
    with replay.use_cassette("members_nothing_new.yaml") as cassette:
        pages = list(stream.pages(session, start))
    assert cassette.all_played
    assert [p.records for p in pages] == [[]] and pages[0].bookmark == start


def test_archived_members_are_tombstones(connector, session):
    stream = connector.stream("archived_members", {"list_ids": [LIST]})
    with replay.use_cassette("archived_members.yaml") as cassette:
        (record,) = [stream.map(r) for r in records(stream.pages(session))]
    assert cassette.all_played
    assert record.deleted and record.person is None
    assert record.external_id == f"{LIST}:aebd14df525c6670d3145987e33343ab"
    assert record.source_updated_at == datetime(2021, 11, 23, 22, 52, 15, tzinfo=UTC)


def test_campaign_email_activity_per_sent_campaign(connector, session):
    campaigns = connector.stream("campaigns", {})
    activity = connector.stream("email_activity", {})
    with replay.use_cassette("campaigns_and_activity.yaml"):
        (campaign,) = [campaigns.map(r) for r in records(campaigns.pages(session))]
    with replay.use_cassette("campaigns_and_activity.yaml") as cassette:
        pages = list(activity.pages(session))  # the sent campaigns, then each one's activity
    assert cassette.all_played
    assert (campaign.object_type, campaign.external_id) == ("campaign", "7847cdaeff")
    mapped = [activity.map(r) for r in records(pages)]
    kinds = [(m.interaction.kind, m.interaction.direction) for m in mapped]
    assert kinds == [
        (InteractionKind.EMAIL_OPEN, Direction.INBOUND),
        (InteractionKind.EMAIL_CLICK, Direction.INBOUND),
        (InteractionKind.EMAIL_BOUNCE, Direction.OUTBOUND),
    ]
    opened, clicked, bounced = mapped
    # The member is named by Mailchimp's subscriber hash of the lower-cased address.
    assert opened.person_ref == member_ref("16d6ec4ffc", "AirbyteMailchimpUser@gmail.com")
    assert opened.person_ref == ("member", "16d6ec4ffc:11273c9a5dc6ae6c5aaccfb77b2addfb")
    assert clicked.person_ref == ("member", "16d6ec4ffc:458f50b08c829a8ab901d3f8f88df914")
    assert opened.interaction.occurred_at == datetime(2023, 11, 6, 20, 17, 57, tzinfo=UTC)
    assert clicked.interaction.link.startswith("https://us10.campaign-archive.com/")
    assert bounced.interaction.body == "soft bounce"
    assert len({m.external_id for m in mapped}) == 3
    key = "campaign_id=7847cdaeff&list_id=16d6ec4ffc"
    assert pages[-1].bookmark == {"partitions": {key: {"timestamp": "2023-11-06T20:17:57+00:00"}}}


def test_activity_outside_the_configured_audiences_is_not_read(connector, session):
    activity = connector.stream("email_activity", {"list_ids": [LIST]})
    with replay.use_cassette("campaigns_and_activity.yaml") as cassette:
        assert list(activity.pages(session)) == []
    assert cassette.play_count == 1  # the campaigns only


def test_429_backs_off_then_succeeds(connector, session, sleeps):
    stream = connector.stream("lists", {})
    with replay.use_cassette("rate_limited.yaml") as cassette:
        pages = list(stream.pages(session))
    assert cassette.all_played
    assert len(records(pages)) == 5
    # No Retry-After from Mailchimp: one jittered backoff of 0.5-1 s, slept through the injection.
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.0


def test_an_invalid_key_is_auth_expired_with_mailchimps_reason(connector, session, sleeps):
    stream = connector.stream("lists", {})
    with replay.use_cassette("invalid_key.yaml"), pytest.raises(AuthExpired) as caught:
        list(stream.pages(session))
    message = str(caught.value)
    assert caught.value.status_code == 401
    assert "API Key Invalid" in message and "wrong datacenter" in message
    assert API_KEY not in message and API_KEY.split("-")[0] not in message
    assert sleeps == []  # a refused key is not retried


def test_a_malformed_page_is_a_clear_error_after_the_good_pages(connector, session, monkeypatch):
    monkeypatch.setattr(Members, "paginator", OffsetPaginator("count", "offset", 4, "total_items"))
    stream = connector.stream("members", {"list_ids": [LIST]})
    start = {"partitions": {f"list_id={LIST}": {"last_changed": LAST_CHANGED}}}
    pages = stream.pages(session, start)
    with replay.use_cassette("malformed_page.yaml"):
        first = next(pages)
        with pytest.raises(DecodingError) as caught:
            next(pages)
    # The first page and its bookmark were handed over before the bad one: nothing is lost.
    assert len(first.records) == 4 and first.bookmark == start
    assert str(caught.value) == (f"members (list_id={LIST}, page 2): the response is not JSON")
