"""A partner and the cases shared with it: what it reads, may write, and never learns."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from hub.api.core.ids import from_global_id
from hub.models import CaseComment
from tests.api.cases.people import (
    ASSIGN,
    CASE_FIELDS,
    SHARE,
    UNSHARE,
    case_row,
    change,
    codes,
    comment,
    gid,
    grant,
    new_customer,
    new_partner,
    new_user,
    open_case,
    partner_api,
)

PARTNER_SCOPES = "customers:read cases:read cases:write"
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Case {{ {CASE_FIELDS} }} }} }}"
CUSTOMER_CASES = """
query($id: ID!) { customer(id: $id) { cases(first: 50) { edges { node { id } } } } }
"""
ALL_CASES = "{ cases(first: 250) { totalCount edges { node { id comments { visibility } } } } }"


@pytest.fixture
async def shared(staff, sync_engine, http, mint_token):
    """A customer granted to a partner, one case shared with it and one not, with comments."""
    customer = new_customer(sync_engine, "Shared Customer")
    partner = new_partner(sync_engine)
    grant(sync_engine, partner, [customer], PARTNER_SCOPES)
    case = await open_case(staff, customer, category="COMPLAINT")
    hidden = await open_case(staff, customer)
    payload = await staff.query(SHARE, {"caseId": case["id"], "partnerId": gid("Partner", partner)})
    assert payload["caseShare"]["errors"] == []
    assert payload["caseShare"]["case"]["sharedWithPartnerId"] == gid("Partner", partner)
    await comment(staff, case["id"], "Internal: customer is a known chargeback risk.", "INTERNAL")
    await comment(staff, case["id"], "We have asked the carrier.", "SHARED")
    await comment(staff, hidden["id"], "Not for partners.", "SHARED")
    return {
        "customer": customer,
        "partner": partner,
        "case": case,
        "hidden": hidden,
        "api": partner_api(http, mint_token, partner, PARTNER_SCOPES),
    }


async def test_partner_reads_shared_cases_without_internal_comments(shared) -> None:
    api = shared["api"]
    seen = (await api.query(NODE, {"id": shared["case"]["id"]}))["node"]
    assert seen["id"] == shared["case"]["id"]
    assert [c["body"] for c in seen["comments"]] == ["We have asked the carrier."]
    assert {c["visibility"] for c in seen["comments"]} == {"SHARED"}
    assert (await api.query(NODE, {"id": shared["hidden"]["id"]}))["node"] is None
    listed = (await api.query(ALL_CASES))["cases"]
    ids = {edge["node"]["id"] for edge in listed["edges"]}
    assert ids == {shared["case"]["id"]} and listed["totalCount"] == 1
    assert all(c["visibility"] == "SHARED" for e in listed["edges"] for c in e["node"]["comments"])
    nested = (await api.query(CUSTOMER_CASES, {"id": gid("Customer", shared["customer"])}))[
        "customer"
    ]
    assert [edge["node"]["id"] for edge in nested["cases"]["edges"]] == [shared["case"]["id"]]


async def test_partner_comments_shared_only(shared, sync_engine) -> None:
    api = shared["api"]
    payload = await comment(api, shared["case"]["id"], "Replacement shipped today.")
    assert payload["errors"] == []
    assert payload["comment"]["visibility"] == "SHARED" and payload["comment"]["byPartner"] is True
    assert "Internal: customer is a known chargeback risk." not in str(payload["case"])
    refused = await comment(api, shared["case"]["id"], "Between us.", "INTERNAL")
    assert refused["comment"] is None and codes(refused) == [("NOT_ALLOWED", "visibility")]
    case_id = from_global_id(shared["case"]["id"])[1]
    with sync_engine.connect() as conn:
        rows = conn.execute(
            select(CaseComment.body, CaseComment.visibility, CaseComment.author_partner_id)
            .where(CaseComment.case_id == case_id)
            .order_by(CaseComment.created_at)
        ).all()
    assert rows[-1] == ("Replacement shipped today.", "SHARED", shared["partner"])
    assert "Between us." not in [r.body for r in rows]


async def test_unshared_case_is_not_found_like_a_missing_one(shared, sync_engine) -> None:
    api = shared["api"]
    hidden = await comment(api, shared["hidden"]["id"], "Let me help.")
    missing = await comment(api, gid("Case", uuid.uuid4()), "Let me help.")
    assert hidden == missing
    assert codes(hidden) == [("NOT_FOUND", "caseId")]
    for mutation in (
        change(api, shared["hidden"]["id"], status="PENDING"),
        change(api, gid("Case", uuid.uuid4()), status="PENDING"),
    ):
        assert codes(await mutation) == [("NOT_FOUND", "id")]
    # Staff's shared comment opened it; the partner changed nothing.
    assert case_row(sync_engine, from_global_id(shared["hidden"]["id"])[1]).status == "OPEN"


async def test_partner_works_the_case_as_its_scopes_allow(
    shared, sync_engine, http, mint_token
) -> None:
    api = shared["api"]
    moved = await change(api, shared["case"]["id"], status="OPEN")
    assert moved["errors"] == [] and moved["case"]["status"] == "OPEN"
    own_user = new_user(sync_engine, shared["partner"], "Partner Agent")
    staff_user = new_user(sync_engine, None, "Hub Agent")
    assigned = await api.query(
        ASSIGN, {"caseId": shared["case"]["id"], "assigneeId": gid("User", own_user)}
    )
    assert assigned["caseAssign"]["errors"] == []
    # Hub staff are not the partner's to assign: they do not exist as far as it knows.
    other = await api.query(
        ASSIGN, {"caseId": shared["case"]["id"], "assigneeId": gid("User", staff_user)}
    )
    assert codes(other["caseAssign"]) == [("NOT_FOUND", "assigneeId")]
    # A read-only token is refused before anything runs.
    reader = partner_api(http, mint_token, shared["partner"], "customers:read cases:read")
    response = (
        await reader.post(
            "mutation($i: CaseCommentAddInput!) { caseCommentAdd(input: $i) { errors { code } } }",
            {"i": {"caseId": shared["case"]["id"], "body": "hi"}},
        )
    ).json()
    assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Partners neither share nor unshare.
    for query, variables in (
        (SHARE, {"caseId": shared["hidden"]["id"], "partnerId": gid("Partner", shared["partner"])}),
        (UNSHARE, {"caseId": shared["case"]["id"]}),
    ):
        body = (await api.post(query, variables)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (
        case_row(sync_engine, from_global_id(shared["hidden"]["id"])[1]).shared_with_partner_id
        is None
    )


async def test_a_grant_without_cases_write_reads_only(staff, sync_engine, http, mint_token) -> None:
    customer, partner = new_customer(sync_engine), new_partner(sync_engine)
    grant(sync_engine, partner, [customer], "customers:read cases:read")
    case = await open_case(staff, customer)
    await staff.query(SHARE, {"caseId": case["id"], "partnerId": gid("Partner", partner)})
    api = partner_api(http, mint_token, partner, PARTNER_SCOPES)
    assert (await api.query(NODE, {"id": case["id"]}))["node"]["id"] == case["id"]
    assert codes(await comment(api, case["id"], "hello")) == [("NOT_FOUND", "caseId")]


async def test_partner_opens_cases_on_granted_customers_only(shared, sync_engine) -> None:
    api = shared["api"]
    case = await open_case(api, shared["customer"], subject="Customer called our hotline")
    assert case["sharedWithPartnerId"] == gid("Partner", shared["partner"])
    stranger = new_customer(sync_engine, "Not Shared")
    refused = (
        await api.query(
            "mutation($i: CaseCreateInput!) "
            "{ caseCreate(input: $i) { case { id } errors { field code } } }",
            {
                "i": {
                    "customerId": gid("Customer", stranger),
                    "subject": "x",
                    "category": "QUESTION",
                }
            },
        )
    )["caseCreate"]
    assert refused == {"case": None, "errors": [{"field": "customerId", "code": "NOT_FOUND"}]}


async def test_sharing_needs_a_grant_and_unsharing_takes_the_case_back(
    staff, shared, sync_engine
) -> None:
    lonely = new_partner(sync_engine)
    refused = await staff.query(
        SHARE, {"caseId": shared["hidden"]["id"], "partnerId": gid("Partner", lonely)}
    )
    assert codes(refused["caseShare"]) == [("NOT_ALLOWED", "partnerId")]
    missing = await staff.query(
        SHARE, {"caseId": shared["hidden"]["id"], "partnerId": gid("Partner", uuid.uuid4())}
    )
    assert codes(missing["caseShare"]) == [("NOT_FOUND", "partnerId")]
    agent = new_user(sync_engine, shared["partner"], "Partner Agent")
    await staff.query(ASSIGN, {"caseId": shared["case"]["id"], "assigneeId": gid("User", agent)})
    unshared = (await staff.query(UNSHARE, {"caseId": shared["case"]["id"]}))["caseUnshare"]
    assert unshared["errors"] == []
    assert unshared["case"]["sharedWithPartnerId"] is None and unshared["case"]["assignee"] is None
    assert (await shared["api"].query(NODE, {"id": shared["case"]["id"]}))["node"] is None
    assert codes(await comment(shared["api"], shared["case"]["id"], "still there?")) == [
        ("NOT_FOUND", "caseId")
    ]
