"""Each change writes its event in its own transaction: a refused or rolled-back change writes none."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.api.core.ids import from_global_id, to_global_id
from hub.models import OutboxEvent
from hub.sync.engine import SyncFailed, run_stream
from hub.sync.runner import SyncNotStarted, sync_connection
from tests.api.cases.people import new_customer
from tests.sync.factory import customer, map_record, new_connection, pages_of

STAFF = "customers:read customers:write cases:read cases:write feedback:read feedback:write"
ERRORS = "errors { field code message }"


def _events(engine: Engine, subject_id: uuid.UUID) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxEvent).where(OutboxEvent.subject_id == subject_id)
                                    .order_by(OutboxEvent.occurred_at, OutboxEvent.id)))


def _types(engine: Engine, subject_id: uuid.UUID) -> list[str]:
    return [e.type for e in _events(engine, subject_id)]


@pytest.fixture(scope="session")
def staff(api_as):
    return api_as(STAFF)


async def test_customer_tags_emit_customer_updated(staff, engine):
    customer_id = new_customer(engine)
    gid = to_global_id("Customer", customer_id)
    tag = "mutation($id: ID!, $tags: [String!]!) { customerTag(customerId: $id, tags: $tags) { %s } }"
    untag = tag.replace("customerTag", "customerUntag")
    assert (await staff.query(tag % ERRORS, {"id": gid, "tags": ["vip", "b2b"]})
            )["customerTag"]["errors"] == []
    await staff.query(tag % ERRORS, {"id": gid, "tags": ["vip"]})  # nothing new: no event
    await staff.query(untag % ERRORS, {"id": gid, "tags": ["b2b"]})
    events = _events(engine, customer_id)
    assert [e.type for e in events] == ["customer.updated", "customer.updated"]
    assert events[0].payload == {"id": gid, "changed": ["tags"], "tagsAdded": ["b2b", "vip"]}
    assert events[1].payload["tagsRemoved"] == ["b2b"]

    missing = to_global_id("Customer", uuid.uuid4())
    payload = (await staff.query(tag % ERRORS, {"id": missing, "tags": ["x"]}))["customerTag"]
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert _types(engine, uuid.UUID(int=0)) == []


CREATE = """mutation($input: CaseCreateInput!) { caseCreate(input: $input) {
  case { id number } %s } }""" % ERRORS
UPDATE = "mutation($input: CaseUpdateInput!) { caseUpdate(input: $input) { %s } }" % ERRORS
COMMENT = "mutation($input: CaseCommentAddInput!) { caseCommentAdd(input: $input) { %s } }" % ERRORS


async def test_case_changes_emit_their_events(staff, engine):
    customer_id = new_customer(engine)
    created = (await staff.query(CREATE, {"input": {
        "customerId": to_global_id("Customer", customer_id), "subject": "Parcel lost",
        "category": "COMPLAINT"}}))["caseCreate"]
    assert created["errors"] == []
    case_gid = created["case"]["id"]
    case_id = from_global_id(case_gid)[1]

    await staff.query(COMMENT, {"input": {"caseId": case_gid, "body": "We are on it",
                                          "visibility": "SHARED"}})
    await staff.query(UPDATE, {"input": {"id": case_gid, "priority": "HIGH"}})
    # A wrong transition is refused: the change and its event roll back together.
    refused = (await staff.query(UPDATE, {"input": {"id": case_gid, "status": "CLOSED",
                                                   "priority": "LOW"}}))["caseUpdate"]
    assert refused["errors"][0]["code"] == "INVALID_TRANSITION"

    events = _events(engine, case_id)
    assert [e.type for e in events] == ["case.created", "case.commented", "case.updated"]
    assert events[0].payload["number"] == created["case"]["number"]
    assert events[0].payload["customerId"] == to_global_id("Customer", customer_id)
    assert events[1].payload["visibility"] == "SHARED"
    # The first response is met, so only the resolution target follows the new priority.
    assert events[2].payload["changed"] == ["priority", "resolutionDueAt"]


SUBMIT = "mutation($input: FeedbackSubmitInput!) { feedbackSubmit(input: $input) { feedback { id } %s } }" % ERRORS


async def test_feedback_emits_feedback_created(staff, engine):
    customer_id = new_customer(engine)
    gid = to_global_id("Customer", customer_id)
    payload = (await staff.query(SUBMIT, {"input": {"customerId": gid, "kind": "NPS",
                                                    "score": 9}}))["feedbackSubmit"]
    assert payload["errors"] == []
    with Session(engine) as session:
        [event] = session.scalars(select(OutboxEvent).where(
            OutboxEvent.type == "feedback.created",
            OutboxEvent.payload["customerId"].as_string() == gid)).all()
    assert event.payload["score"] == 9 and event.payload["kind"] == "NPS"
    assert event.payload["id"] == payload["feedback"]["id"]

    refused = (await staff.query(SUBMIT, {"input": {"customerId": gid, "kind": "NPS",
                                                    "score": 11}}))["feedbackSubmit"]
    assert refused["errors"]
    with Session(engine) as session:
        assert len(session.scalars(select(OutboxEvent.id).where(
            OutboxEvent.type == "feedback.created",
            OutboxEvent.payload["customerId"].as_string() == gid)).all()) == 1


def test_a_sync_emits_created_then_updated_once_per_customer_per_page(engine):
    ns = f"ev{uuid.uuid4().hex[:8]}"
    connection = new_connection(engine, "events")
    records = [customer(ns, 1), customer(ns, 2), customer(ns, 1, version=5, city="Elsewhere")]
    run_stream(engine, connection, "customers", pages_of(records, 10), map_record)
    with Session(engine) as session:
        created = session.scalars(select(OutboxEvent).where(
            OutboxEvent.payload["connectionId"].as_string()
            == to_global_id("Connection", connection))).all()
    # One page: customer 1 was created and changed in it, one event each customer.
    assert sorted(e.type for e in created) == ["customer.created", "customer.created"]
    assert len({e.subject_id for e in created}) == 2

    run_stream(engine, connection, "customers",
               pages_of([customer(ns, 2, version=9, city="Moved")], 10), map_record)
    with Session(engine) as session:
        types = [e.type for e in session.scalars(select(OutboxEvent).where(
            OutboxEvent.payload["connectionId"].as_string()
            == to_global_id("Connection", connection)))]
    assert sorted(types) == ["customer.created", "customer.created", "customer.updated"]


def test_a_page_that_rolls_back_leaves_no_customer_event(engine):
    ns = f"ev{uuid.uuid4().hex[:8]}"
    connection = new_connection(engine, "events")
    records = [customer(ns, 1), customer(ns, 2), customer(ns, 3), {"type": "explode"}]

    def mapping(raw):
        if raw["type"] == "explode":
            raise RuntimeError("a bug, not a bad record: the whole page rolls back")
        return map_record(raw)

    with pytest.raises(SyncFailed):
        run_stream(engine, connection, "customers", pages_of(records, 2), mapping)
    with Session(engine) as session:
        events = session.scalars(select(OutboxEvent).where(
            OutboxEvent.payload["connectionId"].as_string()
            == to_global_id("Connection", connection))).all()
    # The first page (customers 1 and 2) committed; the second (customer 3, then the bug)
    # rolled back with its event.
    assert sorted(e.type for e in events) == ["customer.created", "customer.created"]


def test_a_sync_that_cannot_start_emits_sync_failed(engine):
    with Session(engine) as session, session.begin():
        from hub.models import Connection

        row = Connection(name=f"events-{uuid.uuid4().hex[:8]}", connector="not-installed")
        session.add(row)
        session.flush()
        connection_id = row.id
    with pytest.raises(SyncNotStarted):
        sync_connection(engine, connection_id)
    [event] = _events(engine, connection_id)
    assert event.type == "sync.failed"
    assert event.payload["connectionStatus"] == "FAILING"
    assert "not-installed" in event.payload["error"] and event.payload["stream"] is None
