"""Field-level scopes: a field the token may not see answers null with a FORBIDDEN error."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from hub.api.core.ids import to_global_id
from hub.auth.secrets import token_digest
from hub.models import OAuthToken, Order, utcnow
from tests.api.conftest import Api

ONE = """
query { customers(first: 3) { edges { node {
  displayName birthDate contactPoints { value } addresses { city }
  orders(first: 1) { totalCount } interactions { totalCount } cases { totalCount } feedback { totalCount }
} } } }
"""


def forbidden_paths(body: dict) -> set[str]:
    return {
        "/".join(str(p) for p in error["path"] if not isinstance(p, int))
        for error in body.get("errors", [])
        if error["extensions"]["code"] == "FORBIDDEN"
    }


async def test_without_pii_scope_pii_fields_are_null_and_forbidden(as_scopes):
    api = as_scopes("customers:read orders:read")
    response = await api.post(ONE)
    assert response.status_code == 200
    body = response.json()
    assert forbidden_paths(body) == {
        "customers/edges/node/birthDate",
        "customers/edges/node/contactPoints",
        "customers/edges/node/addresses",
        "customers/edges/node/interactions",
        "customers/edges/node/cases",
        "customers/edges/node/feedback",
    }
    for edge in body["data"]["customers"]["edges"]:
        node = edge["node"]
        assert node["displayName"]
        assert node["contactPoints"] is None and node["birthDate"] is None
        assert node["orders"]["totalCount"] >= 0
    error = body["errors"][0]
    assert "Requires" not in error["message"] and "scope" in error["message"]
    assert "traceback" not in response.text.lower()


async def test_without_customers_read_nothing_is_listed(as_scopes):
    body = (await as_scopes("orders:read").post("{ customers { totalCount } }")).json()
    assert body["data"] == {"customers": None}
    assert forbidden_paths(body) == {"customers"}


async def test_node_of_a_type_needs_its_scope(as_scopes, sync_engine):
    with sync_engine.connect() as conn:
        order_id = conn.execute(select(Order.id).limit(1)).scalar_one()
    api = as_scopes("customers:read")
    body = (
        await api.post(
            "query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("Order", order_id)}
        )
    ).json()
    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_no_token_is_401(http):
    response = await Api(http, None).post("{ customers { totalCount } }")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_token_is_401(http):
    response = await Api(http, "not-a-token").post("{ __typename }")
    assert response.status_code == 401


async def test_expired_or_revoked_token_is_401(http, mint_token, sync_engine):
    expired, revoked = mint_token("customers:read"), mint_token("customers:read")
    assert (await Api(http, expired).post("{ __typename }")).status_code == 200
    with sync_engine.begin() as conn:
        conn.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == token_digest(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        conn.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == token_digest(revoked))
            .values(revoked_at=utcnow())
        )
    assert (await Api(http, expired).post("{ __typename }")).status_code == 401
    assert (await Api(http, revoked).post("{ __typename }")).status_code == 401
