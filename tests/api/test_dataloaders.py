"""No N+1: a page's relations cost the same number of statements for 5 customers as for 50."""

from __future__ import annotations

from sqlalchemy import event

PAGE_WITH_EVERYTHING = """
query($n: Int) { customers(first: $n) { edges { node {
  id tags birthDate mergedInto { id }
  contactPoints { value } addresses { city } sources { connection externalId } consents { purpose }
  orders(first: 5) { totalCount edges { node { number lines { sku } } } }
  interactions(first: 5) { totalCount edges { node { kind } } }
  cases(first: 5) { totalCount edges { node { subject comments { body } } } }
  feedback(first: 5) { totalCount edges { node { score } } }
} } } }
"""


async def statements_for(app, internal, n: int) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = await internal.query(PAGE_WITH_EVERYTHING, {"n": n})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(data["customers"]["edges"]) == n
    return len(seen)


async def test_statement_count_does_not_grow_with_the_page(app, internal):
    small = await statements_for(app, internal, 5)
    large = await statements_for(app, internal, 50)
    assert small == large
    # token, page, tags, merged-into, contact points, addresses, sources, consents,
    # 4 pages + 4 counts of nested connections, order lines, case comments
    assert large <= 20
