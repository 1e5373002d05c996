"""Reads of PII: declared on the fields (customers:read_pii), noted per customer, written in one insert."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from hub.access.audit import AuditTrail, ReadAuditLog
from hub.access.principal import Principal
from hub.api.context import RequestContext, RequestDB
from hub.api.core.ids import to_global_id
from hub.models import Consent, Customer
from hub.models.audit import ActorKind
from hub.models.enums import ClientKind, ConsentPurpose, CustomerStatus
from tests.audit.conftest import READ_ALL, events, unique

PII_PAGE = """
query($n: Int!) { customers(first: $n, orderBy: {field: CREATED_AT, direction: ASC}) {
  edges { node { id displayName birthDate contactPoints { value } addresses { city } } }
} }
"""
NAMES_ONLY = "{ customers(first: 5) { edges { node { id displayName locale tags } } } }"
ONE_CUSTOMER = "query($id: ID!) { node(id: $id) { ... on Customer { id birthDate } } }"


async def run_audited(
    app, principal: Principal, query: str, variables=None, request_id="r", log=None
):
    """Execute as the view does, but with reads audited whoever the caller is (written by
    ``log``, a fresh ``ReadAuditLog`` unless given)."""
    executor = app.state.executor
    db = RequestDB(app.state.engine)
    trail = AuditTrail(principal, request_id, audits_reads=True)
    context = RequestContext(principal=principal, db=db, settings=app.state.settings, audit=trail)
    try:
        prepared = executor.prepare(query)
        operation = executor.operation_for(prepared, None)
        result, _ = await executor.run(prepared, operation, variables, None, context)
        assert not result.errors, result.errors
        rows = trail.take_reads()
        await db.using((log or ReadAuditLog()).write, rows)
    finally:
        await db.close()
    return result.data, len(rows)


def first_customers(sync_engine, n: int) -> list[uuid.UUID]:
    with sync_engine.connect() as conn:
        return list(
            conn.execute(
                select(Customer.id)
                .where(Customer.status == CustomerStatus.ACTIVE)
                .order_by(Customer.created_at, Customer.id)
                .limit(n)
            ).scalars()
        )


def shareable_customers(sync_engine, n: int) -> list[uuid.UUID]:
    """Active customers who never said anything about PARTNER_SHARING (so have not withdrawn it)."""
    said = select(Consent.customer_id).where(Consent.purpose == ConsentPurpose.PARTNER_SHARING)
    with sync_engine.connect() as conn:
        return list(
            conn.execute(
                select(Customer.id)
                .where(Customer.status == CustomerStatus.ACTIVE, Customer.id.not_in(said))
                .order_by(Customer.created_at, Customer.id)
                .limit(n)
            ).scalars()
        )


def reader(client_id: str | None = None) -> Principal:
    return Principal(
        client_id=client_id or unique("reader"),
        kind=ClientKind.INTERNAL,
        scopes=frozenset(READ_ALL.split()),
    )


async def test_one_event_per_customer_naming_the_fields_read_in_one_insert(app, sync_engine):
    principal = reader()
    log = ReadAuditLog()
    data, written = await run_audited(
        app, principal, PII_PAGE, {"n": 7}, request_id="req-pii", log=log
    )
    assert log.inserts == 1, "a page of customers is one batched insert, not one per row"

    read_ids = [to_global_id("Customer", c) for c in first_customers(sync_engine, 7)]
    assert [e["node"]["id"] for e in data["customers"]["edges"]] == read_ids
    logged = events(sync_engine, client_id=principal.client_id)
    assert written == len(logged) == 7
    assert {to_global_id("Customer", uuid.UUID(e.record_id)) for e in logged} == set(read_ids)
    for entry in logged:
        assert entry.action == "customer.read_pii"
        assert entry.record_type == "customer"
        assert entry.fields == ["addresses", "birthDate", "contactPoints"]
        assert entry.actor_kind == ActorKind.CLIENT
        assert entry.request_id == "req-pii"
    assert len({e.occurred_at for e in logged}) == 1


async def test_only_the_pii_fields_asked_for_are_named(app, sync_engine):
    principal = reader()
    customer_id = first_customers(sync_engine, 1)[0]
    await run_audited(app, principal, ONE_CUSTOMER, {"id": to_global_id("Customer", customer_id)})
    [entry] = events(sync_engine, client_id=principal.client_id)
    assert (entry.record_id, entry.fields) == (str(customer_id), ["birthDate"])


async def test_no_pii_asked_no_event_and_no_insert(app, sync_engine):
    principal = reader()
    log = ReadAuditLog()
    _, written = await run_audited(app, principal, NAMES_ONLY, log=log)
    assert written == 0 and log.inserts == 0
    assert events(sync_engine, client_id=principal.client_id) == []


async def test_a_field_refused_for_want_of_the_scope_is_not_logged(app, sync_engine):
    principal = Principal(
        client_id=unique("no-pii"), kind=ClientKind.INTERNAL, scopes=frozenset({"customers:read"})
    )
    executor = app.state.executor
    db = RequestDB(app.state.engine)
    trail = AuditTrail(principal, "r", audits_reads=True)
    context = RequestContext(principal=principal, db=db, settings=app.state.settings, audit=trail)
    prepared = executor.prepare(PII_PAGE)
    result, _ = await executor.run(prepared, executor.operation_for(prepared, None), {"n": 3}, None, context)
    await db.close()
    assert {e.extensions["code"] for e in result.errors} == {"FORBIDDEN"}
    assert trail.reads == {}


async def test_internal_callers_reads_are_not_audited_over_http(caller, sync_engine):
    api, client_id = caller()
    response = await api.post(PII_PAGE, {"n": 3})
    assert response.status_code == 200 and "errors" not in response.json()
    assert response.headers["x-request-id"]
    assert events(sync_engine, client_id=client_id) == []


async def test_a_sensible_request_id_is_kept_and_others_replaced(caller):
    api, _ = caller()
    api.headers["X-Request-ID"] = "abc-123.x"
    assert (await api.post(NAMES_ONLY)).headers["x-request-id"] == "abc-123.x"
    api.headers["X-Request-ID"] = "no spaces <>"
    assert (await api.post(NAMES_ONLY)).headers["x-request-id"] not in ("", "no spaces <>")


async def test_partner_reads_of_pii_are_audited_per_customer(http, mint_token, sync_engine):
    """End to end through HTTP: a partner's token, its sharing grants, the log."""
    from hub.access import sharing

    pii, plain = shareable_customers(sync_engine, 2)
    with sync_engine.begin() as conn:
        partner_id = sharing.create_partner(conn, unique("partner"), "RESELLER")
        sharing.create_grant(conn, sharing.GrantRequest(
            partner_id=partner_id, scopes="customers:read customers:read_pii", customer_ids=[pii],
        ))
        sharing.create_grant(conn, sharing.GrantRequest(
            partner_id=partner_id, scopes="customers:read", customer_ids=[plain],
        ))
    token = mint_token(
        "customers:read customers:read_pii", kind=ClientKind.PARTNER, partner_id=partner_id
    )
    from tests.audit.conftest import Api, client_of

    api = Api(http, token)
    response = await api.post(PII_PAGE, {"n": 10})
    assert response.status_code == 200
    body = response.json()
    nodes = {e["node"]["id"]: e["node"] for e in body["data"]["customers"]["edges"]}
    assert set(nodes) == {to_global_id("Customer", pii), to_global_id("Customer", plain)}

    [entry] = events(sync_engine, partner_id=partner_id)
    assert entry.record_id == str(pii), "PII refused on the other customer was not read"
    assert entry.action == "customer.read_pii"
    assert entry.fields == ["addresses", "birthDate", "contactPoints"]
    assert entry.client_id == client_of(sync_engine, token)
    assert entry.request_id == response.headers["x-request-id"]

    await api.post(NAMES_ONLY)
    assert len(events(sync_engine, partner_id=partner_id)) == 1, "no PII asked, nothing logged"


