"""The example connector end to end: declarations in, pages and mapped records out."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from connectors.base import ConnectorError, CredentialsError, SignatureError, hmac_hex
from connectors.example import ExampleConnector
from hub.models.enums import ContactPointKind, Direction, InteractionKind

CONTACTS = [
    {
        "id": i,
        "first_name": f"Ada{i}",
        "last_name": "Lovelace",
        "emails": [{"address": f"ada{i}@example.com", "primary": True}],
        "updated_at": f"2026-03-{i + 1:02d}T10:00:00+00:00",
    }
    for i in range(5)
]
NOTES = [
    {
        "id": f"n{i}",
        "contact_id": i % 2,
        "subject": "Call",
        "body": f"note {i}",
        "created_at": "2026-03-01T09:00:00Z",
    }
    for i in range(5)
]


@pytest.fixture
def example(api, fake_time):
    def contacts(request):
        since = request.query.get("updated_since", "")
        rows = [c for c in CONTACTS if c["updated_at"] >= since]
        offset = int(request.query["offset"])
        return 200, {}, {"data": rows[offset : offset + 2], "meta": {"total": len(rows)}}

    def notes(request):
        start = int(request.query.get("cursor", 0))
        nxt = str(start + 2) if start + 2 < len(NOTES) else None
        return 200, {}, {"data": NOTES[start : start + 2], "meta": {"next_cursor": nxt}}

    api.route("GET", "/contacts", contacts)
    api.route("GET", "/notes", notes)
    connector = ExampleConnector()
    session = connector.session(
        {"api_url": api.url},
        {"api_key": "ex_key_123456"},
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    return connector, session


def small_pages(monkeypatch):
    from connectors.example.streams import Contacts, OffsetPaginator

    monkeypatch.setattr(Contacts, "paginator", OffsetPaginator("limit", "offset", 2, "meta.total"))


def test_contacts_incremental_from_a_bookmark(example, api, monkeypatch):
    small_pages(monkeypatch)
    connector, session = example
    stream = connector.stream("contacts", {"api_url": api.url})
    pages = list(stream.pages(session, {"updated_at": "2026-03-02T10:00:00+00:00"}))
    assert [[r["id"] for r in p.records] for p in pages] == [[1, 2], [3, 4]]
    assert [p.bookmark for p in pages] == [
        {"updated_at": "2026-03-03T10:00:00+00:00"},
        {"updated_at": "2026-03-05T10:00:00+00:00"},
    ]
    first = api.seen[0]
    assert first.query == {
        "sort": "updated_at",
        "updated_since": "2026-03-02T10:00:00+00:00",
        "limit": "2",
        "offset": "0",
    }
    assert first.headers["X-Example-Token"] == "ex_key_123456"


def test_contacts_map_to_people_with_email_contact_points(example, api):
    connector, session = example
    stream = connector.stream("contacts", {"api_url": api.url})
    records = [stream.map(r) for page in stream.pages(session, None) for r in page.records]
    assert len(records) == 5
    ada = records[0]
    assert (ada.object_type, ada.external_id) == ("contact", "0")
    assert ada.source_updated_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert ada.person.given_name == "Ada0"
    point = ada.person.contact_points[0]
    assert (point.kind, point.value, point.is_primary) == (
        ContactPointKind.EMAIL,
        "ada0@example.com",
        True,
    )


def test_notes_page_by_cursor_and_map_to_note_interactions(example, api):
    connector, session = example
    stream = connector.stream("notes", {"api_url": api.url})
    pages = list(stream.pages(session, None))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert all(p.bookmark is None for p in pages)
    assert [s.query.get("cursor") for s in api.seen] == [None, "2", "4"]
    note = stream.map(pages[0].records[1])
    assert note.person_ref == ("contact", "1")
    assert (note.interaction.kind, note.interaction.direction) == (
        InteractionKind.NOTE,
        Direction.INTERNAL,
    )
    with pytest.raises(ConnectorError):
        connector.stream("deals", {"api_url": api.url})


def test_the_declared_rate_budget_paces_the_session(example, api, fake_time):
    _, session = example
    for _ in range(12):  # rate_limit = (10, 1.0): ten at once, then one every 0.1 s
        session.get("notes")
    assert fake_time.sleeps == pytest.approx([0.1, 0.1])


def test_write_action_runs_with_its_idempotency_key(example, api):
    connector, session = example
    api.route("POST", "/notes", [(503, {}, ""), (201, {}, {"id": "n9"})])
    result = connector.run_action(session, "add_note", {"contact_id": "1", "body": "hi"}, "act-1")
    assert result == {"id": "n9"}
    assert [(s.json(), s.headers["Idempotency-Key"]) for s in api.seen] == [
        ({"contact_id": "1", "body": "hi"}, "act-1")
    ] * 2
    with pytest.raises(ValidationError):
        connector.run_action(session, "add_note", {"contact_id": "1", "body": ""}, "act-2")
    with pytest.raises(ConnectorError):
        connector.run_action(session, "delete_everything", {}, "act-3")


def test_invalid_credentials_do_not_echo_the_secret():
    with pytest.raises(CredentialsError) as caught:
        ExampleConnector().session({}, {"api_key": ["sk_live_leaky"]})
    assert "api_key" in str(caught.value) and "sk_live_leaky" not in str(caught.value)


def test_webhook_verification():
    connector = ExampleConnector()
    body = b'{"event":"contact.updated","id":3}'
    now = str(int(time.time()))
    signature = "sha256=" + hmac_hex("whsec", f"{now}.".encode() + body)
    connector.verify_webhook(
        {"x-example-timestamp": now, "x-example-signature": signature}, body, "whsec"
    )
    with pytest.raises(SignatureError):
        connector.verify_webhook(
            {"X-Example-Timestamp": now, "X-Example-Signature": signature}, body + b"!", "whsec"
        )
    stale = str(int(time.time()) - 3600)
    old = "sha256=" + hmac_hex("whsec", f"{stale}.".encode() + body)
    with pytest.raises(SignatureError):
        connector.verify_webhook(
            {"X-Example-Timestamp": stale, "X-Example-Signature": old}, body, "whsec"
        )
