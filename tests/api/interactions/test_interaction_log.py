"""interactionLog: a hand-logged call, meeting or note lands on the timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.api.core.ids import to_global_id
from hub.models import Customer, Interaction
from hub.models.enums import CustomerStatus

LOG = """
mutation($input: InteractionLogInput!) {
  interactionLog(input: $input) {
    interaction { id kind channel direction occurredAt subject body }
    errors { field code message }
  }
}
"""
TIMELINE = """
query($id: ID!) { customer(id: $id) { interactions(first: 1, orderBy: {field: OCCURRED_AT, direction: DESC}) {
  edges { node { id subject } } } } }
"""


def customer_gid(sync_engine) -> tuple[str, uuid.UUID]:
    with sync_engine.connect() as conn:
        customer_id = conn.execute(
            select(Customer.id).where(Customer.status == CustomerStatus.ACTIVE).limit(1)
        ).scalar_one()
    return to_global_id("Customer", customer_id), customer_id


async def test_logged_call_is_the_newest_on_the_timeline(as_scopes, sync_engine):
    api = as_scopes("customers:read customers:write interactions:read")
    gid, customer_id = customer_gid(sync_engine)
    subject = f"Call about the late parcel {uuid.uuid4().hex[:6]}"
    data = await api.query(
        LOG, {"input": {"customerId": gid, "kind": "CALL", "direction": "INBOUND", "subject": subject}}
    )
    payload = data["interactionLog"]
    assert payload["errors"] == []
    logged = payload["interaction"]
    assert (logged["kind"], logged["channel"], logged["direction"]) == ("CALL", "PHONE", "INBOUND")
    timeline = await api.query(TIMELINE, {"id": gid})
    newest = timeline["customer"]["interactions"]["edges"][0]["node"]
    assert newest == {"id": logged["id"], "subject": subject}
    with sync_engine.connect() as conn:
        stored = conn.execute(select(Interaction.subject).where(Interaction.customer_id == customer_id)).scalars()
        assert subject in list(stored)


async def test_bad_input_is_typed_and_writes_nothing(as_scopes, sync_engine):
    api = as_scopes("customers:read customers:write")
    gid, customer_id = customer_gid(sync_engine)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    cases = [
        ({"customerId": gid, "kind": "NOTE"}, "INVALID", "body"),
        ({"customerId": gid, "kind": "NOTE", "body": "x", "occurredAt": future}, "INVALID", "occurredAt"),
        ({"customerId": gid, "kind": "NOTE", "body": "x" * 20_001}, "INVALID", "body"),
        ({"customerId": "zzz", "kind": "NOTE", "body": "x"}, "INVALID", "customerId"),
        ({"customerId": to_global_id("Customer", uuid.uuid4()), "kind": "NOTE", "body": "x"}, "NOT_FOUND", "customerId"),
    ]
    with sync_engine.connect() as conn:
        before = len(conn.execute(select(Interaction.id)).all())
    for variables, code, field in cases:
        payload = (await api.query(LOG, {"input": variables}))["interactionLog"]
        assert payload["interaction"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    with sync_engine.connect() as conn:
        assert len(conn.execute(select(Interaction.id)).all()) == before


async def test_connector_kinds_cannot_be_logged_by_hand(as_scopes, sync_engine):
    gid, _ = customer_gid(sync_engine)
    response = await as_scopes("customers:write").post(
        LOG, {"input": {"customerId": gid, "kind": "EMAIL_OPEN", "body": "x"}}
    )
    assert response.status_code == 400
