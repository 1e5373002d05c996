"""The case workflow: every move allowed or refused, in the rules and through caseUpdate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine

from hub.api.core.ids import from_global_id
from hub.cases.sla import SlaClock
from hub.cases.workflow import InvalidTransition, Workflow
from hub.models.enums import CaseStatus
from hub.settings import SlaSettings
from tests.api.cases.people import case_row, change, codes, new_customer, open_case

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
S = CaseStatus
ALLOWED = {
    (S.NEW, S.OPEN),
    (S.OPEN, S.PENDING),
    (S.OPEN, S.RESOLVED),
    (S.PENDING, S.OPEN),
    (S.PENDING, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.OPEN),
    (S.CLOSED, S.OPEN),
}
# The walk that brings a new case to each status.
PATH = {
    S.NEW: [],
    S.OPEN: [S.OPEN],
    S.PENDING: [S.OPEN, S.PENDING],
    S.RESOLVED: [S.OPEN, S.RESOLVED],
    S.CLOSED: [S.OPEN, S.RESOLVED, S.CLOSED],
}
FLOW = Workflow(timedelta(days=14))
CLOCK = SlaClock(SlaSettings())


def a_case(status: CaseStatus, **columns: object) -> SimpleNamespace:
    values = {
        "status": status,
        "priority": "NORMAL",
        "category": "QUESTION",
        "closed_at": None,
        "resolved_at": None,
        "pending_since": None,
        "resolution_due_at": None,
        "resolution_paused_seconds": 0,
    }
    if status is S.CLOSED:
        values["closed_at"] = NOW - timedelta(days=1)
    return SimpleNamespace(**{**values, **columns})


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_move(current: CaseStatus, target: CaseStatus) -> None:
    case = a_case(current)
    if current == target:
        assert FLOW.move(case, target, NOW, CLOCK) == {}
    elif (current, target) in ALLOWED:
        assert FLOW.move(case, target, NOW, CLOCK)["status"] == target
    else:
        with pytest.raises(InvalidTransition) as refused:
            FLOW.move(case, target, NOW, CLOCK)
        message = str(refused.value)
        assert f"from {current} to {target}" in message
        allowed = sorted(t for (f, t) in ALLOWED if f == current)
        assert sorted(refused.value.allowed) == allowed
        assert message.endswith(f"it can go to: {', '.join(refused.value.allowed)}.")


def test_moves_stamp_the_case() -> None:
    assert FLOW.move(a_case(S.OPEN), S.RESOLVED, NOW, CLOCK) == {
        "status": S.RESOLVED,
        "resolved_at": NOW,
    }
    assert FLOW.move(a_case(S.RESOLVED, resolved_at=NOW), S.CLOSED, NOW, CLOCK) == {
        "status": S.CLOSED,
        "closed_at": NOW,
    }
    reopened = FLOW.move(a_case(S.CLOSED, resolved_at=NOW - timedelta(days=2)), S.OPEN, NOW, CLOCK)
    assert reopened == {"status": S.OPEN, "resolved_at": None, "closed_at": None}
    assert FLOW.move(a_case(S.OPEN), S.PENDING, NOW, CLOCK) == {
        "status": S.PENDING,
        "pending_since": NOW,
    }
    no_pause = SlaClock(SlaSettings(pause_while_pending=False))
    assert FLOW.move(a_case(S.OPEN), S.PENDING, NOW, no_pause) == {"status": S.PENDING}


def test_leaving_pending_moves_resolution_back_by_the_business_time_paused() -> None:
    # NORMAL runs in business hours (09-17 UTC): pending Friday 16:00 to Monday 10:00 is 2h.
    due = datetime(2025, 3, 12, 12, tzinfo=UTC)
    case = a_case(
        S.PENDING,
        pending_since=datetime(2025, 3, 7, 16, tzinfo=UTC),
        resolution_due_at=due,
        resolution_paused_seconds=600,
    )
    values = FLOW.move(case, S.OPEN, datetime(2025, 3, 10, 10, tzinfo=UTC), CLOCK)
    assert values == {
        "status": S.OPEN,
        "pending_since": None,
        "resolution_due_at": datetime(2025, 3, 12, 14, tzinfo=UTC),
        "resolution_paused_seconds": 600 + 2 * 3600,
    }


def test_closed_cases_reopen_only_within_the_window() -> None:
    closed = a_case(S.CLOSED, closed_at=NOW - timedelta(days=15))
    assert FLOW.allowed(closed, NOW) == ()
    with pytest.raises(InvalidTransition, match="more than 14 days ago") as refused:
        FLOW.check(closed, S.OPEN, NOW)
    assert str(refused.value).endswith("From CLOSED it can go to: nothing.")
    assert FLOW.allowed(a_case(S.CLOSED, closed_at=NOW - timedelta(days=13)), NOW) == (S.OPEN,)
    never = Workflow(timedelta(0))
    with pytest.raises(InvalidTransition, match="Closed cases cannot be reopened"):
        never.check(a_case(S.CLOSED), S.OPEN, NOW)
    # A resolved case reopens however long ago it was resolved.
    assert S.OPEN in FLOW.allowed(a_case(S.RESOLVED, resolved_at=NOW - timedelta(days=400)), NOW)


async def _walk(api, case_gid: str, statuses: list[CaseStatus]) -> dict:
    case = None
    for status in statuses:
        payload = await change(api, case_gid, status=status.value)
        assert payload["errors"] == [], payload["errors"]
        case = payload["case"]
    return case


async def test_every_status_through_the_api(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    for current, path in PATH.items():
        case = await open_case(staff, customer)
        if path:
            case = await _walk(staff, case["id"], path)
        assert case["status"] == current
        allowed = sorted(t.value for (f, t) in ALLOWED if f == current)
        assert sorted(case["allowedStatuses"]) == allowed
        for target in S:
            if target == current or target.value in allowed:
                continue
            payload = await change(staff, case["id"], status=target.value)
            assert payload["case"] is None
            assert codes(payload) == [("INVALID_TRANSITION", "status")]
            message = payload["errors"][0]["message"]
            assert f"from {current} to {target}" in message and ", ".join(allowed) in message
        # Setting the status it has is no change at all.
        same = await change(staff, case["id"], status=current.value)
        assert same["errors"] == [] and same["case"]["status"] == current
        row = case_row(sync_engine, from_global_id(case["id"])[1])
        assert row.status == current
        assert (row.resolved_at is not None) == (current in (S.RESOLVED, S.CLOSED))
        assert (row.closed_at is not None) == (current is S.CLOSED)


async def test_reopening_through_the_api(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    closed_at = datetime(2025, 3, 3, 12, tzinfo=UTC)
    with time_machine.travel(closed_at, tick=False):
        case = await _walk(staff, (await open_case(staff, customer))["id"], PATH[S.CLOSED])
        other = await _walk(staff, (await open_case(staff, customer))["id"], PATH[S.CLOSED])
        resolved = await _walk(staff, (await open_case(staff, customer))["id"], PATH[S.RESOLVED])
    with time_machine.travel(closed_at + timedelta(days=13), tick=False):
        reopened = await change(staff, case["id"], status="OPEN")
        assert reopened["errors"] == []
        assert reopened["case"]["closedAt"] is None and reopened["case"]["resolvedAt"] is None
    with time_machine.travel(closed_at + timedelta(days=15), tick=False):
        late = await change(staff, other["id"], status="OPEN")
        assert codes(late) == [("INVALID_TRANSITION", "status")]
        assert "more than 14 days ago" in late["errors"][0]["message"]
        assert (await change(staff, resolved["id"], status="OPEN"))["errors"] == []
    assert case_row(sync_engine, from_global_id(other["id"])[1]).status == S.CLOSED
