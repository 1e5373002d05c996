"""SLA clocks on real cases, with the time frozen: due times, breach flags and the breached filter.

The policies are config/default.toml's: URGENT and HIGH around the clock, NORMAL
and LOW in business hours (Monday to Friday 09:00-17:00 UTC), NORMAL complaints
answered within 4 business hours.
"""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from hub.api.core.ids import from_global_id
from tests.api.cases.people import (
    case_row,
    change,
    comment,
    gid,
    new_customer,
    new_partner,
    open_case,
)

FRIDAY_3PM = datetime(2025, 3, 7, 15, 0, tzinfo=UTC)


def at(*args: int) -> str:
    return datetime(*args, tzinfo=UTC).isoformat()


async def test_due_times_over_the_weekend(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    with time_machine.travel(FRIDAY_3PM, tick=False):
        question = await open_case(staff, customer)
        complaint = await open_case(staff, customer, category="COMPLAINT")
        urgent = await open_case(staff, customer, priority="URGENT", category="INCIDENT")
    # 2 business hours left on Friday, the rest from Monday 09:00.
    assert question["firstResponseDueAt"] == at(2025, 3, 10, 15)
    assert question["resolutionDueAt"] == at(2025, 3, 14, 15)
    assert complaint["firstResponseDueAt"] == at(2025, 3, 10, 11)
    # Urgent cases run around the clock.
    assert urgent["firstResponseDueAt"] == at(2025, 3, 7, 16)
    assert urgent["resolutionDueAt"] == at(2025, 3, 7, 23)


async def test_breach_flags_follow_the_clock(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    with time_machine.travel(FRIDAY_3PM, tick=False):
        complaint = await open_case(staff, customer, category="COMPLAINT")
        answered = await open_case(staff, customer, category="COMPLAINT")
    ids = {complaint["id"], answered["id"]}
    with time_machine.travel(datetime(2025, 3, 10, 10, tzinfo=UTC), tick=False):
        # Monday 10:00: within the 4 business hours (due 11:00).
        case = (await staff.query(_NODE, {"id": complaint["id"]}))["node"]
        assert not case["firstResponseBreached"] and case["firstResponseBreachedAt"] is None
        payload = await comment(staff, answered["id"], "We are on it.", "SHARED")
        assert payload["case"]["firstRespondedAt"] == at(2025, 3, 10, 10)
        assert payload["case"]["status"] == "OPEN"
        assert not ids & await _listed(staff, {"breached": True, "shared": False})
    with time_machine.travel(datetime(2025, 3, 10, 11, 30, tzinfo=UTC), tick=False):
        case = (await staff.query(_NODE, {"id": complaint["id"]}))["node"]
        assert case["firstResponseBreached"] is True
        assert case["firstResponseBreachedAt"] == at(2025, 3, 10, 11)
        assert not case["resolutionBreached"]
        # The answered one stays on time however late it now is.
        other = (await staff.query(_NODE, {"id": answered["id"]}))["node"]
        assert not other["firstResponseBreached"]
        assert ids & await _listed(staff, {"breached": True}) == {complaint["id"]}
        assert ids & await _listed(staff, {"firstResponseBreached": False}) == {answered["id"]}
        # An INTERNAL note is no response; a late SHARED one is, and stays late.
        await comment(staff, complaint["id"], "Chasing the carrier.", "INTERNAL")
        assert case_row(sync_engine, _uuid(complaint)).first_responded_at is None
        late = await comment(staff, complaint["id"], "Sorry for the wait.", "SHARED")
        assert late["case"]["firstResponseBreached"] is True
    with time_machine.travel(datetime(2025, 3, 20, 9, tzinfo=UTC), tick=False):
        # Resolution was due Friday 14 March 15:00.
        assert ids & await _listed(staff, {"resolutionBreached": True}) == ids
        resolved = await change(staff, answered["id"], status="RESOLVED")
        assert resolved["case"]["resolutionBreached"] is True
        assert resolved["case"]["resolutionBreachedAt"] == at(2025, 3, 14, 15)


async def test_pending_stops_the_resolution_clock(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    with time_machine.travel(FRIDAY_3PM, tick=False):
        case = await open_case(staff, customer)  # resolution due Friday 14 March 15:00
        await change(staff, case["id"], status="OPEN")
    with time_machine.travel(datetime(2025, 3, 13, 9, tzinfo=UTC), tick=False):
        pending = (await change(staff, case["id"], status="PENDING"))["case"]
        assert pending["slaPaused"] is True
    with time_machine.travel(datetime(2025, 3, 18, 9, tzinfo=UTC), tick=False):
        # Past the due time, but the clock stood still at Thursday 09:00: not late.
        waiting = (await staff.query(_NODE, {"id": case["id"]}))["node"]
        assert waiting["resolutionBreached"] is False
        assert case["id"] not in await _listed(staff, {"resolutionBreached": True})
        back = (await change(staff, case["id"], status="OPEN"))["case"]
    # Thursday 09:00 to Tuesday 09:00 is 24 business hours (Thursday, Friday, Monday):
    # due Friday 14 March 15:00 + 24h = 2h Friday, Monday, Tuesday, 6h Wednesday.
    assert back["slaPaused"] is False
    assert back["resolutionDueAt"] == at(2025, 3, 19, 15)
    assert case_row(sync_engine, _uuid(case)).resolution_paused_seconds == 24 * 3600
    with time_machine.travel(datetime(2025, 3, 19, 14, tzinfo=UTC), tick=False):
        assert (await staff.query(_NODE, {"id": case["id"]}))["node"]["resolutionBreached"] is False
    with time_machine.travel(datetime(2025, 3, 19, 16, tzinfo=UTC), tick=False):
        assert (await staff.query(_NODE, {"id": case["id"]}))["node"]["resolutionBreached"] is True


async def test_priority_change_moves_open_targets_only(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    with time_machine.travel(FRIDAY_3PM, tick=False):
        case = await open_case(staff, customer)
        responded = await open_case(staff, customer)
        await comment(staff, responded["id"], "Looking into it.", "SHARED")
        urgent = (await change(staff, case["id"], priority="URGENT"))["case"]
        assert urgent["firstResponseDueAt"] == at(2025, 3, 7, 16)
        assert urgent["resolutionDueAt"] == at(2025, 3, 7, 23)
        kept = (await change(staff, responded["id"], priority="URGENT"))["case"]
        # The first response was given: its due time stays what it was when it was met.
        assert kept["firstResponseDueAt"] == responded["firstResponseDueAt"]
        assert kept["resolutionDueAt"] == at(2025, 3, 7, 23)


async def test_filters_combine(staff, sync_engine) -> None:
    customer = new_customer(sync_engine)
    partner = new_partner(sync_engine)
    case = await open_case(staff, customer, priority="LOW", category="REQUEST")
    rows = await _listed(
        staff, {"priorities": ["LOW"], "categories": ["REQUEST"], "statuses": ["NEW"]}
    )
    assert case["id"] in rows
    assert case["id"] not in await _listed(staff, {"statuses": ["OPEN"]})
    assert case["id"] not in await _listed(staff, {"sharedWithPartner": gid("Partner", partner)})
    assert case["id"] in await _listed(staff, {"shared": False, "priorities": ["LOW"]})


_NODE = """
query($id: ID!) { node(id: $id) { ... on Case {
  id status firstRespondedAt firstResponseBreached firstResponseBreachedAt
  resolutionBreached resolutionBreachedAt resolutionDueAt slaPaused
} } }
"""


_LIST = """
query($filter: CaseFilter, $after: String) {
  cases(filter: $filter, first: 250, after: $after) {
    edges { cursor node { id } } pageInfo { hasNextPage }
  }
}
"""


async def _listed(api, case_filter: dict) -> set[str]:
    """Ids of every case the filter selects, all pages."""
    found: set[str] = set()
    after = None
    while True:
        connection = (await api.query(_LIST, {"filter": case_filter, "after": after}))["cases"]
        found |= {edge["node"]["id"] for edge in connection["edges"]}
        if not connection["pageInfo"]["hasNextPage"]:
            return found
        after = connection["edges"][-1]["cursor"]


def _uuid(case: dict):
    return from_global_id(case["id"])[1]
