"""Write-back through the API: tags, consent and replies queue it with their change; admins run any.

Nothing is sent here: what would be enqueued is captured, and the rows are read
back. tests/sync/test_writeback.py runs write-backs against the platforms' cassettes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connectors.base.credentials import encrypt
from hub import tasks
from hub.access.sharing import create_partner
from hub.api.core.ids import from_global_id, to_global_id
from hub.models import (
    AuditEvent,
    Connection,
    Customer,
    CustomerTag,
    Interaction,
    Partner,
    SourceRecord,
    WriteBack,
    utcnow,
)
from hub.models.enums import (
    Channel,
    ClientKind,
    ConnectionStatus,
    Direction,
    InteractionKind,
)

BOB = "207119551"
LIST_ID = "a36b032126"
EMAIL = "bob.norman@writeback.example"
PAGE = "2121008874780932"
PSID = "5550000000000042"
COMMENT = "10158407654328553_10158407835073553"
WRITER = "customers:read customers:write interactions:read"

TAG = """
mutation($id: ID!, $tags: [String!]!) {
  customerTag(customerId: $id, tags: $tags) { customer { tags } errors { field code message } }
}
"""
UNTAG = TAG.replace("customerTag", "customerUntag")
CONSENT = """
mutation($input: ConsentRecordInput!) {
  consentRecord(input: $input) {
    consent { purpose status source recordedAt evidence }
    errors { field code message }
  }
}
"""
REPLY = """
mutation($id: ID!, $text: String!) {
  interactionReply(interactionId: $id, text: $text) {
    interaction { id kind } queued errors { field code message }
  }
}
"""
RUN = """
mutation($input: WriteBackRunInput!) {
  writeBackRun(input: $input) {
    writeBack { id action params idempotencyKey status attempts connection { name } }
    errors { field code message }
  }
}
"""
WRITE_BACKS = """
query($id: ID!, $statuses: [WriteBackStatus!]) {
  connection(id: $id) {
    writeBacks(first: 10, filter: {statuses: $statuses}) {
      totalCount
      edges { node { action status params } }
    }
  }
}
"""


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, dict]]:
    """What the API hands to the job queue; nothing runs."""
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(tasks, "enqueue", lambda name, **kwargs: calls.append((name, kwargs)))
    return calls


class Platforms:
    """A Shopify shop, a Mailchimp audience and a Facebook Page, and a customer all three know."""

    def __init__(self, engine) -> None:
        self.engine = engine
        ns = f"api-wb-{uuid.uuid4().hex[:10]}"
        with Session(engine) as session, session.begin():
            self.shop = self._connection(session, f"{ns}-shop", "shopify",
                                         {"shop_domain": "crmhub-test.myshopify.com"},
                                         {"access_token": "shpat_0123456789abcdef"})
            self.audience = self._connection(session, f"{ns}-mail", "mailchimp",
                                             {"list_ids": [LIST_ID]},
                                             {"api_key": "0123456789abcdef-us3"})
            self.page = self._connection(session, f"{ns}-page", "facebook", {"page_id": PAGE},
                                         {"page_access_token": "EAAGapiwritebacktoken"})
            bob = Customer(display_name="Bob Norman")
            session.add(bob)
            session.flush()
            self.bob = bob.id
            self._record(session, self.shop, "customer", BOB, {})
            self._record(session, self.audience, "member", f"{LIST_ID}:x",
                         {"list_id": LIST_ID, "email_address": EMAIL})
            comment = self._record(session, self.page, "comment", COMMENT,
                                   {"id": COMMENT, "from": {"id": PSID}})
            message = self._record(session, self.page, "message", "m_1",
                                   {"id": "m_1", "from": {"id": PSID},
                                    "to": {"data": [{"id": PAGE}]}})
            self.comment = self._interaction(session, InteractionKind.COMMENT, comment)
            self.message = self._interaction(session, InteractionKind.MESSAGE, message)
            self.note = self._interaction(session, InteractionKind.NOTE, None)

    def _connection(self, session, name, connector, config, credentials) -> uuid.UUID:
        row = Connection(name=name, connector=connector, config=config,
                         credentials=encrypt(credentials))
        session.add(row)
        session.flush()
        return row.id

    def _record(self, session, connection_id, object_type, external_id, payload) -> uuid.UUID:
        row = SourceRecord(connection_id=connection_id, object_type=object_type,
                           external_id=external_id, customer_id=self.bob, payload=payload)
        session.add(row)
        session.flush()
        return row.id

    def _interaction(self, session, kind, record_id) -> uuid.UUID:
        row = Interaction(customer_id=self.bob, channel=Channel.SOCIAL, kind=kind,
                          direction=Direction.INBOUND, body="Where is my order?",
                          source_record_id=record_id)
        session.add(row)
        session.flush()
        return row.id

    def write_backs(self) -> list[tuple[uuid.UUID, str, dict]]:
        with Session(self.engine) as session:
            rows = session.scalars(select(WriteBack).where(WriteBack.customer_id == self.bob)
                                   .order_by(WriteBack.created_at, WriteBack.action))
            return [(w.connection_id, w.action, w.params) for w in rows]

    def set_status(self, connection_id: uuid.UUID, status: ConnectionStatus) -> None:
        with Session(self.engine) as session, session.begin():
            session.get_one(Connection, connection_id).status = status

    def remove(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(Customer).where(Customer.id == self.bob))
            session.execute(delete(Connection).where(
                Connection.id.in_([self.shop, self.audience, self.page])))


@pytest.fixture
def platforms(sync_engine, seeded) -> Iterator[Platforms]:
    made = Platforms(sync_engine)
    yield made
    made.remove()


@pytest.fixture
def writer(as_scopes):
    return as_scopes(WRITER)


@pytest.fixture
def admin(as_scopes):
    return as_scopes(f"connections:admin {WRITER}")


def gid(type_name: str, id_: uuid.UUID) -> str:
    return to_global_id(type_name, id_)


def jobs_of(enqueued: list[tuple[str, dict]]) -> list[str]:
    assert {name for name, _ in enqueued} <= {"run_write_back"}
    return [kwargs["write_back_id"] for _, kwargs in enqueued]


def ids_of(engine, customer_id: uuid.UUID) -> list[str]:
    with Session(engine) as session:
        return [str(i) for i in session.scalars(select(WriteBack.id).where(
            WriteBack.customer_id == customer_id).order_by(WriteBack.created_at, WriteBack.action))]


async def test_tagging_queues_each_platform_once_with_the_tags_that_changed(
        writer, platforms, enqueued, sync_engine):
    bob = gid("Customer", platforms.bob)
    data = await writer.query(TAG, {"id": bob, "tags": ["VIP"]})
    assert data["customerTag"]["errors"] == []
    assert sorted(platforms.write_backs(), key=str) == sorted([
        (platforms.shop, "tag_customer", {"customer_id": int(BOB), "tags": ["VIP"]}),
        (platforms.audience, "tag", {"list_id": LIST_ID, "email": EMAIL, "add": ["VIP"],
                                     "remove": []}),
    ], key=str)
    # Committed, then handed to the job queue.
    assert sorted(jobs_of(enqueued)) == sorted(ids_of(sync_engine, platforms.bob))

    # The same tag again changes nothing here, so nothing travels.
    await writer.query(TAG, {"id": bob, "tags": ["VIP", "Gold"]})
    assert [w[1:] for w in platforms.write_backs()[2:]] == [
        ("tag", {"list_id": LIST_ID, "email": EMAIL, "add": ["Gold"], "remove": []}),
        ("tag_customer", {"customer_id": int(BOB), "tags": ["Gold"]}),
    ]
    await writer.query(UNTAG, {"id": bob, "tags": ["VIP", "never-had"]})
    assert [w[1:] for w in platforms.write_backs()[4:]] == [
        ("tag", {"list_id": LIST_ID, "email": EMAIL, "add": [], "remove": ["VIP"]}),
        ("untag_customer", {"customer_id": int(BOB), "tags": ["VIP"]}),
    ]
    assert len(enqueued) == 6


async def test_a_refused_tag_leaves_neither_the_tag_nor_a_write_back(
        platforms, enqueued, sync_engine, http, mint_token):
    # A partner without a grant to write this customer: refused inside the transaction.
    with sync_engine.begin() as conn:
        partner = create_partner(conn, f"partner-{uuid.uuid4().hex[:10]}", "SUPPLIER")
    try:
        from tests.api.conftest import Api

        api = Api(http, mint_token(WRITER, kind=ClientKind.PARTNER, partner_id=partner))
        data = await api.query(TAG, {"id": gid("Customer", platforms.bob), "tags": ["VIP"]})
        assert data["customerTag"]["errors"][0]["code"] == "NOT_FOUND"
        with Session(sync_engine) as session:
            assert session.scalars(select(CustomerTag).where(
                CustomerTag.customer_id == platforms.bob)).all() == []
        assert platforms.write_backs() == [] and enqueued == []
    finally:
        with Session(sync_engine) as session, session.begin():
            session.execute(delete(Partner).where(Partner.id == partner))


async def test_marketing_consent_travels_when_what_is_in_force_changes(
        writer, platforms, enqueued):
    bob = gid("Customer", platforms.bob)
    decided = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    withdraw = {"customerId": bob, "purpose": "MARKETING_EMAIL", "status": "WITHDRAWN",
                "source": "support call", "evidence": {"agent": "ana"},
                "recordedAt": decided.isoformat()}
    data = await writer.query(CONSENT, {"input": withdraw})
    payload = data["consentRecord"]
    assert payload["errors"] == []
    assert payload["consent"] == {"purpose": "MARKETING_EMAIL", "status": "WITHDRAWN",
                                  "source": "support call", "recordedAt": decided.isoformat(),
                                  "evidence": {"agent": "ana"}}
    assert sorted(platforms.write_backs(), key=str) == sorted([
        (platforms.shop, "set_email_marketing_consent",
         {"customer_id": int(BOB), "state": "unsubscribed", "opt_in_level": None,
          "consent_updated_at": decided.isoformat().replace("+00:00", "Z")}),
        (platforms.audience, "unsubscribe", {"list_id": LIST_ID, "email": EMAIL}),
    ], key=str)
    assert len(enqueued) == 2

    # The same decision again, an older opposite one, another purpose: nothing travels.
    await writer.query(CONSENT, {"input": {**withdraw, "recordedAt": None}})
    older = {**withdraw, "status": "GRANTED",
             "recordedAt": (decided - timedelta(days=1)).isoformat()}
    await writer.query(CONSENT, {"input": older})
    await writer.query(CONSENT, {"input": {**withdraw, "purpose": "PROFILING",
                                           "status": "GRANTED", "recordedAt": None}})
    assert len(platforms.write_backs()) == 2

    # A newer opt-in does.
    await writer.query(CONSENT, {"input": {**withdraw, "status": "GRANTED", "recordedAt": None}})
    assert sorted(w[1] for w in platforms.write_backs()[2:]) == [
        "set_email_marketing_consent", "subscribe"]


@pytest.mark.parametrize(("change", "field"), [
    ({"customerId": "nope"}, "customerId"),
    ({"evidence": ["not", "an", "object"]}, "evidence"),
    ({"source": " "}, "source"),
    ({"recordedAt": "2999-01-01T00:00:00+00:00"}, "recordedAt"),
])
async def test_consent_input_errors_are_typed(writer, platforms, enqueued, change, field):
    given = {"customerId": gid("Customer", platforms.bob), "purpose": "MARKETING_EMAIL",
             "status": "GRANTED", **change}
    data = await writer.query(CONSENT, {"input": given})
    assert [(e["code"], e["field"]) for e in data["consentRecord"]["errors"]] == [
        ("INVALID", field)]
    assert platforms.write_backs() == [] and enqueued == []


async def test_replies_go_to_the_platform_the_interaction_came_from(
        writer, platforms, enqueued, sync_engine):
    data = await writer.query(REPLY, {"id": gid("Interaction", platforms.comment),
                                      "text": " Thanks, Bob! "})
    assert data["interactionReply"]["errors"] == [] and data["interactionReply"]["queued"] == 1
    data = await writer.query(REPLY, {"id": gid("Interaction", platforms.message),
                                      "text": "It ships today."})
    assert data["interactionReply"]["queued"] == 1
    assert platforms.write_backs() == [
        (platforms.page, "reply_to_comment", {"comment_id": COMMENT, "message": "Thanks, Bob!"}),
        (platforms.page, "reply_to_message", {"recipient_id": PSID, "text": "It ships today."}),
    ]
    assert len(enqueued) == 2
    with Session(sync_engine) as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "interaction.reply",
            AuditEvent.record_id == str(platforms.comment))).all()
    assert len(events) == 1 and "Thanks" not in str(events[0].details)


@pytest.mark.parametrize(("which", "text", "code", "field"), [
    ("note", "Hello", "NOT_REPLIABLE", "interactionId"),
    ("message", "x" * 2001, "INVALID_PARAMS", "text"),  # over Messenger's 2000 characters
    ("comment", "   ", "INVALID", "text"),
    (None, "Hello", "NOT_FOUND", "interactionId"),
])
async def test_reply_errors_are_typed_and_queue_nothing(
        writer, platforms, enqueued, which, text, code, field):
    target = getattr(platforms, which) if which else uuid.uuid4()
    data = await writer.query(REPLY, {"id": gid("Interaction", target), "text": text})
    payload = data["interactionReply"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert platforms.write_backs() == [] and enqueued == []


async def test_admins_run_any_action_once_per_key(admin, platforms, enqueued):
    given = {"connectionId": gid("Connection", platforms.audience), "action": "subscribe",
             "params": {"list_id": LIST_ID, "email": EMAIL}, "idempotencyKey": "ops-1"}
    first = (await admin.query(RUN, {"input": given}))["writeBackRun"]
    assert first["errors"] == []
    assert {k: v for k, v in first["writeBack"].items() if k != "id"} == {
        "action": "subscribe", "idempotencyKey": "ops-1", "status": "PENDING", "attempts": 0,
        "params": {"list_id": LIST_ID, "email": EMAIL, "double_opt_in": False,
                   "merge_fields": {}},
        "connection": {"name": first["writeBack"]["connection"]["name"]}}
    again = (await admin.query(RUN, {"input": given}))["writeBackRun"]
    assert again["writeBack"]["id"] == first["writeBack"]["id"]
    assert {kwargs["write_back_id"] for _, kwargs in enqueued} == {
        str(from_global_id(first["writeBack"]["id"])[1])}

    listed = await admin.query(WRITE_BACKS, {"id": gid("Connection", platforms.audience),
                                             "statuses": ["PENDING"]})
    assert listed["connection"]["writeBacks"]["totalCount"] == 1
    done = await admin.query(WRITE_BACKS, {"id": gid("Connection", platforms.audience),
                                           "statuses": ["DONE", "DEAD"]})
    assert done["connection"]["writeBacks"]["totalCount"] == 0


@pytest.mark.parametrize(("given", "code", "field"), [
    ({"action": "delete_member"}, "UNKNOWN_ACTION", "action"),
    ({"params": {"list_id": LIST_ID, "email": "not an address"}}, "INVALID_PARAMS", "params"),
    ({"params": ["a", "list"]}, "INVALID_PARAMS", "params"),
    ({"connectionId": "nope"}, "INVALID", "connectionId"),
    ({"idempotencyKey": "k" * 201}, "INVALID_PARAMS", "idempotencyKey"),
])
async def test_write_back_run_errors_are_typed(admin, platforms, enqueued, given, code, field):
    base = {"connectionId": gid("Connection", platforms.audience), "action": "unsubscribe",
            "params": {"list_id": LIST_ID, "email": EMAIL}}
    data = await admin.query(RUN, {"input": {**base, **given}})
    assert [(e["code"], e["field"]) for e in data["writeBackRun"]["errors"]] == [(code, field)]
    assert enqueued == []


@pytest.mark.parametrize("status", [ConnectionStatus.PAUSED, ConnectionStatus.NEEDS_REAUTH])
async def test_a_paused_or_unauthorised_connection_refuses(admin, platforms, enqueued, status):
    platforms.set_status(platforms.audience, status)
    data = await admin.query(RUN, {"input": {
        "connectionId": gid("Connection", platforms.audience), "action": "unsubscribe",
        "params": {"list_id": LIST_ID, "email": EMAIL}}})
    assert [e["code"] for e in data["writeBackRun"]["errors"]] == [status.value]
    assert enqueued == []


async def test_partners_and_non_admins_cannot_run_or_list_write_backs(
        platforms, enqueued, writer, http, mint_token, sync_engine):
    from tests.api.conftest import Api

    with sync_engine.begin() as conn:
        partner = create_partner(conn, f"partner-{uuid.uuid4().hex[:10]}", "AGENCY")
    try:
        # A partner's token never carries connections:admin, whatever its client asked for.
        as_partner = Api(http, mint_token(f"connections:admin {WRITER}", kind=ClientKind.PARTNER,
                                          partner_id=partner))
        given = {"input": {"connectionId": gid("Connection", platforms.audience),
                           "action": "unsubscribe",
                           "params": {"list_id": LIST_ID, "email": EMAIL}}}
        for client in (as_partner, writer):
            body = (await client.post(RUN, given)).json()
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert body["data"]["writeBackRun"] is None
            body = (await client.post(WRITE_BACKS, {"id": gid("Connection", platforms.audience)})
                    ).json()
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert enqueued == []
        with Session(sync_engine) as session:
            assert session.scalars(select(WriteBack).where(
                WriteBack.connection_id == platforms.audience)).all() == []
    finally:
        with Session(sync_engine) as session, session.begin():
            session.execute(delete(Partner).where(Partner.id == partner))
