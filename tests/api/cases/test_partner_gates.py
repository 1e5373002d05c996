"""What closes a partner's view of cases and feedback, on every path, and what an INTERNAL note never tells it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from hub.api.core.ids import from_global_id
from hub.models import CaseComment, Consent, Feedback, new_id, utcnow
from hub.models.enums import ConsentPurpose, ConsentStatus
from tests.api.cases.people import (
    SHARE,
    change,
    codes,
    comment,
    gid,
    grant,
    new_customer,
    new_partner,
    open_case,
    partner_api,
)

SCOPES = (
    "customers:read customers:write cases:read cases:write feedback:read feedback:write"
)
VIEW = """
query($case: ID!, $feedback: ID!, $customer: ID!) {
  case: node(id: $case) { id }
  feedback: node(id: $feedback) { id }
  customer(id: $customer) { id cases(first: 10) { totalCount } feedback(first: 10) { totalCount } }
  cases(first: 250) { totalCount edges { node { id } } }
  satisfaction(filter: {customerId: $customer}) { total { nps { responses } } }
}
"""
SUBMIT = """
mutation($input: FeedbackSubmitInput!) {
  feedbackSubmit(input: $input) { feedback { id } errors { field code message } }
}
"""
CREATE = """
mutation($input: CaseCreateInput!) { caseCreate(input: $input) { case { id } errors { field code } } }
"""
TAG = """
mutation($id: ID!) { customerTag(customerId: $id, tags: ["gated"]) { errors { field code } } }
"""
UPDATED = "query($id: ID!) { node(id: $id) { ... on Case { updatedAt comments { body } } } }"


def withdraw(sync_engine, customer_id: uuid.UUID) -> None:
    """The customer's newest PARTNER_SHARING decision: withdrawn."""
    with sync_engine.begin() as conn:
        conn.execute(
            insert(Consent.__table__).values(
                id=new_id(),
                customer_id=customer_id,
                purpose=ConsentPurpose.PARTNER_SHARING,
                status=ConsentStatus.WITHDRAWN,
                source="test",
                recorded_at=utcnow() + timedelta(seconds=1),
                evidence={},
            )
        )


def count(sync_engine, table, **where) -> int:
    with sync_engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(table)
            .where(*(getattr(table.c, k) == v for k, v in where.items()))
        ).scalar()


@pytest.fixture
async def worked(staff, sync_engine, http, mint_token):
    """A customer shared with a partner that works a case of theirs and has sent feedback on it."""
    customer, partner = new_customer(sync_engine, "Gated Customer"), new_partner(sync_engine)
    grant(sync_engine, partner, [customer], SCOPES)
    case = await open_case(staff, customer, category="COMPLAINT")
    shared = await staff.query(SHARE, {"caseId": case["id"], "partnerId": gid("Partner", partner)})
    assert shared["caseShare"]["errors"] == []
    api = partner_api(http, mint_token, partner, SCOPES)
    sent = (
        await api.query(
            SUBMIT,
            {"input": {"customerId": gid("Customer", customer), "kind": "NPS", "score": 9,
                       "caseId": case["id"]}},
        )
    )["feedbackSubmit"]
    assert sent["errors"] == []
    return {"customer": customer, "case": case, "feedback": sent["feedback"]["id"], "api": api}


