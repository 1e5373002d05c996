"""POST/GET /webhooks/{connection}: verified or refused, stored once, acknowledged, enqueued."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from hub.models import Connection
from hub.webhooks import MAX_BODY_BYTES
from tests.webhooks.conftest import KEYS
from tests.webhooks.deliveries import body, contact, new_connection, signed, stored


async def test_a_verified_delivery_is_stored_acknowledged_and_enqueued(hub, engine, connection, ns):
    raw = body("evt-1", "contact.updated", contact(ns, 1))
    headers = {**signed(raw), "Authorization": "Bearer leak", "X-Trace": "t-1"}

    response = await hub.post(connection, raw, headers, query="?secret=in-the-url")

    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    [event] = stored(engine, connection)
    assert (event.provider_event_id, event.topic, event.body) == ("evt-1", "contact.updated", raw)
    assert event.processed_at is None and event.attempts == 0 and event.error is None
    assert await hub.jobs(1) == [{"job": "process_inbound_events", "event_ids": [str(event.id)]}]
    # What proves the sender is not kept; what describes the delivery is.
    assert event.headers["x-trace"] == "t-1" and "x-example-timestamp" in event.headers
    assert not {"authorization", "x-example-signature"} & set(event.headers)
    assert "in-the-url" not in repr(event.headers)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda raw: signed(raw, secret="not-the-secret"), id="wrong-secret"),
        pytest.param(lambda raw: signed(raw + b" "), id="other-body"),
        pytest.param(lambda raw: {"X-Example-Timestamp": str(int(time.time()))}, id="missing"),
        pytest.param(lambda raw: {**signed(raw), "X-Example-Signature": ""}, id="empty"),
        pytest.param(lambda raw: signed(raw, at=int(time.time()) - 3600), id="stale-replay"),
        pytest.param(lambda raw: {}, id="no-headers"),
    ],
)
async def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(hub, engine, connection,
                                                                      ns, tamper):
    raw = body("evt-bad", "contact.updated", contact(ns, 1))
    response = await hub.post(connection, raw, tamper(raw))
    assert response.status_code == 401 and response.json()["error"] == "signature"
    assert stored(engine, connection) == [] and hub.enqueued == []


async def test_a_connection_without_a_webhook_secret_accepts_nothing(hub, engine, ns):
    bare = new_connection(engine, KEYS, credentials={"api_key": "key"})
    raw = body("evt-1", "contact.updated", contact(ns, 1))
    # An empty key would make the signature anyone's to compute.
    response = await hub.post(bare, raw, signed(raw, secret=""))
    assert response.status_code == 401
    assert stored(engine, bare) == []


async def test_a_redelivery_is_acknowledged_and_ignored(hub, engine, connection, ns):
    raw = body("evt-1", "contact.updated", contact(ns, 1))
    first = await hub.post(connection, raw, signed(raw))
    # A fresh signature on the same event: the platform retrying.
    again = await hub.post(connection, raw, signed(raw, at=int(time.time()) + 1))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "duplicate"}
    assert len(stored(engine, connection)) == 1
    assert len(await hub.jobs(2, timeout=0.2)) == 1


async def test_the_same_event_id_on_two_connections_is_two_events(hub, engine, connection, ns):
    other = new_connection(engine, KEYS)
    raw = body("evt-1", "contact.updated", contact(ns, 1))
    for target in (connection, other):
        assert (await hub.post(target, raw, signed(raw))).json() == {"status": "accepted"}
    assert len(stored(engine, connection)) == len(stored(engine, other)) == 1


@pytest.mark.parametrize("target", [str(uuid.uuid4()), "not-a-uuid", "1; DROP TABLE x"])
async def test_an_unknown_or_malformed_connection_is_404(hub, target, ns):
    raw = body("evt-1", "contact.updated", contact(ns, 1))
    assert (await hub.post(target, raw, signed(raw))).status_code == 404
    assert (await hub.get(target, "?challenge=1")).status_code == 404
    assert hub.enqueued == []


async def test_a_deleted_connection_is_404_at_once(hub, engine, connection, ns):
    raw = body("evt-1", "contact.updated", contact(ns, 1))
    assert (await hub.post(connection, raw, signed(raw))).status_code == 200  # now cached
    with Session(engine) as session, session.begin():
        session.execute(delete(Connection).where(Connection.id == connection))
    raw = body("evt-2", "contact.updated", contact(ns, 1))
    assert (await hub.post(connection, raw, signed(raw))).status_code == 404


async def test_a_body_over_the_limit_is_413_and_not_stored(hub, engine, connection):
    raw = b'{"id": "evt-big", "event": "contact.updated", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = await hub.post(connection, raw, signed(raw))
    assert response.status_code == 413
    assert stored(engine, connection) == []


async def test_a_verified_body_that_cannot_be_parsed_is_still_stored(hub, engine, connection):
    raw = b"{this is not json"
    response = await hub.post(connection, raw, signed(raw))
    assert response.status_code == 200
    [event] = stored(engine, connection)
    assert event.body == raw and event.topic == "unknown"
    assert event.provider_event_id.startswith("sha256:")


async def test_the_url_check_answers_the_challenge(hub, connection):
    response = await hub.get(connection, "?challenge=c-42")
    assert response.status_code == 200 and response.text == "c-42"
    # The example API always sends a challenge; without one there is nothing to answer.
    assert (await hub.get(connection)).status_code == 405


async def test_an_acknowledgement_takes_milliseconds(hub, connection, ns):
    timings = []
    for n in range(30):
        raw = body(f"evt-{n}", "contact.updated", contact(ns, n))
        headers = signed(raw)
        started = time.perf_counter()
        assert (await hub.post(connection, raw, headers)).status_code == 200
        timings.append(time.perf_counter() - started)
    timings.sort()
    # The median through the test client, a database commit included; generous for slow CI.
    assert timings[len(timings) // 2] < 0.05, timings


async def test_any_spelling_of_the_connection_id_reaches_the_connection(hub, engine, connection,
                                                                      ns):
    for n, spelling in enumerate((str(connection), str(connection).upper(), connection.hex)):
        raw = body(f"evt-{n}", "contact.updated", contact(ns, n))
        response = await hub.post(spelling, raw, signed(raw))
        assert response.json() == {"status": "accepted"}, spelling
    assert len(stored(engine, connection)) == 3
    assert (await hub.post("not-a-uuid", b"{}", {})).status_code == 404
