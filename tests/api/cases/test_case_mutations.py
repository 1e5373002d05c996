"""caseCreate, caseUpdate, caseAssign, caseCommentAdd: typed errors, defaults, and case numbers."""

from __future__ import annotations

import asyncio
import threading
import uuid

from sqlalchemy import func, select

from hub.api.core.ids import from_global_id
from hub.cases.numbers import next_case_number
from hub.models import Case, CaseComment
from hub.models.audit import AuditEvent
from tests.api.cases.people import (
    ASSIGN,
    CREATE,
    case_row,
    change,
    codes,
    comment,
    gid,
    new_customer,
    new_partner,
    new_user,
    open_case,
)


async def test_create_opens_a_new_case(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    case = await open_case(
        staff,
        customer,
        subject="  Wrong size delivered  ",
        description="Ordered M, got XL.",
        priority="HIGH",
        category="REQUEST",
        channel="EMAIL",
    )
    assert (case["status"], case["priority"], case["category"], case["channel"]) == (
        "NEW",
        "HIGH",
        "REQUEST",
        "EMAIL",
    )
    assert case["subject"] == "Wrong size delivered"
    assert case["allowedStatuses"] == ["OPEN"] and case["comments"] == []
    row = case_row(sync_engine, from_global_id(case["id"])[1])
    assert row.customer_id == customer and row.number == case["number"]
    assert row.first_response_due_at is not None and row.shared_with_partner_id is None


async def test_create_errors_are_typed(staff, sync_engine) -> None:
    customer = gid("Customer", new_customer(sync_engine))
    good = {"customerId": customer, "subject": "Hello", "category": "QUESTION"}
    cases = [
        ({**good, "customerId": gid("Customer", uuid.uuid4())}, "NOT_FOUND", "customerId"),
        ({**good, "customerId": "nonsense"}, "INVALID", "customerId"),
        ({**good, "customerId": gid("Order", uuid.uuid4())}, "INVALID", "customerId"),
        ({**good, "subject": "   "}, "INVALID", "subject"),
        ({**good, "subject": "x" * 501}, "INVALID", "subject"),
        ({**good, "description": "x" * 20_001}, "INVALID", "description"),
    ]
    before = _count_cases(sync_engine)
    for variables, code, field in cases:
        payload = (await staff.query(CREATE, {"input": variables}))["caseCreate"]
        assert payload["case"] is None
        assert codes(payload) == [(code, field)], variables
    assert _count_cases(sync_engine) == before


async def test_writes_need_cases_write(as_scopes, sync_engine) -> None:
    customer = gid("Customer", new_customer(sync_engine))
    body = (
        await as_scopes("cases:read customers:read").post(
            CREATE, {"input": {"customerId": customer, "subject": "x", "category": "QUESTION"}}
        )
    ).json()
    assert body["data"] == {"caseCreate": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_concurrent_creates_get_distinct_consecutive_numbers(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    created = await asyncio.gather(
        *(open_case(staff, customer, subject=f"Case {i}") for i in range(8))
    )
    numbers = sorted(case["number"] for case in created)
    assert numbers == list(range(numbers[0], numbers[0] + 8))
    with sync_engine.connect() as conn:
        stored = conn.scalars(select(Case.number).where(Case.customer_id == customer)).all()
    assert sorted(stored) == numbers


def test_numbers_taken_in_overlapping_transactions_never_collide(sync_engine) -> None:
    """Threads each hold a transaction open after taking a number: the others wait, then go on."""
    threads, barrier, taken, failures = 6, threading.Barrier(6), [], []

    def take() -> None:
        try:
            barrier.wait()
            with sync_engine.begin() as conn:
                number = next_case_number(conn)
                threading.Event().wait(0.05)  # hold the counter a little
            taken.append(number)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert sorted(taken) == list(range(min(taken), min(taken) + threads))


def test_a_rolled_back_number_is_issued_again(sync_engine) -> None:
    with sync_engine.connect() as conn:
        with conn.begin() as transaction:
            first = next_case_number(conn)
            transaction.rollback()
        with conn.begin():
            assert next_case_number(conn) == first


async def test_comments_default_to_internal_for_staff(staff, sync_engine) -> None:
    case = await open_case(staff, new_customer(sync_engine))
    note = await comment(staff, case["id"], "Customer sounded upset.")
    assert note["errors"] == [] and note["comment"]["visibility"] == "INTERNAL"
    # An internal note is no response to the customer.
    assert note["case"]["firstRespondedAt"] is None and note["case"]["status"] == "NEW"
    assert codes(await comment(staff, case["id"], "  ")) == [("INVALID", "body")]
    answered = await comment(staff, case["id"], "We are sorry.", "SHARED")
    first = answered["case"]["firstRespondedAt"]
    assert first is not None and answered["case"]["status"] == "OPEN"
    again = await comment(staff, case["id"], "Update: shipped.", "SHARED")
    assert again["case"]["firstRespondedAt"] == first
    assert [c["visibility"] for c in again["case"]["comments"]] == ["INTERNAL", "SHARED", "SHARED"]


async def test_closed_cases_take_no_changes_until_reopened(staff, sync_engine) -> None:
    case = await open_case(staff, new_customer(sync_engine))
    for status in ("OPEN", "RESOLVED", "CLOSED"):
        assert (await change(staff, case["id"], status=status))["errors"] == []
    refused = await comment(staff, case["id"], "One more thing", "SHARED")
    assert codes(refused) == [("CLOSED", "caseId")]
    agent = gid("User", new_user(sync_engine))
    assigned = (await staff.query(ASSIGN, {"caseId": case["id"], "assigneeId": agent}))[
        "caseAssign"
    ]
    assert codes(assigned) == [("CLOSED", "caseId")]
    assert codes(await change(staff, case["id"], priority="URGENT")) == [("CLOSED", "id")]
    with sync_engine.connect() as conn:
        count = conn.scalar(
            select(func.count()).where(CaseComment.case_id == from_global_id(case["id"])[1])
        )
    assert count == 0
    # Reopening and changing at once is fine.
    reopened = await change(staff, case["id"], status="OPEN", subject="Reopened: still broken")
    assert reopened["errors"] == [] and reopened["case"]["subject"] == "Reopened: still broken"


async def test_assign_and_unassign(staff, sync_engine) -> None:
    case = await open_case(staff, new_customer(sync_engine))
    agent = new_user(sync_engine, name="Dana Agent")
    payload = await staff.query(ASSIGN, {"caseId": case["id"], "assigneeId": gid("User", agent)})
    assert payload["caseAssign"]["case"]["assignee"] == {
        "id": gid("User", agent),
        "name": "Dana Agent",
    }
    assert case_row(sync_engine, from_global_id(case["id"])[1]).assignee_user_id == agent
    # A partner's user works only cases shared with that partner.
    outsider = new_user(sync_engine, new_partner(sync_engine))
    refused = await staff.query(ASSIGN, {"caseId": case["id"], "assigneeId": gid("User", outsider)})
    assert codes(refused["caseAssign"]) == [("NOT_ALLOWED", "assigneeId")]
    unknown = await staff.query(
        ASSIGN, {"caseId": case["id"], "assigneeId": gid("User", uuid.uuid4())}
    )
    assert codes(unknown["caseAssign"]) == [("NOT_FOUND", "assigneeId")]
    cleared = (await staff.query(ASSIGN, {"caseId": case["id"]}))["caseAssign"]
    assert cleared["errors"] == [] and cleared["case"]["assignee"] is None


async def test_update_changes_text_and_keeps_what_is_not_given(staff, sync_engine) -> None:
    case = await open_case(staff, new_customer(sync_engine), description="First words")
    updated = await change(staff, case["id"], subject="Better subject")
    assert updated["case"]["subject"] == "Better subject"
    assert updated["case"]["description"] == "First words"
    cleared = await change(staff, case["id"], description="")
    assert cleared["case"]["description"] is None
    assert codes(await change(staff, case["id"], subject="")) == [("INVALID", "subject")]
    assert codes(await change(staff, "bogus")) == [("INVALID", "id")]


def _count_cases(sync_engine) -> int:
    with sync_engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Case))


async def test_writes_are_audited_by_the_mutation_base(staff, sync_engine) -> None:
    case = await open_case(staff, new_customer(sync_engine), category="COMPLAINT")
    case_id = str(from_global_id(case["id"])[1])
    await comment(staff, case["id"], "A private note about the customer.", "INTERNAL")
    await change(staff, case["id"], status="CLOSED")  # refused: leaves no event
    events = audit_events(sync_engine, case_id)
    assert [(e.action, e.record_type) for e in events] == [
        ("case.create", "case"),
        ("case.comment", "case"),
    ]
    assert events[0].details == {"category": "COMPLAINT", "priority": "NORMAL", "channel": "WEB"}
    # Which fields were given, never what the comment said.
    assert events[1].fields == ["body", "visibility"]
    assert events[1].details == {"visibility": "INTERNAL"}
    assert "A private note" not in str([tuple(e) for e in events])


def audit_events(sync_engine, record_id: str) -> list:
    with sync_engine.connect() as conn:
        return conn.execute(
            select(AuditEvent.action, AuditEvent.record_type, AuditEvent.fields, AuditEvent.details)
            .where(AuditEvent.record_id == record_id)
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        ).all()