async def test_withdrawn_consent_closes_every_path_at_once(worked, staff, sync_engine) -> None:
    api, customer, case = worked["api"], worked["customer"], worked["case"]
    ids = {"case": case["id"], "feedback": worked["feedback"], "customer": gid("Customer", customer)}
    before = await api.query(VIEW, ids)
    assert before["case"] == {"id": case["id"]} and before["feedback"] == {"id": ids["feedback"]}
    assert before["customer"]["cases"]["totalCount"] == 1
    assert before["customer"]["feedback"]["totalCount"] == 1
    assert [e["node"]["id"] for e in before["cases"]["edges"]] == [case["id"]]
    assert before["satisfaction"]["total"]["nps"]["responses"] == 1

    withdraw(sync_engine, customer)
    comments = count(sync_engine, CaseComment.__table__)
    feedback = count(sync_engine, Feedback.__table__, customer_id=customer)

    # Reads: nothing of the customer is left, and nothing says it was ever there.
    after = await api.query(VIEW, ids)
    assert after["case"] is None and after["feedback"] is None and after["customer"] is None
    assert case["id"] not in [e["node"]["id"] for e in after["cases"]["edges"]]
    assert after["cases"]["totalCount"] == before["cases"]["totalCount"] - 1
    assert after["satisfaction"]["total"]["nps"]["responses"] == 0
    # Writes: every one is NOT_FOUND, exactly as for ids that never existed, and writes nothing.
    missing_case = gid("Case", uuid.uuid4())
    assert await comment(api, case["id"], "Still there?") == await comment(
        api, missing_case, "Still there?"
    )
    assert codes(await comment(api, case["id"], "Still there?")) == [("NOT_FOUND", "caseId")]
    assert codes(await change(api, case["id"], status="OPEN")) == [("NOT_FOUND", "id")]
    submitted = (
        await api.query(
            SUBMIT, {"input": {"customerId": ids["customer"], "kind": "CSAT", "score": 1}}
        )
    )["feedbackSubmit"]
    assert codes(submitted) == [("NOT_FOUND", "customerId")]
    opened = (
        await api.query(
            CREATE,
            {"input": {"customerId": ids["customer"], "subject": "x", "category": "QUESTION"}},
        )
    )["caseCreate"]
    assert opened == {"case": None, "errors": [{"field": "customerId", "code": "NOT_FOUND"}]}
    assert codes((await api.query(TAG, {"id": ids["customer"]}))["customerTag"]) == [
        ("NOT_FOUND", "customerId")
    ]
    assert count(sync_engine, CaseComment.__table__) == comments
    assert count(sync_engine, Feedback.__table__, customer_id=customer) == feedback
    # Staff still see and work all of it.
    seen = await staff.query(VIEW, ids)
    assert seen["case"] == {"id": case["id"]} and seen["customer"]["cases"]["totalCount"] == 1


async def test_an_internal_note_leaves_no_trace_a_partner_can_see(worked, staff) -> None:
    api, case = worked["api"], worked["case"]
    first = (await api.query(UPDATED, {"id": case["id"]}))["node"]
    note = await comment(staff, case["id"], "Chargeback risk; keep it short.", "INTERNAL")
    assert note["errors"] == [] and note["comment"]["visibility"] == "INTERNAL"
    # Not by the case's comments, not by its updatedAt, not as a node of its own.
    again = (await api.query(UPDATED, {"id": case["id"]}))["node"]
    assert again == first
    for type_name in ("CaseComment", "Comment"):
        raw = uuid.UUID(hex=note["comment"]["id"])
        body = (await api.post("query($id: ID!) { node(id: $id) { id } }",
                               {"id": gid(type_name, raw)})).json()
        assert body["data"] == {"node": None} and "Chargeback" not in str(body)
    # A SHARED reply is news to the partner: it moves updatedAt and is listed.
    reply = await comment(staff, case["id"], "The carrier confirmed the damage.", "SHARED")
    assert reply["errors"] == []
    last = (await api.query(UPDATED, {"id": case["id"]}))["node"]
    assert last["updatedAt"] > first["updatedAt"]
    assert [c["body"] for c in last["comments"]] == ["The carrier confirmed the damage."]
    # Staff read both, the note included.
    staffs = (await staff.query(UPDATED, {"id": case["id"]}))["node"]
    assert [c["body"] for c in staffs["comments"]] == [
        "Chargeback risk; keep it short.",
        "The carrier confirmed the damage.",
    ]
    assert from_global_id(case["id"])[0] == "Case"
