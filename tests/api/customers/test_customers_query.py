"""customers, customer and node: pages, orderings, filters, search, and Customer360."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.api.core.ids import to_global_id
from hub.models import ContactPoint, Customer, CustomerTag, Order
from hub.models.enums import ContactPointKind, CustomerStatus
from tests.api.conftest import operation

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $order: CustomerOrder,
           $filter: CustomerFilter, $search: String) {
  customers(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
            filter: $filter, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id displayName tags } }
  }
}
"""


def ids_of(page: dict) -> list[str]:
    return [edge["node"]["id"] for edge in page["customers"]["edges"]]


def sql_ids(sync_engine, *where, order=(Customer.created_at.desc(), Customer.id.desc())):
    with sync_engine.connect() as conn:
        rows = conn.execute(
            select(Customer.id).where(Customer.status == CustomerStatus.ACTIVE, *where).order_by(*order)
        ).scalars()
        return [to_global_id("Customer", r) for r in rows]


async def test_first_page_uses_the_default_size_and_counts_all(internal, sync_engine):
    data = await internal.query(PAGE)
    expected = sql_ids(sync_engine)
    assert data["customers"]["totalCount"] == len(expected)
    assert ids_of(data) == expected[:50]
    assert data["customers"]["pageInfo"]["hasNextPage"] is True
    assert data["customers"]["pageInfo"]["hasPreviousPage"] is False


async def test_paging_forward_visits_every_customer_once_in_order(internal, sync_engine):
    seen, after = [], None
    while True:
        data = await internal.query(PAGE, {"first": 17, "after": after})
        seen += ids_of(data)
        info = data["customers"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == sql_ids(sync_engine)


async def test_paging_backward_matches_forward(internal, sync_engine):
    expected = sql_ids(sync_engine)
    seen, before = [], None
    while True:
        data = await internal.query(PAGE, {"last": 23, "before": before})
        seen = ids_of(data) + seen
        info = data["customers"]["pageInfo"]
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert seen == expected


async def test_order_by_name(internal, sync_engine):
    data = await internal.query(
        PAGE, {"first": 40, "order": {"field": "NAME", "direction": "ASC"}}
    )
    expected = sql_ids(sync_engine, order=(Customer.sort_name.asc(), Customer.id.asc()))
    assert ids_of(data) == expected[:40]


async def test_filter_by_tag(internal, sync_engine):
    with sync_engine.connect() as conn:
        tag = conn.execute(
            select(CustomerTag.tag).group_by(CustomerTag.tag).order_by(func.count().desc())
        ).scalars().first()
    data = await internal.query(PAGE, {"first": 250, "filter": {"tags": [tag]}})
    expected = sql_ids(
        sync_engine,
        Customer.id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag == tag)),
    )
    assert expected
    assert ids_of(data) == expected
    assert all(tag in edge["node"]["tags"] for edge in data["customers"]["edges"])


async def test_filter_by_email_is_case_insensitive(internal, sync_engine):
    with sync_engine.connect() as conn:
        customer_id, email = conn.execute(
            select(ContactPoint.customer_id, ContactPoint.normalised_value)
            .where(ContactPoint.kind == ContactPointKind.EMAIL)
            .limit(1)
        ).one()
    data = await internal.query(PAGE, {"filter": {"email": email.upper()}})
    assert to_global_id("Customer", customer_id) in ids_of(data)


async def test_search_finds_by_folded_family_name(internal, sync_engine):
    with sync_engine.connect() as conn:
        name = conn.execute(
            select(Customer.family_name).where(Customer.family_name.is_not(None)).limit(1)
        ).scalar_one()
    data = await internal.query(PAGE, {"search": name.upper(), "first": 250})
    names = [e["node"]["displayName"].casefold() for e in data["customers"]["edges"]]
    assert names and data["customers"]["totalCount"] == len(names)
    assert all(name.casefold() in n for n in names)


async def test_customer360_returns_every_part(internal, sync_engine):
    with sync_engine.connect() as conn:
        customer_id, orders = conn.execute(
            select(Order.customer_id, func.count())
            .group_by(Order.customer_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
    data = await internal.query(
        operation("Customer360"), {"id": to_global_id("Customer", customer_id)}
    )
    customer = data["customer"]
    assert customer["orders"]["totalCount"] == orders
    assert len(customer["orders"]["edges"]) == min(orders, 20)
    first_order = customer["orders"]["edges"][0]["node"]
    assert first_order["lines"], "orders have lines"
    assert customer["contactPoints"], "every demo customer has a contact point"
    assert customer["sources"], "demo customers have provenance"
    placed = [e["node"]["placedAt"] for e in customer["orders"]["edges"]]
    assert placed == sorted(placed, reverse=True)


async def test_node_resolves_an_order_by_global_id(internal, sync_engine):
    with sync_engine.connect() as conn:
        order_id, number = conn.execute(select(Order.id, Order.number).limit(1)).one()
    query = 'query($id: ID!) { node(id: $id) { id __typename ... on Order { number } } }'
    data = await internal.query(query, {"id": to_global_id("Order", order_id)})
    assert data["node"] == {
        "id": to_global_id("Order", order_id),
        "__typename": "Order",
        "number": number,
    }


async def test_unknown_id_answers_null(internal):
    import uuid

    data = await internal.query(
        "query($id: ID!) { customer(id: $id) { id } node(id: $id) { id } }",
        {"id": to_global_id("Customer", uuid.uuid4())},
    )
    assert data == {"customer": None, "node": None}


async def test_customer_with_an_order_id_answers_null(internal, sync_engine):
    with sync_engine.connect() as conn:
        order_id = conn.execute(select(Order.id).limit(1)).scalar_one()
    data = await internal.query(
        "query($id: ID!) { customer(id: $id) { id } }", {"id": to_global_id("Order", order_id)}
    )
    assert data == {"customer": None}
