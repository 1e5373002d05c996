"""`auditEvents`: the log as a keyset-paginated connection, for partners:admin only."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from hub.access.audit import SYSTEM, Actor, record_sync
from hub.api.core.ids import to_global_id
from hub.models import utcnow
from hub.models.audit import ActorKind
from hub.models.enums import ClientKind

EVENTS = """
query($filter: AuditEventFilter, $first: Int, $after: String, $last: Int, $before: String) {
  auditEvents(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges { node {
      id occurredAt actorKind userId clientId partnerId action recordType recordId
      fields details requestId
    } }
  }
}
"""


@pytest.fixture(scope="module")
def log(sync_engine):
    """Twelve events of one made-up client, a minute apart, plus a few of others."""
    client = f"audit-{uuid.uuid4().hex[:8]}"
    partner = uuid.uuid4()
    user = uuid.uuid4()
    customer = uuid.uuid4()
    start = utcnow() - timedelta(hours=1)
    actor = Actor(ActorKind.CLIENT, client, None, partner)
    with sync_engine.begin() as conn:
        for i in range(12):
            action = "customer.read_pii" if i % 3 else "customer.tag"
            record_sync(
                conn, actor, action, "customer", customer if i < 4 else uuid.uuid4(),
                ["birthDate"], {"i": i}, request_id=f"{client}-{i}",
            )
            # record_sync stamps "now"; spread the events out for the time filters.
            conn.exec_driver_sql(
                "UPDATE audit_events SET occurred_at = ? WHERE request_id = ?"
                if conn.dialect.name == "sqlite"
                else "UPDATE audit_events SET occurred_at = %s WHERE request_id = %s",
                (
                    (start + timedelta(minutes=i)).replace(tzinfo=None)
                    if conn.dialect.name == "sqlite"
                    else start + timedelta(minutes=i),
                    f"{client}-{i}",
                ),
            )
        record_sync(conn, Actor(ActorKind.USER, client, user, partner), "case.comment", "case", uuid.uuid4())
        record_sync(conn, SYSTEM, "customer.merge", "customer", customer)
    return {"client": client, "partner": partner, "user": user, "customer": customer, "start": start}


@pytest.fixture
def admin(caller):
    return caller("partners:admin")[0]


async def test_needs_partners_admin(caller):
    api, _ = caller("customers:read customers:read_pii")
    body = (await api.post(EVENTS, {"first": 1})).json()
    assert body["data"] == {"auditEvents": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["extensions"]["missingScopes"] == ["partners:admin"]


async def test_newest_first_and_keyset_pages_cover_everything_once(admin, log):
    flt = {"clientId": log["client"], "actorKinds": ["CLIENT"]}
    seen, after = [], None
    while True:
        data = (await admin.query(EVENTS, {"filter": flt, "first": 5, "after": after}))["auditEvents"]
        assert data["totalCount"] == 12
        seen += [e["node"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert len(seen) == 12 and len({n["id"] for n in seen}) == 12
    times = [n["occurredAt"] for n in seen]
    assert times == sorted(times, reverse=True)
    assert [n["requestId"] for n in seen] == [f"{log['client']}-{i}" for i in reversed(range(12))]

    newest = seen[0]
    assert newest["partnerId"] == to_global_id("Partner", log["partner"])
    assert newest["clientId"] == log["client"] and newest["userId"] is None
    assert newest["fields"] == ["birthDate"] and newest["details"] == {"i": 11}

    # `after` is now the end of the second page, seen[9]: the three before it, in order.
    back = (await admin.query(EVENTS, {"filter": flt, "last": 3, "before": after}))["auditEvents"]
    assert [e["node"]["id"] for e in back["edges"]] == [n["id"] for n in seen[6:9]]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"actions": ["customer.tag"]}, {0, 3, 6, 9}),
        ({"actions": ["customer.*"]}, set(range(12))),
        ({"actions": ["case.*", "customer.tag"]}, {0, 3, 6, 9}),
        ({"occurredAfterMinutes": 5, "occurredBeforeMinutes": 8}, {5, 6, 7}),
        ({"recordOfCustomer": True}, {0, 1, 2, 3}),
        ({"recordType": "case"}, set()),
    ],
)
async def test_filters(admin, log, extra, expected):
    flt = {"clientId": log["client"], "actorKinds": ["CLIENT"]}
    if "occurredAfterMinutes" in extra:
        flt["occurredAfter"] = (log["start"] + timedelta(minutes=extra["occurredAfterMinutes"])).isoformat()
        flt["occurredBefore"] = (log["start"] + timedelta(minutes=extra["occurredBeforeMinutes"])).isoformat()
    elif "recordOfCustomer" in extra:
        flt["record"] = to_global_id("Customer", log["customer"])
    else:
        flt.update(extra)
    data = (await admin.query(EVENTS, {"filter": flt, "first": 50}))["auditEvents"]
    assert {e["node"]["details"]["i"] for e in data["edges"]} == expected
    assert data["totalCount"] == len(expected)


async def test_partner_user_and_record_filters(admin, log):
    by_partner = {"partnerId": to_global_id("Partner", log["partner"])}
    assert (await admin.query(EVENTS, {"filter": by_partner}))["auditEvents"]["totalCount"] == 13
    by_raw_uuid = {"partnerId": str(log["partner"])}
    assert (await admin.query(EVENTS, {"filter": by_raw_uuid}))["auditEvents"]["totalCount"] == 13
    by_user = {"userId": to_global_id("User", log["user"])}
    [edge] = (await admin.query(EVENTS, {"filter": by_user}))["auditEvents"]["edges"]
    assert edge["node"]["actorKind"] == "USER" and edge["node"]["action"] == "case.comment"
    record = {"recordType": "customer", "recordId": str(log["customer"]), "actorKinds": ["SYSTEM"]}
    [edge] = (await admin.query(EVENTS, {"filter": record}))["auditEvents"]["edges"]
    assert edge["node"]["action"] == "customer.merge" and edge["node"]["clientId"] is None


async def test_a_wrong_id_in_a_filter_is_a_clear_error(admin):
    body = (await admin.post(EVENTS, {"filter": {"partnerId": to_global_id("Customer", uuid.uuid4())}})).json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    assert "Partner" in body["errors"][0]["message"]


async def test_an_event_is_a_node(admin, log):
    data = await admin.query(EVENTS, {"filter": {"clientId": log["client"]}, "first": 1})
    node = data["auditEvents"]["edges"][0]["node"]
    again = await admin.query(
        "query($id: ID!) { node(id: $id) { ... on AuditEvent { action requestId } } }", {"id": node["id"]}
    )
    assert again["node"] == {"action": node["action"], "requestId": node["requestId"]}


def test_record_refuses_an_action_that_is_not_type_dot_verb(sync_engine):
    with sync_engine.begin() as conn, pytest.raises(ValueError, match="record_type.verb"):
        record_sync(conn, SYSTEM, "Tagged", "customer", None)


async def test_record_on_an_async_connection_joins_the_transaction(app, sync_engine):
    from hub.access.audit import record
    from hub.access.principal import Principal
    from tests.audit.conftest import events

    principal = Principal(
        client_id=f"rec-{uuid.uuid4().hex[:6]}", kind=ClientKind.PARTNER, scopes=frozenset(),
        partner_id=uuid.uuid4(), user_id=uuid.uuid4(),
    )
    async with app.state.engine.connect() as conn:
        async with conn.begin():
            await record(conn, principal, "case.comment", "case", "c-1", ["body"])
        trans = await conn.begin()
        await record(conn, principal, "case.comment", "case", "c-2")
        await trans.rollback()
    [entry] = events(sync_engine, client_id=principal.client_id)
    assert (entry.record_id, entry.actor_kind, entry.user_id) == ("c-1", ActorKind.USER, principal.user_id)
    assert entry.partner_id == principal.partner_id and entry.fields == ["body"]
