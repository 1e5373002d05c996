"""customerTag / customerUntag: tags change, the version moves, errors are typed payload data."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hub.api.core.ids import to_global_id
from hub.models import Customer, CustomerTag
from hub.models.enums import CustomerStatus

TAG = """
mutation($id: ID!, $tags: [String!]!) {
  customerTag(customerId: $id, tags: $tags) {
    customer { id tags version }
    errors { field code message }
  }
}
"""
UNTAG = TAG.replace("customerTag", "customerUntag")


def a_customer(sync_engine) -> tuple[uuid.UUID, int]:
    with sync_engine.connect() as conn:
        return conn.execute(
            select(Customer.id, Customer.version)
            .where(Customer.status == CustomerStatus.ACTIVE)
            .order_by(Customer.created_at)
            .limit(1)
        ).one()


def tags_in_db(sync_engine, customer_id) -> list[str]:
    with sync_engine.connect() as conn:
        return sorted(
            conn.execute(select(CustomerTag.tag).where(CustomerTag.customer_id == customer_id)).scalars()
        )


async def test_tag_then_untag(as_scopes, sync_engine):
    api = as_scopes("customers:read customers:write")
    customer_id, version = a_customer(sync_engine)
    gid = to_global_id("Customer", customer_id)
    before = tags_in_db(sync_engine, customer_id)

    data = await api.query(TAG, {"id": gid, "tags": [" test-loyal ", "test-vip", "test-vip"]})
    payload = data["customerTag"]
    assert payload["errors"] == []
    assert {"test-loyal", "test-vip"} <= set(payload["customer"]["tags"])
    assert payload["customer"]["version"] == version + 1
    assert tags_in_db(sync_engine, customer_id) == sorted({*before, "test-loyal", "test-vip"})

    again = (await api.query(TAG, {"id": gid, "tags": ["test-vip"]}))["customerTag"]
    assert again["customer"]["version"] == version + 1, "nothing changed, no new version"

    data = await api.query(UNTAG, {"id": gid, "tags": ["test-loyal", "test-vip", "never-had"]})
    assert data["customerUntag"]["errors"] == []
    assert tags_in_db(sync_engine, customer_id) == before


async def test_errors_are_typed_payload_data(as_scopes, sync_engine):
    api = as_scopes("customers:read customers:write")
    customer_id, _ = a_customer(sync_engine)
    gid = to_global_id("Customer", customer_id)
    cases = [
        ({"id": gid, "tags": ["  "]}, "INVALID", "tags"),
        ({"id": gid, "tags": ["x" * 101]}, "INVALID", "tags"),
        ({"id": gid, "tags": [f"t{i}" for i in range(51)]}, "TOO_MANY", "tags"),
        ({"id": to_global_id("Customer", uuid.uuid4()), "tags": ["a"]}, "NOT_FOUND", "customerId"),
        ({"id": "nonsense", "tags": ["a"]}, "INVALID", "customerId"),
    ]
    for variables, code, field in cases:
        payload = (await api.query(TAG, variables))["customerTag"]
        assert payload["customer"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert not any(t.startswith("t") and t[1:].isdigit() for t in tags_in_db(sync_engine, customer_id))


async def test_needs_customers_write(as_scopes, sync_engine):
    customer_id, _ = a_customer(sync_engine)
    response = await as_scopes("customers:read").post(
        TAG, {"id": to_global_id("Customer", customer_id), "tags": ["x-forbidden"]}
    )
    body = response.json()
    assert body["data"] == {"customerTag": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "x-forbidden" not in tags_in_db(sync_engine, customer_id)


async def test_mutation_over_get_is_refused(internal, sync_engine):
    customer_id, _ = a_customer(sync_engine)
    response = await internal.http.get(
        "/graphql",
        params={"query": 'mutation { customerTag(customerId: "x", tags: ["a"]) { errors { code } } }'},
        headers=internal.headers,
    )
    assert response.status_code == 405
