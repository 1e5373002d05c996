"""feedbackSubmit: scores on their scales, links to the same customer, and who collected it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.api.core.ids import from_global_id
from hub.models import Consent, Feedback, Order, utcnow
from hub.models.enums import ConsentPurpose, ConsentStatus
from tests.api.cases.people import (
    STAFF_SCOPES,
    codes,
    gid,
    grant,
    new_customer,
    new_partner,
    open_case,
    partner_api,
)
from tests.api.conftest import Api

SUBMIT = """
mutation($input: FeedbackSubmitInput!) {
  feedbackSubmit(input: $input) {
    feedback { id kind score scaleMax comment channel caseId orderId occurredAt }
    errors { field code message }
  }
}
"""


@pytest.fixture(scope="module")
def staff(http, mint_token) -> Api:
    return Api(http, mint_token(STAFF_SCOPES))


async def submit(api: Api, **fields) -> dict:
    return (await api.query(SUBMIT, {"input": fields}))["feedbackSubmit"]


def stored(sync_engine, feedback_gid: str):
    with sync_engine.connect() as conn:
        return conn.execute(
            select(Feedback.__table__).where(Feedback.id == from_global_id(feedback_gid)[1])
        ).one()


async def test_scores_on_their_scales(staff, sync_engine) -> None:
    customer = gid("Customer", new_customer(sync_engine))
    nps = await submit(staff, customerId=customer, kind="NPS", score=9, comment=" Great ")
    assert nps["errors"] == []
    assert (nps["feedback"]["scaleMax"], nps["feedback"]["comment"]) == (10, "Great")
    csat = await submit(
        staff, customerId=customer, kind="CSAT", score=1, scaleMax=5, channel="EMAIL"
    )
    assert csat["feedback"]["scaleMax"] == 5 and csat["feedback"]["channel"] == "EMAIL"
    review = await submit(staff, customerId=customer, kind="REVIEW", score=7, scaleMax=10)
    assert review["feedback"]["scaleMax"] == 10
    row = stored(sync_engine, nps["feedback"]["id"])
    assert (row.kind, row.score, row.scale_max, row.partner_id) == ("NPS", 9, 10, None)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "NPS", "score": 11}, ("OUT_OF_RANGE", "score")),
        ({"kind": "NPS", "score": -1}, ("OUT_OF_RANGE", "score")),
        ({"kind": "NPS", "score": 5, "scaleMax": 5}, ("INVALID", "scaleMax")),
        ({"kind": "CSAT", "score": 0}, ("OUT_OF_RANGE", "score")),
        ({"kind": "CSAT", "score": 6}, ("OUT_OF_RANGE", "score")),
        ({"kind": "CSAT", "score": 4, "scaleMax": 10}, ("INVALID", "scaleMax")),
        ({"kind": "REVIEW", "score": 4}, ("INVALID", "scaleMax")),
        ({"kind": "REVIEW", "score": 4, "scaleMax": 0}, ("OUT_OF_RANGE", "scaleMax")),
        ({"kind": "REVIEW", "score": 4, "scaleMax": 101}, ("OUT_OF_RANGE", "scaleMax")),
        ({"kind": "REVIEW", "score": 6, "scaleMax": 5}, ("OUT_OF_RANGE", "score")),
        ({"kind": "NPS", "score": 5, "comment": "x" * 20_001}, ("INVALID", "comment")),
        ({"kind": "NPS", "score": 5, "customerId": "nope"}, ("INVALID", "customerId")),
        ({"kind": "NPS", "score": 5, "caseId": "nope"}, ("INVALID", "caseId")),
        ({"kind": "NPS", "score": 5, "customerId": "missing"}, ("NOT_FOUND", "customerId")),
        ({"kind": "NPS", "score": 5, "caseId": "missing"}, ("NOT_FOUND", "caseId")),
        ({"kind": "NPS", "score": 5, "orderId": "missing"}, ("NOT_FOUND", "orderId")),
    ],
)
async def test_validation_errors_are_typed(staff, sync_engine, fields, error) -> None:
    customer = new_customer(sync_engine)
    fields = {"customerId": gid("Customer", customer), **fields}
    for name, type_name in (("customerId", "Customer"), ("caseId", "Case"), ("orderId", "Order")):
        if fields.get(name) == "missing":
            fields[name] = gid(type_name, uuid.uuid4())
    payload = await submit(staff, **fields)
    assert payload["feedback"] is None and codes(payload) == [error]
    with sync_engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(Feedback.customer_id == customer)) == 0


async def test_future_feedback_is_refused(staff, sync_engine) -> None:
    customer = gid("Customer", new_customer(sync_engine))
    later = (utcnow() + timedelta(hours=1)).isoformat()
    payload = await submit(staff, customerId=customer, kind="NPS", score=5, occurredAt=later)
    assert codes(payload) == [("INVALID", "occurredAt")]


async def test_links_must_be_the_same_customers(staff, sync_engine) -> None:
    customer, other = new_customer(sync_engine), new_customer(sync_engine)
    case = await open_case(staff, customer)
    others_case = await open_case(staff, other)
    linked = await submit(
        staff, customerId=gid("Customer", customer), kind="CSAT", score=4, caseId=case["id"]
    )
    assert linked["errors"] == [] and linked["feedback"]["caseId"] == case["id"]
    assert stored(sync_engine, linked["feedback"]["id"]).case_id == from_global_id(case["id"])[1]
    wrong = await submit(
        staff, customerId=gid("Customer", customer), kind="CSAT", score=4, caseId=others_case["id"]
    )
    assert codes(wrong) == [("OTHER_CUSTOMER", "caseId")]
    with sync_engine.connect() as conn:
        order_id, owner = conn.execute(select(Order.id, Order.customer_id).limit(1)).one()
    foreign = await submit(
        staff,
        customerId=gid("Customer", customer),
        kind="REVIEW",
        score=3,
        scaleMax=5,
        orderId=gid("Order", order_id),
    )
    assert codes(foreign) == [("OTHER_CUSTOMER", "orderId")]
    own = await submit(
        staff,
        customerId=gid("Customer", owner),
        kind="REVIEW",
        score=3,
        scaleMax=5,
        orderId=gid("Order", order_id),
    )
    assert own["errors"] == [] and own["feedback"]["orderId"] == gid("Order", order_id)


async def test_partner_feedback_is_collected_by_the_partner(
    staff, sync_engine, http, mint_token
) -> None:
    customer, stranger, partner = (
        new_customer(sync_engine),
        new_customer(sync_engine),
        new_partner(sync_engine),
    )
    grant(
        sync_engine, partner, [customer], "customers:read feedback:read feedback:write cases:read"
    )
    api = partner_api(
        http, mint_token, partner, "customers:read feedback:read feedback:write cases:read"
    )
    payload = await submit(api, customerId=gid("Customer", customer), kind="NPS", score=10)
    assert payload["errors"] == []
    assert stored(sync_engine, payload["feedback"]["id"]).partner_id == partner
    # Customers not shared with it, and cases not shared with it, do not exist for the partner.
    assert codes(await submit(api, customerId=gid("Customer", stranger), kind="NPS", score=1)) == [
        ("NOT_FOUND", "customerId")
    ]
    unshared = await open_case(staff, customer)
    refused = await submit(
        api, customerId=gid("Customer", customer), kind="CSAT", score=2, caseId=unshared["id"]
    )
    assert codes(refused) == [("NOT_FOUND", "caseId")]
    # A grant without feedback:write reads only.
    reader = new_partner(sync_engine)
    grant(sync_engine, reader, [customer], "customers:read feedback:read")
    no_write = partner_api(http, mint_token, reader, "customers:read feedback:read feedback:write")
    assert codes(
        await submit(no_write, customerId=gid("Customer", customer), kind="NPS", score=3)
    ) == [("NOT_FOUND", "customerId")]


async def test_needs_feedback_write(as_scopes, sync_engine) -> None:
    body = (
        await as_scopes("feedback:read").post(
            SUBMIT,
            {
                "input": {
                    "customerId": gid("Customer", new_customer(sync_engine)),
                    "kind": "NPS",
                    "score": 3,
                }
            },
        )
    ).json()
    assert body["data"] == {"feedbackSubmit": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_partner_links_only_what_it_can_see(staff, sync_engine, http, mint_token) -> None:
    with sync_engine.connect() as conn:
        # A customer who never withdrew PARTNER_SHARING consent, and one of their orders.
        withdrawn = select(Consent.customer_id).where(
            Consent.purpose == ConsentPurpose.PARTNER_SHARING,
            Consent.status == ConsentStatus.WITHDRAWN,
        )
        order_id, owner = conn.execute(
            select(Order.id, Order.customer_id)
            .where(Order.customer_id.not_in(withdrawn))
            .order_by(Order.id)
            .limit(1)
        ).one()
    reads_orders, blind = new_partner(sync_engine), new_partner(sync_engine)
    scopes = "customers:read cases:read feedback:read feedback:write"
    grant(sync_engine, reads_orders, [owner], f"{scopes} orders:read")
    grant(sync_engine, blind, [owner], scopes)
    case = await open_case(staff, owner)
    await staff.query(
        "mutation($c: ID!, $p: ID!) { caseShare(caseId: $c, partnerId: $p) { errors { code } } }",
        {"c": case["id"], "p": gid("Partner", reads_orders)},
    )
    token_scopes = f"{scopes} orders:read"
    sees = partner_api(http, mint_token, reads_orders, token_scopes)
    linked = await submit(
        sees,
        customerId=gid("Customer", owner),
        kind="CSAT",
        score=5,
        caseId=case["id"],
        orderId=gid("Order", order_id),
    )
    assert linked["errors"] == []
    row = stored(sync_engine, linked["feedback"]["id"])
    assert (row.case_id, row.order_id, row.partner_id) == (
        from_global_id(case["id"])[1],
        order_id,
        reads_orders,
    )
    # The other partner is shared the customer, but neither the case nor its orders.
    before = count_feedback(sync_engine, owner)
    other = partner_api(http, mint_token, blind, token_scopes)
    for link, field in ((case["id"], "caseId"), (gid("Order", order_id), "orderId")):
        refused = await submit(
            other, customerId=gid("Customer", owner), kind="NPS", score=8, **{field: link}
        )
        assert refused["feedback"] is None and codes(refused) == [("NOT_FOUND", field)]
    assert count_feedback(sync_engine, owner) == before


def count_feedback(sync_engine, customer_id: uuid.UUID) -> int:
    with sync_engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(Feedback).where(Feedback.customer_id == customer_id)
        ).scalar()