async def test_pii_whose_reading_cannot_be_logged_is_not_sent(caller, monkeypatch):
    api, _ = caller()
    audited = AuditTrail.of

    def audit_everyone(principal, request_id=None):
        trail = audited(principal, request_id)
        trail.audits_reads = True
        return trail

    def broken(self):
        # Events the database refuses (an action is required): the write itself fails.
        return [{**row, "action": None} for row in taken(self)]

    taken = AuditTrail.take_reads
    monkeypatch.setattr(AuditTrail, "of", staticmethod(audit_everyone))
    monkeypatch.setattr(AuditTrail, "take_reads", broken)
    response = await api.post(PII_PAGE, {"n": 2})
    assert response.status_code == 500
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "audit log" in body["errors"][0]["message"]
    # Without PII in the answer there is nothing to log, so nothing fails.
    assert (await api.post(NAMES_ONLY)).status_code == 200


async def test_a_write_whose_answer_shows_pii_logs_both_and_both_commit(
    http, mint_token, sync_engine
):
    """The write's event commits with the change; the PII in its answer, after execution."""
    from hub.access import sharing
    from tests.audit.conftest import Api

    [customer] = shareable_customers(sync_engine, 1)
    scopes = "customers:read customers:read_pii customers:write"
    with sync_engine.begin() as conn:
        partner_id = sharing.create_partner(conn, unique("partner"), "AGENCY")
        sharing.create_grant(
            conn,
            sharing.GrantRequest(partner_id=partner_id, scopes=scopes, customer_ids=[customer]),
        )
    api = Api(http, mint_token(scopes, kind=ClientKind.PARTNER, partner_id=partner_id))
    tag = unique("audited")
    response = await api.post(
        "mutation($id: ID!, $tags: [String!]!) { customerTag(customerId: $id, tags: $tags) {"
        " customer { id tags birthDate } errors { code } } }",
        {"id": to_global_id("Customer", customer), "tags": [tag]},
    )
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["customerTag"]
    assert payload["errors"] == [] and tag in payload["customer"]["tags"]
    logged = events(sync_engine, partner_id=partner_id)
    assert [(e.action, e.record_id) for e in logged] == [
        ("customer.tag", str(customer)),
        ("customer.read_pii", str(customer)),
    ]
    assert logged[1].fields == ["birthDate"]
    assert {e.request_id for e in logged} == {response.headers["x-request-id"]}
    # A second request reads again: a second read event, nothing left over from the first.
    await api.post(ONE_CUSTOMER, {"id": to_global_id("Customer", customer)})
    assert [e.action for e in events(sync_engine, partner_id=partner_id)] == [
        "customer.tag",
        "customer.read_pii",
        "customer.read_pii",
    ]


