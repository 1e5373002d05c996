"""No N+1: a page's relations cost the same number of statements for 5 customers as for 30."""

from __future__ import annotations

from sqlalchemy import event, select

from hub.api.core.ids import to_global_id
from hub.models import Case, CaseComment, Order

PAGE_WITH_EVERYTHING = """
query($ids: [ID!]) { customers(first: 30, filter: {ids: $ids}) { edges { node {
  id tags birthDate mergedInto { id }
  contactPoints { value } addresses { city } sources { connection externalId } consents { purpose }
  orders(first: 5) { totalCount edges { node { number lines { sku } } } }
  interactions(first: 5) { totalCount edges { node { kind } } }
  cases(first: 5) { totalCount edges { node { subject comments { body } } } }
  feedback(first: 5) { totalCount edges { node { score } } }
} } } }
"""


def demo_pages(sync_engine) -> tuple[list[str], list[str]]:
    """A page of 5 and a page of 30 customers that both reach every loader.

    Order lines and case comments load only when a page has orders and cases, so
    the small page starts with a customer who has a commented case and one with
    orders; the large page holds the small one and 25 more customers.
    """
    with sync_engine.connect() as conn:
        commented = conn.execute(
            select(Case.customer_id).join(CaseComment, CaseComment.case_id == Case.id).limit(1)
        ).scalar_one()
        buyers = conn.execute(
            select(Order.customer_id).where(Order.customer_id != commented)
            .group_by(Order.customer_id).order_by(Order.customer_id).limit(29)
        ).scalars().all()
    ids = [to_global_id("Customer", i) for i in (commented, *buyers)]
    return ids[:5], ids


async def statements_for(app, internal, ids: list[str]) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = await internal.query(PAGE_WITH_EVERYTHING, {"ids": ids})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(data["customers"]["edges"]) == len(ids)
    return len(seen)


async def test_statement_count_does_not_grow_with_the_page(app, internal, sync_engine):
    small_page, large_page = demo_pages(sync_engine)
    assert len(large_page) == 30
    small = await statements_for(app, internal, small_page)
    large = await statements_for(app, internal, large_page)
    assert small == large
    # token, page, the customers' tags, contact points, addresses, sources and consents in one
    # statement, the 4 pages of nested connections (their totalCount counted in the same
    # statement), order lines, case comments
    assert large == 9


async def test_ids_filter_refuses_too_many_and_bad_ids(internal):
    response = await internal.post(PAGE_WITH_EVERYTHING, {"ids": ["x"] * 251})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    response = await internal.post(PAGE_WITH_EVERYTHING, {"ids": ["nonsense"]})
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_ID"
