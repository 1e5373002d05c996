"""The endpoint over HTTP: methods, media types, and bad input that must never become a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.api.conftest import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
def statements(app):
    """Counts SQL statements the app runs during a test."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


async def post_raw(internal: Api, content: bytes, content_type: str = "application/json"):
    headers = {**internal.headers, "Content-Type": content_type}
    return await internal.http.post("/graphql", content=content, headers=headers)


def code_of(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_get_runs_a_query(internal):
    response = await internal.http.get(
        "/graphql", params={"query": "{ __typename }"}, headers=internal.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json()["data"] == {"__typename": "Query"}


async def test_get_refuses_a_mutation_with_405(internal):
    response = await internal.http.get(
        "/graphql", params={"query": "mutation { __typename }"}, headers=internal.headers
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_other_methods_are_405(internal):
    response = await internal.http.put("/graphql", headers=internal.headers)
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


async def test_legacy_json_is_served_as_asked(internal):
    headers = {**internal.headers, "Accept": "application/json"}
    response = await internal.http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_unacceptable_accept_is_406(internal):
    headers = {**internal.headers, "Accept": "application/xml"}
    response = await internal.http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 406


async def test_browser_gets_graphiql(http):
    response = await http.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(
    "content, status",
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"query": 42}', 400),
        (b'{"query": ""}', 400),
        (b'{"query": "{ __typename }", "variables": [1]}', 400),
        (b'{"query": "{ __typename }", "operationName": 3}', 400),
        (b'{"query": "{ __typename }", "extensions": "x"}', 400),
    ],
)
async def test_malformed_bodies_are_400_with_a_message(internal, content, status):
    response = await post_raw(internal, content)
    assert response.status_code == status
    assert response.json()["errors"][0]["message"]


async def test_wrong_content_type_is_415(internal):
    response = await post_raw(internal, b"query { __typename }", "text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json()["errors"][0]["message"]


async def test_oversized_body_is_413(internal, app):
    limit = app.state.settings.api.max_body_bytes
    response = await post_raw(internal, b'{"query": "' + b" " * limit + b'{ __typename }"}')
    assert response.status_code == 413


async def test_unparsable_document_is_400(internal):
    response = await internal.post("{ customers { ")
    assert response.status_code == 400
    assert code_of(response) == "GRAPHQL_PARSE_FAILED"


async def test_unknown_field_is_400_and_named(internal):
    response = await internal.post("{ customers { edges { node { shoeSize } } } }")
    assert response.status_code == 400
    assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
    assert "shoeSize" in response.json()["errors"][0]["message"]


async def test_unknown_operation_name_is_400(internal):
    response = await internal.http.post(
        "/graphql",
        json={"query": "query A { __typename } query B { __typename }", "operationName": "C"},
        headers=internal.headers,
    )
    assert response.status_code == 400


async def test_variables_of_the_wrong_type_are_400(internal):
    response = await internal.post(
        "query($n: Int) { customers(first: $n) { totalCount } }", {"n": "many"}
    )
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_over_deep_query_never_reaches_a_resolver(internal, statements):
    deep = "{ customers { edges { node { " + "mergedInto { " * 12 + "id" + " }" * 12 + " } } } }"
    response = await internal.post(deep)
    assert response.status_code == 400
    assert code_of(response) == "DEPTH_LIMIT_EXCEEDED"
    # Only the bearer token was looked up.
    assert len(statements) == 1


async def test_too_many_aliases(internal, statements):
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    response = await internal.post(query)
    assert response.status_code == 400
    assert code_of(response) == "ALIAS_LIMIT_EXCEEDED"
    assert len(statements) == 1


async def test_over_costly_query_is_refused_with_its_cost(internal, statements):
    query = """{ customers(first: 250) { edges { node {
      orders(first: 250) { edges { node { lines { sku title quantity unitPrice total } } } }
    } } } }"""
    response = await internal.post(query)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"]
    assert len(statements) == 1


async def test_cost_is_reported(internal):
    response = await internal.post("{ customers(first: 10) { edges { node { id } } } }")
    # customers (1) + 10 x (edges (1) + node (1) + id (1))
    assert response.json()["extensions"]["cost"]["estimated"] == 31


@pytest.mark.parametrize("size", [251, 10_000])
async def test_oversized_page_is_refused(internal, size, statements):
    response = await internal.post(
        "query($n: Int) { customers(first: $n) { totalCount } }", {"n": size}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"
    assert "250" in error["message"]
    assert len(statements) == 1


async def test_negative_page_is_a_clear_error(internal):
    response = await internal.post("{ customers(first: -1) { totalCount } }")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "negative" in body["errors"][0]["message"]


@pytest.mark.parametrize("bad_id", ["", "x", "Q3VzdG9tZXI6bm90LWEtdXVpZA", "%%%", "A" * 300])
async def test_invalid_ids_are_a_clear_error(internal, bad_id):
    response = await internal.post("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_invalid_cursor_is_a_clear_error(internal):
    response = await internal.post('{ customers(after: "garbage") { totalCount } }')
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_cursor_of_another_ordering_is_refused(internal):
    data = await internal.query("{ customers(first: 1) { pageInfo { endCursor } } }")
    cursor = data["customers"]["pageInfo"]["endCursor"]
    response = await internal.post(
        'query($c: String) { customers(after: $c, orderBy: {field: NAME}) { totalCount } }',
        {"c": cursor},
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "ordering" in error["message"]


async def test_naive_timestamp_filter_is_taken_as_utc(internal):
    data = await internal.query(
        '{ customers(filter: {createdAfter: "2000-01-01T00:00:00"}) { totalCount } }'
    )
    assert data["customers"]["totalCount"] > 0


async def test_bad_timestamp_is_a_validation_error(internal):
    response = await internal.post('{ customers(filter: {createdAfter: "yesterday"}) { totalCount } }')
    assert response.status_code == 400
    assert "yesterday" in response.json()["errors"][0]["message"]
