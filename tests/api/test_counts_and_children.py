"""totalCount and nested lists that load with their page: the same answers as counting by hand.

A nested connection's ``totalCount`` rides along in its page statement when the page has
no cursor, and is counted apart when it has one; a root connection's rides along as a
subquery unless the page is empty. Order lines load with their orders' page when the
query asks for them. Each way must give the numbers the database gives.
"""

from __future__ import annotations

from sqlalchemy import event, func, select

from hub.api.core.ids import to_global_id
from hub.models import Customer, Order, OrderLine
from hub.models.enums import CustomerStatus

ORDERS = """
query($id: ID!, $after: String, $first: Int) { customer(id: $id) {
  orders(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id number lines { sku quantity } } }
  }
} }
"""

CUSTOMERS = """
query($after: String) { customers(first: 7, after: $after) {
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { node { id } }
} }
"""


def customer_with_most_orders(sync_engine):
    with sync_engine.connect() as conn:
        customer_id, orders = conn.execute(
            select(Order.customer_id, func.count())
            .group_by(Order.customer_id)
            .order_by(func.count().desc(), Order.customer_id)
            .limit(1)
        ).one()
        lines = dict(
            conn.execute(
                select(OrderLine.order_id, func.count())
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.customer_id == customer_id)
                .group_by(OrderLine.order_id)
            ).all()
        )
    return customer_id, orders, lines


async def test_nested_total_count_is_the_same_with_and_without_a_cursor(internal, sync_engine):
    customer_id, expected, _ = customer_with_most_orders(sync_engine)
    assert expected >= 3
    variables = {"id": to_global_id("Customer", customer_id), "first": 2}
    first = (await internal.query(ORDERS, variables))["customer"]["orders"]
    assert first["totalCount"] == expected
    assert first["pageInfo"]["hasNextPage"] is True
    after = {**variables, "after": first["pageInfo"]["endCursor"]}
    second = (await internal.query(ORDERS, after))["customer"]["orders"]
    assert second["totalCount"] == expected
    seen = {e["node"]["id"] for e in first["edges"]} | {e["node"]["id"] for e in second["edges"]}
    assert len(seen) == 4
    # Cursors made lazily still name each edge's own row.
    assert first["edges"][-1]["cursor"] == first["pageInfo"]["endCursor"]


async def test_lines_loaded_with_their_orders_page_are_each_orders_own(internal, sync_engine):
    customer_id, orders, lines = customer_with_most_orders(sync_engine)
    variables = {"id": to_global_id("Customer", customer_id), "first": 50}
    page = (await internal.query(ORDERS, variables))["customer"]["orders"]
    assert len(page["edges"]) == orders
    with sync_engine.connect() as conn:
        numbers = dict(
            conn.execute(
                select(Order.number, Order.id).where(Order.customer_id == customer_id)
            ).all()
        )
    for edge in page["edges"]:
        order_id = numbers[edge["node"]["number"]]
        assert len(edge["node"]["lines"]) == lines.get(order_id, 0)


async def test_root_total_count_on_every_page_and_past_the_last(internal, sync_engine):
    with sync_engine.connect() as conn:
        active = Customer.status == CustomerStatus.ACTIVE
        expected = conn.scalar(select(func.count()).select_from(Customer).where(active))
    after = None
    pages = 0
    while True:
        data = (await internal.query(CUSTOMERS, {"after": after}))["customers"]
        assert data["totalCount"] == expected
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert pages == -(-expected // 7)
    # Past the last row the page is empty, and the count is still counted.
    past = (await internal.query(CUSTOMERS, {"after": data["pageInfo"]["endCursor"]}))["customers"]
    assert past["edges"] == [] and past["totalCount"] == expected


PAGE_OF_FEW_FIELDS = """
{ customers(first: 5) { edges { node {
  id displayName %s
  orders(first: 2) { edges { node { number total } } }
} } } }
"""


async def statements_of(app, internal, query: str) -> list[str]:
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        data = await internal.query(query)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(data["customers"]["edges"]) == 5
    return seen


async def test_pages_select_the_columns_their_fields_read(app, internal):
    statements = await statements_of(app, internal, PAGE_OF_FEW_FIELDS % "")
    customers = next(s for s in statements if "FROM customers" in s and "orders" not in s)
    orders = next(s for s in statements if "FROM orders" in s)
    assert "display_name" in customers and "search_text" not in customers
    assert "orders.total" in orders and "subtotal" not in orders
    # A field whose resolver does not say what it reads gets the whole row.
    statements = await statements_of(app, internal, PAGE_OF_FEW_FIELDS % "tags")
    customers = next(s for s in statements if "FROM customers" in s and "orders" not in s)
    assert "search_text" in customers