async def test_requests_finishing_together_share_one_insert_and_each_waits_for_it(
    app, sync_engine
):
    log = ReadAuditLog()
    principal = reader()
    customers = first_customers(sync_engine, 7)

    def rows_of(customer_id: uuid.UUID) -> list[dict]:
        trail = AuditTrail(principal, f"req-{customer_id.hex[:8]}", audits_reads=True)
        trail.read("customer", customer_id, "birthDate")
        return trail.take_reads()

    async def together(batches: list[list[dict]]) -> list:
        """Each batch written by a request of its own, all finishing at the same moment."""
        conns = [await app.state.engine.connect() for _ in batches]
        try:
            return await asyncio.gather(
                *(log.write(conn, rows) for conn, rows in zip(conns, batches, strict=True)),
                return_exceptions=True,
            )
        finally:
            for conn in conns:
                await conn.close()

    answers = await together([rows_of(c) for c in customers[:5]])
    assert answers == [None] * 5
    # The first writes its own; the four that came meanwhile are written together, next.
    assert log.inserts == 2
    logged = events(sync_engine, client_id=principal.client_id)
    assert sorted(e.record_id for e in logged) == sorted(str(c) for c in customers[:5])

    # A write that fails fails every request it was for, and commits none of their events.
    bad = [{**row, "action": None} for row in rows_of(customers[5])]
    answers = await together([rows_of(customers[6]), rows_of(customers[5]), bad])
    assert answers[0] is None
    assert all(isinstance(answer, Exception) for answer in answers[1:]), answers
    assert len(events(sync_engine, client_id=principal.client_id)) == 6
    # And the next request is written as usual.
    async with app.state.engine.connect() as conn:
        await log.write(conn, rows_of(customers[5]))
    assert len(events(sync_engine, client_id=principal.client_id)) == 7
