"""Row-level access for partners, path by path: what a grant shares is all a partner ever loads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from hub.models import (
    Case,
    CaseComment,
    Consent,
    Customer,
    CustomerTag,
    Feedback,
    Interaction,
    Order,
    utcnow,
)
from hub.models.enums import CommentVisibility, ConsentPurpose, ConsentStatus, CustomerStatus
from tests.access.conftest import READ_ALL, Sharing, column, gid, shareable_customers

PAGE = """
query Page($first: Int, $after: String, $search: String, $filter: CustomerFilter, $order: CustomerOrder) {
  customers(first: $first, after: $after, search: $search, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id displayName } }
  }
}
"""
NESTED = """
query One($id: ID!) {
  customer(id: $id) {
    id
    orders(first: 50) { totalCount edges { node { id } } }
    interactions(first: 50) { totalCount edges { node { id } } }
    cases(first: 50) { totalCount edges { node { id comments { visibility } } } }
    feedback(first: 50) { totalCount edges { node { id } } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
CUSTOMER = "query($id: ID!) { customer(id: $id) { id displayName } }"
PII = "query($id: ID!) { customer(id: $id) { id birthDate contactPoints { value } } }"
TAG = """
mutation($id: ID!, $tags: [String!]!) {
  customerTag(customerId: $id, tags: $tags) { customer { id tags } errors { field code message } }
}
"""


def add_children(engine, customer: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    """An order, an interaction, two cases and two feedback of the customer, for one test."""
    now = utcnow()
    made = {
        name: [uuid.uuid4() for _ in range(n)]
        for name, n in (("orders", 1), ("interactions", 1), ("cases", 2), ("feedback", 2))
    }
    number = 90_000_000 + uuid.uuid4().int % 9_000_000
    with engine.begin() as conn:
        conn.execute(
            Order.__table__.insert(),
            [
                {
                    "id": i,
                    "customer_id": customer,
                    "number": "T1",
                    "currency": "EUR",
                    "placed_at": now,
                }
                for i in made["orders"]
            ],
        )
        conn.execute(
            Interaction.__table__.insert(),
            [
                {
                    "id": i,
                    "customer_id": customer,
                    "channel": "EMAIL",
                    "kind": "MESSAGE",
                    "direction": "INBOUND",
                    "occurred_at": now,
                }
                for i in made["interactions"]
            ],
        )
        conn.execute(
            Case.__table__.insert(),
            [
                {
                    "id": i,
                    "customer_id": customer,
                    "number": number + n,
                    "subject": "test",
                    "category": "QUESTION",
                    "channel": "EMAIL",
                    "created_at": now + timedelta(seconds=n),
                }
                for n, i in enumerate(made["cases"])
            ],
        )
        conn.execute(
            Feedback.__table__.insert(),
            [
                {
                    "id": i,
                    "customer_id": customer,
                    "kind": "NPS",
                    "score": 9,
                    "scale_max": 10,
                    "channel": "EMAIL",
                    "occurred_at": now + timedelta(seconds=n),
                }
                for n, i in enumerate(made["feedback"])
            ],
        )
    return made


def drop_children(engine, made: dict[str, list[uuid.UUID]]) -> None:
    with engine.begin() as conn:
        for model, name in (
            (Feedback, "feedback"),
            (Case, "cases"),
            (Interaction, "interactions"),
            (Order, "orders"),
        ):
            conn.execute(model.__table__.delete().where(model.id.in_(made[name])))


@dataclass
class World:
    partner: uuid.UUID
    full: uuid.UUID  # shared with every read scope and customers:write
    basic: uuid.UUID  # shared with customers:read only
    unshared: uuid.UUID
    shared_case: uuid.UUID  # a case of `full`, shared with the partner
    unshared_case: uuid.UUID  # another case of `full`, not shared
    foreign_case: uuid.UUID  # a case of `unshared`, shared with the partner
    feedback: list[uuid.UUID]  # two feedback of `full`, neither the partner's


@pytest.fixture
def world(sharing: Sharing, sync_engine) -> Iterator[World]:
    full, basic, unshared = shareable_customers(sync_engine)[:3]
    made = [add_children(sync_engine, c) for c in (full, basic, unshared)]
    partner = sharing.partner()
    sharing.grant(partner, READ_ALL + " customers:write", customers=[full])
    sharing.grant(partner, "customers:read", customers=[basic])
    shared_case, unshared_case = made[0]["cases"]
    foreign_case = made[2]["cases"][0]
    with sync_engine.begin() as conn:
        conn.execute(
            update(Case)
            .where(Case.id.in_([shared_case, foreign_case]))
            .values(shared_with_partner_id=partner)
        )
    try:
        yield World(
            partner,
            full,
            basic,
            unshared,
            shared_case,
            unshared_case,
            foreign_case,
            made[0]["feedback"],
        )
    finally:
        sharing.drop_partners([partner])
        for children in made:
            drop_children(sync_engine, children)


def ids(page: dict) -> list[str]:
    return [edge["node"]["id"] for edge in page["customers"]["edges"]]


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


# -- customers, customer, node ------------------------------------------------------------------


async def test_customers_lists_only_what_grants_share(world: World, sharing: Sharing):
    api = sharing.api(world.partner)
    data = await api.query(PAGE, {"first": 50})
    assert sorted(ids(data)) == sorted([gid("Customer", world.full), gid("Customer", world.basic)])
    assert data["customers"]["totalCount"] == 2


async def test_paging_walks_the_shared_customers_only(world: World, sharing: Sharing):
    api = sharing.api(world.partner)
    seen, after = [], None
    for _ in range(5):
        data = await api.query(PAGE, {"first": 1, "after": after, "order": {"field": "NAME"}})
        seen += ids(data)
        assert data["customers"]["totalCount"] == 2
        if not data["customers"]["pageInfo"]["hasNextPage"]:
            break
        after = data["customers"]["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted([gid("Customer", world.full), gid("Customer", world.basic)])


async def test_search_and_filters_never_reach_unshared_customers(
    world, sharing, internal, sync_engine
):
    api = sharing.api(world.partner)
    name = (await internal.query(CUSTOMER, {"id": gid("Customer", world.unshared)}))["customer"]
    word = name["displayName"].split()[0]
    data = await api.query(PAGE, {"search": word})
    assert gid("Customer", world.unshared) not in ids(data)
    assert data["customers"]["totalCount"] == len(ids(data))
    tags = column(
        sync_engine, select(CustomerTag.tag).where(CustomerTag.customer_id == world.unshared)
    )
    if tags:
        data = await api.query(PAGE, {"filter": {"tags": tags}})
        assert gid("Customer", world.unshared) not in ids(data)
    everyone = {"statuses": ["ACTIVE", "MERGED", "ERASED"]}
    data = await api.query(PAGE, {"filter": everyone, "first": 100})
    assert data["customers"]["totalCount"] == 2


async def test_an_unshared_customer_answers_like_a_missing_one(world: World, sharing: Sharing):
    api = sharing.api(world.partner)
    missing = gid("Customer", uuid.uuid4())
    for query in (CUSTOMER, NODE, PII, NESTED):
        hidden = (await api.post(query, {"id": gid("Customer", world.unshared)})).json()
        absent = (await api.post(query, {"id": missing})).json()
        hidden.pop("extensions"), absent.pop("extensions")
        assert hidden == absent
        assert hidden["data"] in ({"customer": None}, {"node": None})
    shown = await api.query(CUSTOMER, {"id": gid("Customer", world.full)})
    assert shown["customer"]["id"] == gid("Customer", world.full)


async def test_node_of_every_type_follows_its_customer(world: World, sharing: Sharing, sync_engine):
    api = sharing.api(world.partner)

    async def node(type_name: str, id_: uuid.UUID):
        return (await api.query(NODE, {"id": gid(type_name, id_)}))["node"]

    for table, type_name in ((Order, "Order"), (Interaction, "Interaction")):
        mine = column(sync_engine, select(table.id).where(table.customer_id == world.full))[0]
        basic = column(sync_engine, select(table.id).where(table.customer_id == world.basic))[0]
        theirs = column(sync_engine, select(table.id).where(table.customer_id == world.unshared))[0]
        assert (await node(type_name, mine)) == {
            "id": gid(type_name, mine),
            "__typename": type_name,
        }
        assert (
            await node(type_name, basic) is None
        )  # the grant on `basic` carries customers:read only
        assert await node(type_name, theirs) is None
    assert (await node("Customer", world.full))["__typename"] == "Customer"
    assert await node("Customer", world.unshared) is None
    assert (await node("Case", world.shared_case))["__typename"] == "Case"
    assert await node("Case", world.unshared_case) is None
    assert await node("Case", world.foreign_case) is None  # shared, but its customer is not


# -- nested connections -------------------------------------------------------------------------


async def test_nested_connections_and_counts_hold_only_shared_rows(
    world, sharing, internal, sync_engine
):
    api = sharing.api(world.partner)
    mine = (await api.query(NESTED, {"id": gid("Customer", world.full)}))["customer"]
    everything = (await internal.query(NESTED, {"id": gid("Customer", world.full)}))["customer"]
    for name in ("orders", "interactions"):
        assert mine[name] == everything[name]
    assert [e["node"]["id"] for e in mine["cases"]["edges"]] == [gid("Case", world.shared_case)]
    assert mine["cases"]["totalCount"] == 1
    assert everything["cases"]["totalCount"] >= 2
    # Feedback: none collected by the partner or about a shared case yet.
    assert mine["feedback"] == {"totalCount": 0, "edges": []}


async def test_a_grant_without_the_scope_refuses_the_connection(world: World, sharing: Sharing):
    api = sharing.api(world.partner)
    body = (await api.post(NESTED, {"id": gid("Customer", world.basic)})).json()
    customer = body["data"]["customer"]
    assert customer["id"] == gid("Customer", world.basic)
    assert all(customer[name] is None for name in ("orders", "interactions", "cases", "feedback"))
    assert codes(body) == ["FORBIDDEN"] * 4
    assert all("No sharing grant gives you" in e["message"] for e in body["errors"])


async def test_partners_never_see_internal_comments(world, sharing, sync_engine):
    with sync_engine.begin() as conn:
        conn.execute(
            CaseComment.__table__.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "case_id": world.shared_case,
                    "body": "between us",
                    "visibility": CommentVisibility.INTERNAL,
                    "created_at": utcnow(),
                },
                {
                    "id": uuid.uuid4(),
                    "case_id": world.shared_case,
                    "body": "for the partner",
                    "visibility": CommentVisibility.SHARED,
                    "created_at": utcnow(),
                },
            ],
        )
    api = sharing.api(world.partner)
    case = (await api.query(NESTED, {"id": gid("Customer", world.full)}))["customer"]["cases"]
    visibilities = {c["visibility"] for e in case["edges"] for c in e["node"]["comments"]}
    assert visibilities == {"SHARED"}


async def test_feedback_is_the_partners_own_or_about_a_shared_case(world, sharing, sync_engine):
    api = sharing.api(world.partner)
    own, other = world.feedback
    assert (await api.query(NODE, {"id": gid("Feedback", own)}))["node"] is None
    with sync_engine.begin() as conn:
        conn.execute(update(Feedback).where(Feedback.id == own).values(partner_id=world.partner))
    data = (await api.query(NESTED, {"id": gid("Customer", world.full)}))["customer"]["feedback"]
    assert [e["node"]["id"] for e in data["edges"]] == [gid("Feedback", own)]
    assert data["totalCount"] == 1
    assert (await api.query(NODE, {"id": gid("Feedback", own)}))["node"] is not None
    assert (await api.query(NODE, {"id": gid("Feedback", other)}))["node"] is None
    with sync_engine.begin() as conn:
        conn.execute(
            update(Feedback).where(Feedback.id == other).values(case_id=world.unshared_case)
        )
    assert (await api.query(NODE, {"id": gid("Feedback", other)}))["node"] is None
    with sync_engine.begin() as conn:
        conn.execute(update(Feedback).where(Feedback.id == other).values(case_id=world.shared_case))
    assert (await api.query(NODE, {"id": gid("Feedback", other)}))["node"] is not None
    data = (await api.query(NESTED, {"id": gid("Customer", world.full)}))["customer"]["feedback"]
    assert data["totalCount"] == 2


# -- scopes per customer ------------------------------------------------------------------------


async def test_read_pii_comes_only_from_a_grant_that_carries_it(world: World, sharing: Sharing):
    api = sharing.api(world.partner)
    shown = (await api.post(PII, {"id": gid("Customer", world.full)})).json()
    assert "errors" not in shown and shown["data"]["customer"]["contactPoints"] is not None
    refused = (await api.post(PII, {"id": gid("Customer", world.basic)})).json()
    assert refused["data"]["customer"] == {
        "id": gid("Customer", world.basic),
        "birthDate": None,
        "contactPoints": None,
    }
    assert codes(refused) == ["FORBIDDEN", "FORBIDDEN"]
    assert refused["errors"][0]["extensions"]["missingScopes"] == ["customers:read_pii"]


async def test_scopes_of_several_grants_add_up_per_customer(world: World, sharing: Sharing):
    sharing.grant(world.partner, "customers:read customers:read_pii", customers=[world.basic])
    api = sharing.api(world.partner)
    body = (await api.post(PII, {"id": gid("Customer", world.basic)})).json()
    assert "errors" not in body


async def test_the_token_narrows_what_grants_give(world: World, sharing: Sharing):
    api = sharing.api(world.partner, "customers:read orders:read")
    body = (await api.post(PII, {"id": gid("Customer", world.full)})).json()
    assert codes(body) == ["FORBIDDEN", "FORBIDDEN"]
    assert "scope" in body["errors"][0]["message"]
    assert (await api.query(CUSTOMER, {"id": gid("Customer", world.full)}))["customer"]


async def test_admin_scopes_never_reach_a_partner(world: World, sharing: Sharing):
    api = sharing.api(world.partner, "customers:read partners:admin")
    body = (await api.post("{ partners { totalCount } }")).json()
    assert body["data"] == {"partners": None} and codes(body) == ["FORBIDDEN"]


# -- writes -------------------------------------------------------------------------------------


async def test_only_customers_shared_for_writing_can_be_changed(world, sharing, sync_engine):
    api = sharing.api(world.partner, READ_ALL + " customers:write")
    tag = f"t-{uuid.uuid4().hex[:6]}"
    done = await api.query(TAG, {"id": gid("Customer", world.full), "tags": [tag]})
    assert tag in done["customerTag"]["customer"]["tags"]
    answers = []
    for target in (world.basic, world.unshared, uuid.uuid4()):
        answers.append(
            (await api.query(TAG, {"id": gid("Customer", target), "tags": [tag]}))["customerTag"]
        )
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["errors"][0]["code"] == "NOT_FOUND"
    with sync_engine.begin() as conn:
        conn.execute(CustomerTag.__table__.delete().where(CustomerTag.tag == tag))
    assert not column(sync_engine, select(CustomerTag.customer_id).where(CustomerTag.tag == tag))


LOG = """
mutation($input: InteractionLogInput!) {
  interactionLog(input: $input) { interaction { id } errors { field code message } }
}
"""
UNTAG = TAG.replace("customerTag", "customerUntag")


async def test_timeline_and_untag_follow_the_same_write_rule(world, sharing, sync_engine):
    api = sharing.api(world.partner, READ_ALL + " customers:write")
    note = f"n-{uuid.uuid4().hex[:8]}"

    def log(target: uuid.UUID) -> dict:
        return {"input": {"customerId": gid("Customer", target), "kind": "NOTE", "body": note}}

    logged = (await api.query(LOG, log(world.full)))["interactionLog"]
    assert logged["errors"] == [] and logged["interaction"]["id"]
    refused = [
        (await api.query(LOG, log(target)))["interactionLog"]
        for target in (world.basic, world.unshared, uuid.uuid4())
    ]
    assert refused[0] == refused[1] == refused[2]
    assert refused[0]["interaction"] is None and refused[0]["errors"][0]["code"] == "NOT_FOUND"
    with sync_engine.begin() as conn:
        written = conn.execute(
            select(Interaction.customer_id).where(Interaction.body == note)
        ).scalars().all()
        conn.execute(Interaction.__table__.delete().where(Interaction.body == note))
    assert written == [world.full]
    # Untagging is a write too: a customer shared for reading only keeps its tags.
    tag = f"t-{uuid.uuid4().hex[:6]}"
    with sync_engine.begin() as conn:
        conn.execute(
            CustomerTag.__table__.insert(),
            [{"customer_id": c, "tag": tag} for c in (world.full, world.basic)],
        )
    try:
        untagged = [
            (await api.query(UNTAG, {"id": gid("Customer", c), "tags": [tag]}))["customerUntag"]
            for c in (world.full, world.basic)
        ]
        assert untagged[0]["errors"] == [] and tag not in untagged[0]["customer"]["tags"]
        assert untagged[1]["errors"][0]["code"] == "NOT_FOUND"
        left = column(sync_engine, select(CustomerTag.customer_id).where(CustomerTag.tag == tag))
        assert left == [world.basic]
    finally:
        with sync_engine.begin() as conn:
            conn.execute(CustomerTag.__table__.delete().where(CustomerTag.tag == tag))


# -- grants in and out of force, consent --------------------------------------------------------


async def test_an_expired_grant_shares_nothing(sharing: Sharing, sync_engine):
    customer = shareable_customers(sync_engine)[3]
    expired, current = sharing.partner(), sharing.partner()
    sharing.grant(expired, customers=[customer], expires_at=utcnow() - timedelta(seconds=1))
    sharing.grant(current, customers=[customer], expires_at=utcnow() + timedelta(days=1))
    try:
        gone = await sharing.api(expired).query(PAGE)
        assert gone["customers"]["totalCount"] == 0
        assert (await sharing.api(expired).query(CUSTOMER, {"id": gid("Customer", customer)}))[
            "customer"
        ] is None
        here = await sharing.api(current).query(PAGE)
        assert ids(here) == [gid("Customer", customer)]
    finally:
        sharing.drop_partners([expired, current])


async def test_a_revoked_grant_stops_sharing_at_the_next_request(sharing: Sharing, sync_engine):
    customer = shareable_customers(sync_engine)[3]
    made = add_children(sync_engine, customer)
    partner = sharing.partner()
    grant = sharing.grant(partner, customers=[customer])
    api = sharing.api(partner)
    order = made["orders"][0]
    try:
        assert (await api.query(PAGE))["customers"]["totalCount"] == 1
        assert (await api.query(NODE, {"id": gid("Order", order)}))["node"] is not None
        sharing.revoke(grant)
        assert (await api.query(PAGE))["customers"]["totalCount"] == 0
        assert (await api.query(NODE, {"id": gid("Order", order)}))["node"] is None
    finally:
        sharing.drop_partners([partner])
        drop_children(sync_engine, made)


async def test_withdrawn_consent_hides_the_customer_everywhere(sharing: Sharing, sync_engine):
    customer = shareable_customers(sync_engine)[4]
    partner = sharing.partner()
    sharing.grant(partner, segment={"all": [{"field": "status", "eq": "ACTIVE"}]})
    sharing.grant(partner, customers=[customer])
    api = sharing.api(partner)
    made = add_children(sync_engine, customer)
    order = made["orders"][0]
    try:
        before = (await api.query(PAGE, {"first": 250}))["customers"]["totalCount"]
        assert (await api.query(NODE, {"id": gid("Order", order)}))["node"] is not None
        sharing.consent(customer, ConsentStatus.WITHDRAWN)
        assert (await api.query(CUSTOMER, {"id": gid("Customer", customer)}))["customer"] is None
        assert (await api.query(NODE, {"id": gid("Order", order)}))["node"] is None
        after = await api.query(PAGE, {"first": 250})
        assert after["customers"]["totalCount"] == before - 1
        assert gid("Customer", customer) not in ids(after)
        # Consenting again, later, shares it again: the newest decision is in force.
        sharing.consent(customer, ConsentStatus.GRANTED, utcnow() + timedelta(days=3651))
        assert (await api.query(CUSTOMER, {"id": gid("Customer", customer)}))["customer"]
    finally:
        sharing.drop_partners([partner])
        drop_children(sync_engine, made)


async def test_no_consent_record_at_all_means_shared(sharing: Sharing, sync_engine):
    with sync_engine.connect() as conn:
        never_asked = conn.execute(
            select(Customer.id)
            .where(
                Customer.status == CustomerStatus.ACTIVE,
                ~Customer.id.in_(
                    select(Consent.customer_id).where(
                        Consent.purpose == ConsentPurpose.PARTNER_SHARING
                    )
                ),
            )
            .limit(1)
        ).scalar()
        withdrawn_count = conn.execute(
            select(func.count())
            .select_from(Consent)
            .where(Consent.status == ConsentStatus.WITHDRAWN)
        ).scalar()
    assert withdrawn_count > 0
    if never_asked is None:
        pytest.skip("every demo customer has a PARTNER_SHARING decision")
    partner = sharing.partner()
    sharing.grant(partner, customers=[never_asked])
    try:
        shown = await sharing.api(partner).query(CUSTOMER, {"id": gid("Customer", never_asked)})
        assert shown["customer"]["id"] == gid("Customer", never_asked)
    finally:
        sharing.drop_partners([partner])


async def test_a_segment_grant_follows_the_customers_as_they_change(sharing, sync_engine, internal):
    tag = f"seg-{uuid.uuid4().hex[:6]}"
    customer = shareable_customers(sync_engine)[5]
    partner = sharing.partner()
    sharing.grant(partner, segment=f"tag={tag}")
    api = sharing.api(partner)
    try:
        assert (await api.query(PAGE))["customers"]["totalCount"] == 0
        with sync_engine.begin() as conn:
            conn.execute(
                CustomerTag.__table__.insert().values(
                    customer_id=customer, tag=tag, created_at=utcnow()
                )
            )
        assert ids(await api.query(PAGE)) == [gid("Customer", customer)]
    finally:
        with sync_engine.begin() as conn:
            conn.execute(CustomerTag.__table__.delete().where(CustomerTag.tag == tag))
        sharing.drop_partners([partner])


async def test_a_partner_without_grants_sees_nothing(sharing: Sharing):
    api = sharing.api(sharing.partner())
    assert (await api.query(PAGE))["customers"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_a_negated_rule_covers_customers_without_the_field(sharing: Sharing, sync_engine):
    customer = shareable_customers(sync_engine)[6]
    with sync_engine.connect() as conn:
        locale = conn.execute(select(Customer.locale).where(Customer.id == customer)).scalar()
    tag = f"neg-{uuid.uuid4().hex[:6]}"
    partner = sharing.partner()
    sharing.grant(partner, segment=f"tag={tag},locale!=xx-XX")
    with sync_engine.begin() as conn:
        conn.execute(
            CustomerTag.__table__.insert().values(
                customer_id=customer, tag=tag, created_at=utcnow()
            )
        )
        conn.execute(update(Customer).where(Customer.id == customer).values(locale=None))
    try:
        shown = await sharing.api(partner).query(CUSTOMER, {"id": gid("Customer", customer)})
        assert shown["customer"] is not None  # no locale is not the locale xx-XX
    finally:
        with sync_engine.begin() as conn:
            conn.execute(CustomerTag.__table__.delete().where(CustomerTag.tag == tag))
            conn.execute(update(Customer).where(Customer.id == customer).values(locale=locale))
        sharing.drop_partners([partner])
