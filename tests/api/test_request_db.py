"""How a request's connection ends: reads with a commit, anything that raised with a rollback."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.api.context import RequestDB
from hub.db import create_async_db_engine, is_sqlite
from hub.models import Customer, CustomerTag


@pytest.mark.postgres
async def test_statements_prepared_by_a_request_that_only_read_outlive_it(settings, seeded):
    # psycopg forgets its prepared statements at every rollback: the server would parse
    # and plan every statement of every request again.
    assert not is_sqlite(settings.database_url)
    engine = create_async_db_engine(settings.model_copy(update={"db_pool_size": 1}))
    statement = select(Customer.id).where(Customer.display_name == "request-db-test")
    try:
        for _ in range(8):  # psycopg prepares a statement from its sixth execution on
            db = RequestDB(engine)
            await db.all(statement)
            await db.close()
        db = RequestDB(engine)
        prepared = await db.all(text("SELECT statement FROM pg_prepared_statements"))
        await db.close()
    finally:
        await engine.dispose()
    statements = [row.statement for row in prepared]
    assert any("customers.display_name" in found for found in statements), statements


async def test_what_a_request_wrote_before_a_statement_raised_is_rolled_back(app, seeded):
    tag = f"request-db-{uuid.uuid4().hex[:8]}"

    async def tag_then_fail(conn: AsyncConnection, customer_id: uuid.UUID) -> None:
        await conn.execute(insert(CustomerTag).values(customer_id=customer_id, tag=tag))
        raise RuntimeError("the request fails after writing")

    db = RequestDB(app.state.engine)
    customer_id = await db.scalar(select(Customer.id).limit(1))
    with pytest.raises(RuntimeError):
        await db.using(tag_then_fail, customer_id)
    await db.close()

    db = RequestDB(app.state.engine)
    left = await db.scalar(select(CustomerTag.tag).where(CustomerTag.tag == tag))
    await db.close()
    assert left is None
