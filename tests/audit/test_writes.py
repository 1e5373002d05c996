"""Writes: the mutation base records each one, in the transaction of the change."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from hub.access.audit import AuditTrail
from hub.api.core.audited import Audited
from hub.api.core.ids import to_global_id
from hub.models import CustomerTag, Interaction
from hub.models.audit import ActorKind
from tests.audit.conftest import events, unique
from tests.audit.test_pii_reads import first_customers

TAG = """
mutation($id: ID!, $tags: [String!]!) {
  customerTag(customerId: $id, tags: $tags) { customer { id tags } errors { field code } }
}
"""
UNTAG = TAG.replace("customerTag", "customerUntag")
LOG = """
mutation($input: InteractionLogInput!) {
  interactionLog(input: $input) { interaction { id } errors { field code } }
}
"""
WRITE = "customers:read customers:write"


def tags_of(sync_engine, customer_id: uuid.UUID) -> set[str]:
    with sync_engine.connect() as conn:
        return set(
            conn.execute(select(CustomerTag.tag).where(CustomerTag.customer_id == customer_id)).scalars()
        )


async def test_tag_and_untag_are_audited_with_the_request(caller, sync_engine):
    api, client_id = caller(WRITE)
    customer_id = first_customers(sync_engine, 1)[0]
    gid = to_global_id("Customer", customer_id)
    tag = unique("audit")

    tagged = await api.post(TAG, {"id": gid, "tags": [tag]})
    assert tagged.json()["data"]["customerTag"]["errors"] == []
    await api.query(UNTAG, {"id": gid, "tags": [tag]})

    first, second = events(sync_engine, client_id=client_id)
    assert (first.action, second.action) == ("customer.tag", "customer.untag")
    for entry in (first, second):
        assert (entry.record_type, entry.record_id) == ("customer", str(customer_id))
        assert entry.fields == ["tags"]
        assert entry.details == {"tags": [tag]}
        assert entry.actor_kind == ActorKind.CLIENT and entry.user_id is None
    assert first.request_id == tagged.headers["x-request-id"]


async def test_refused_writes_leave_no_event(caller, sync_engine):
    api, client_id = caller(WRITE)
    gid = to_global_id("Customer", first_customers(sync_engine, 1)[0])
    cases = [
        ({"id": to_global_id("Customer", uuid.uuid4()), "tags": ["x"]}, "NOT_FOUND"),
        ({"id": gid, "tags": ["  "]}, "INVALID"),
        ({"id": "nonsense", "tags": ["x"]}, "INVALID"),
    ]
    for variables, code in cases:
        payload = (await api.query(TAG, variables))["customerTag"]
        assert [e["code"] for e in payload["errors"]] == [code]
    assert events(sync_engine, client_id=client_id) == []


async def test_without_the_scope_nothing_is_written_or_logged(caller, sync_engine):
    api, client_id = caller("customers:read")
    gid = to_global_id("Customer", first_customers(sync_engine, 1)[0])
    body = (await api.post(TAG, {"id": gid, "tags": ["x"]})).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert events(sync_engine, client_id=client_id) == []


async def test_interaction_log_is_audited_on_the_customer_without_its_body(caller, sync_engine):
    api, client_id = caller(WRITE)
    customer_id = first_customers(sync_engine, 2)[1]
    secret = unique("private words")
    data = await api.query(LOG, {"input": {
        "customerId": to_global_id("Customer", customer_id),
        "kind": "CALL", "subject": "Called back", "body": secret,
    }})
    assert data["interactionLog"]["errors"] == []
    [entry] = events(sync_engine, client_id=client_id)
    assert entry.action == "interaction.log"
    assert (entry.record_type, entry.record_id) == ("customer", str(customer_id))
    assert entry.fields == ["body", "channel", "direction", "kind", "subject"]
    assert entry.details == {"kind": "CALL", "channel": "PHONE", "direction": "OUTBOUND"}
    assert secret not in str(entry.details)


async def test_a_change_whose_event_cannot_be_written_is_rolled_back(
    caller, sync_engine, monkeypatch
):
    """Same transaction: no event, no change."""
    api, client_id = caller(WRITE)
    customer_id = first_customers(sync_engine, 1)[0]
    tag = unique("never")

    async def broken(self, conn, result=None):
        raise RuntimeError("the audit table is gone")

    monkeypatch.setattr(AuditTrail, "flush_writes", broken)
    body = (await api.post(TAG, {"id": to_global_id("Customer", customer_id), "tags": [tag]})).json()
    assert body["data"]["customerTag"] is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert tag not in tags_of(sync_engine, customer_id)
    assert events(sync_engine, client_id=client_id) == []


async def test_a_logged_interaction_rolls_back_with_a_failing_audit(caller, sync_engine, monkeypatch):
    api, _ = caller(WRITE)
    customer_id = first_customers(sync_engine, 1)[0]
    subject = unique("subject")

    async def broken(self, conn, result=None):
        raise RuntimeError("no")

    monkeypatch.setattr(AuditTrail, "flush_writes", broken)
    await api.post(LOG, {"input": {
        "customerId": to_global_id("Customer", customer_id), "kind": "NOTE", "subject": subject,
    }})
    with sync_engine.connect() as conn:
        assert conn.scalar(select(Interaction.id).where(Interaction.subject == subject)) is None


@pytest.mark.parametrize(
    ("name", "action", "record_type"),
    [
        ("CustomerTag", "customer.tag", "customer"),
        ("InteractionLog", "interaction.log", "interaction"),
        ("SharingGrantRevoke", "sharing_grant.revoke", "sharing_grant"),
        ("PartnerClientCreate", "partner_client.create", "partner_client"),
    ],
)
def test_a_mutation_is_named_in_the_log_after_itself(name, action, record_type):
    bound = Audited().bind(name)
    assert (bound.action, bound.record_type) == (action, record_type)


def test_the_record_is_found_by_id_by_record_type_id_or_returned_by_the_write():
    trail = AuditTrail.of(_principal())
    record = uuid.uuid4()
    Audited().bind("SharingGrantRevoke").expect(trail, {"id": to_global_id("SharingGrant", record)})
    Audited().bind("CustomerTag").expect(trail, {"input": {"customer_id": to_global_id("Customer", record), "x": 1}})
    Audited().bind("PartnerCreate").expect(trail, {"input": {"name": "Acme", "kind": "RESELLER"}})
    by_id, in_input, created = trail.writes
    assert by_id["record_id"] == in_input["record_id"] == str(record)
    assert by_id["fields"] == [] and in_input["fields"] == ["x"]
    assert created["record_id"] is None and created["fields"] == ["kind", "name"]
    assert created["details"] is None, "values are copied only when declared"


async def test_a_created_record_takes_the_id_its_write_returns():
    trail = AuditTrail.of(_principal())
    Audited().bind("PartnerCreate").expect(trail, {"input": {"name": "Acme"}})
    created = uuid.uuid4()

    class Conn:
        async def execute(self, statement, rows):
            self.rows = rows

    conn = Conn()
    await trail.flush_writes(conn, created)
    assert conn.rows[0]["record_id"] == str(created) and trail.writes == []


def _principal():
    from hub.access.principal import Principal
    from hub.models.enums import ClientKind

    return Principal(client_id="c", kind=ClientKind.INTERNAL, scopes=frozenset())
