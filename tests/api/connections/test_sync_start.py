"""syncStart: checks what would make a sync refuse, then queues it through hub.tasks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from kombu.exceptions import OperationalError
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base.credentials import encrypt
from hub import tasks
from hub.models import AuditEvent, utcnow
from hub.models.enums import ConnectionStatus, SyncRunStatus
from tests.api.connections.conftest import ADMIN, gid

SYNC_START = """
mutation($input: SyncStartInput!) {
  syncStart(input: $input) {
    jobId
    connection { name status }
    errors { field code message }
  }
}
"""


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """What was handed to ``hub.tasks.enqueue_sync``; nothing runs."""
    calls: list[tuple] = []

    def enqueue_sync(connection_id, streams=None, full_refresh=False) -> str:
        calls.append((connection_id, streams, full_refresh))
        return f"job-{len(calls)}"

    monkeypatch.setattr(tasks, "enqueue_sync", enqueue_sync)
    return calls


async def start(client, connection: str, **input) -> dict:
    data = await client.query(SYNC_START, {"input": {"connectionId": connection, **input}})
    return data["syncStart"]


async def test_queues_the_streams_asked_for(admin, add_connection, queued, ns, sync_engine):
    connection_id = add_connection("go")

    payload = await start(admin, gid("Connection", connection_id),
                          streams=["orders", "customers", "orders"], fullRefresh=True)

    assert payload == {"jobId": "job-1", "connection": {"name": f"{ns}-go", "status": "ACTIVE"},
                       "errors": []}
    assert queued == [(connection_id, ["orders", "customers"], True)]

    again = await start(admin, gid("Connection", connection_id))
    assert again["jobId"] == "job-2"
    assert queued[-1] == (connection_id, None, False)

    with Session(sync_engine) as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.record_type, AuditEvent.details)
            .where(AuditEvent.record_id == str(connection_id)).order_by(AuditEvent.occurred_at)
        ).all()
    assert [tuple(e) for e in events] == [
        ("connection.sync", "connection", {"streams": ["orders", "customers", "orders"],
                                           "fullRefresh": True}),
        ("connection.sync", "connection", {"fullRefresh": False}),
    ]


async def test_failing_and_paused_connections_may_be_synced_by_hand(admin, add_connection, queued):
    failing = add_connection("retry", status=ConnectionStatus.FAILING)
    paused = add_connection("paused", status=ConnectionStatus.PAUSED)
    assert (await start(admin, gid("Connection", failing)))["jobId"] == "job-1"
    payload = await start(admin, gid("Connection", paused))
    assert (payload["jobId"], payload["connection"]["status"]) == ("job-2", "PAUSED")
    assert [call[0] for call in queued] == [failing, paused]


async def test_what_would_refuse_is_a_typed_error_and_queues_nothing(
    admin, add_connection, add_run, queued
):
    reauth = add_connection("reauth", status=ConnectionStatus.NEEDS_REAUTH,
                            status_message="Shopify refused the credentials")
    unknown = add_connection("plugin", connector="no-such-connector")
    busy = add_connection("busy")
    add_run(busy, 0, started_at=utcnow() - timedelta(minutes=5), status=SyncRunStatus.RUNNING,
            finished_at=None)
    abandoned = add_connection("abandoned")
    add_run(abandoned, 0, started_at=utcnow() - timedelta(days=2), status=SyncRunStatus.RUNNING,
            finished_at=None)
    ok = add_connection("ok")
    cases = [
        ({"connectionId": "nonsense"}, "INVALID", "connectionId"),
        ({"connectionId": gid("Customer", ok)}, "INVALID", "connectionId"),
        ({"connectionId": gid("Connection", uuid.uuid4())}, "NOT_FOUND", "connectionId"),
        ({"connectionId": gid("Connection", reauth)}, "NEEDS_REAUTH", "connectionId"),
        ({"connectionId": gid("Connection", unknown)}, "UNKNOWN_CONNECTOR", "connectionId"),
        ({"connectionId": gid("Connection", ok), "streams": ["customers", "carts"]},
         "UNKNOWN_STREAM", "streams"),
        ({"connectionId": gid("Connection", ok), "streams": []}, "UNKNOWN_STREAM", "streams"),
        ({"connectionId": gid("Connection", busy)}, "ALREADY_RUNNING", "connectionId"),
    ]
    for input, code, field in cases:
        payload = (await admin.query(SYNC_START, {"input": input}))["syncStart"]
        assert payload["jobId"] is None, input
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], input
    assert queued == []
    reauth_error = (await start(admin, gid("Connection", reauth)))["errors"][0]["message"]
    assert "Shopify refused the credentials" in reauth_error
    assert "carts" in (await start(admin, gid("Connection", ok), streams=["carts"]))[
        "errors"][0]["message"]

    # A run left RUNNING by a killed worker long ago does not block a new sync.
    assert (await start(admin, gid("Connection", abandoned)))["jobId"] == "job-1"


@pytest.mark.parametrize("failure, code", [
    (tasks.QueueFull("full"), "QUEUE_FULL"),
    (OperationalError("connection refused"), "QUEUE_UNAVAILABLE"),
])
async def test_a_queue_that_refuses_is_a_typed_error(
    admin, add_connection, monkeypatch, failure, code
):
    connection_id = add_connection(f"queue-{code.lower()}")

    def refuse(*args, **kwargs):
        raise failure

    monkeypatch.setattr(tasks, "enqueue_sync", refuse)
    payload = await start(admin, gid("Connection", connection_id))
    assert payload["jobId"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, None)]


async def test_needs_connections_admin(as_scopes, add_connection, queued):
    connection_id = add_connection("forbidden")
    response = await as_scopes("customers:read customers:write").post(
        SYNC_START, {"input": {"connectionId": gid("Connection", connection_id)}}
    )
    body = response.json()
    assert body["data"] == {"syncStart": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["extensions"]["missingScopes"] == [ADMIN]
    assert queued == []


async def test_not_over_get(admin, add_connection):
    connection_id = add_connection("get")
    mutation = SYNC_START.replace("mutation(", "mutation Start(")
    response = await admin.http.get("/graphql", headers=admin.headers, params={
        "query": mutation,
        "variables": f'{{"input": {{"connectionId": "{gid("Connection", connection_id)}"}}}}',
    })
    assert response.status_code == 405


# -- for real: the embedded job runner syncs the example API on 127.0.0.1 ------------------


def contacts(ns: str) -> list[dict]:
    return [
        {"id": i, "first_name": f"Given{i}", "last_name": "Synced",
         "emails": [{"address": f"person{i}@{ns}.test", "primary": True}],
         "updated_at": f"2026-05-01T09:0{i}:00+00:00"}
        for i in range(3)
    ]


RUNS = """
query($id: ID!) { connection(id: $id) {
  status streams { name bookmark }
  syncRuns { edges { node { stream status counts { read created failed } } } }
} }
"""


async def test_the_queued_job_syncs_and_its_runs_show(admin, settings, add_connection, api, ns):
    rows = contacts(ns)
    api.route("GET", f"/{ns}/contacts", lambda request: (
        200, {}, {"data": rows, "meta": {"total": len(rows)}}))
    connection_id = add_connection("example", connector="example",
                                   config={"api_url": f"{api.url}/{ns}"},
                                   credentials=encrypt({"api_key": "ex_live_api_test"}))
    runner = tasks.configure(settings)
    try:
        payload = await start(admin, gid("Connection", connection_id), streams=["contacts"])
        assert payload["errors"] == [] and payload["jobId"]
        assert runner.join(timeout=60)
    finally:
        tasks.shutdown()

    node = (await admin.query(RUNS, {"id": gid("Connection", connection_id)}))["connection"]
    assert node["status"] == "ACTIVE"
    assert node["streams"] == [
        {"name": "contacts", "bookmark": {"updated_at": "2026-05-01T09:02:00+00:00"}}]
    assert node["syncRuns"]["edges"] == [{"node": {
        "stream": "contacts", "status": "SUCCEEDED",
        "counts": {"read": 3, "created": 3, "failed": 0}}}]
