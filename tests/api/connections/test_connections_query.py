"""connections / connection(id): the configuration, bookmarks, runs and dead letters of each."""

from __future__ import annotations

from sqlalchemy import event

from hub.models.enums import ConnectionStatus, SyncRunStatus
from tests.api.connections.conftest import ADMIN, gid

LIST = """
query($connector: String, $first: Int, $after: String) {
  connections(filter: {connector: $connector}, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name connector status } }
  }
}
"""

ONE = """
query($id: ID!) {
  connection(id: $id) {
    id name connector config schedule status statusMessage createdAt
    streams { name bookmark updatedAt }
    syncRuns(first: 10) {
      totalCount
      edges { node {
        id stream status fullRefresh error startedAt finishedAt
        counts { read created updated unchanged deleted failed }
      } }
    }
    deadLetters(first: 10) {
      totalCount
      edges { node { stream externalId error createdAt resolvedAt syncRun { id } } }
    }
  }
}
"""

PAYLOADS = """
query($id: ID!) {
  connection(id: $id) { deadLetters(first: 10) { edges { node { externalId payload } } } }
}
"""


async def test_connections_page_by_name_with_a_total(admin, add_connection, ns):
    for suffix in ("c", "a", "b"):
        add_connection(suffix, connector=ns)

    first = (await admin.query(LIST, {"connector": ns, "first": 2}))["connections"]
    assert first["totalCount"] == 3
    assert [e["node"]["name"] for e in first["edges"]] == [f"{ns}-a", f"{ns}-b"]
    assert first["pageInfo"]["hasNextPage"] is True

    rest = (await admin.query(LIST, {"connector": ns, "first": 2,
                                     "after": first["pageInfo"]["endCursor"]}))["connections"]
    assert [e["node"]["name"] for e in rest["edges"]] == [f"{ns}-c"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert {e["node"]["connector"] for e in first["edges"] + rest["edges"]} == {ns}


async def test_filter_by_status_and_order_newest_first(admin, add_connection, ns):
    add_connection("ok", connector=ns)
    add_connection("stuck", connector=ns, status=ConnectionStatus.NEEDS_REAUTH)
    query = """query($c: String) {
      connections(filter: {connector: $c, statuses: [NEEDS_REAUTH]}) { edges { node { name } } }
      newest: connections(filter: {connector: $c}, orderBy: {field: CREATED_AT, direction: DESC}) {
        edges { node { name } }
      }
    }"""
    data = await admin.query(query, {"c": ns})
    assert [e["node"]["name"] for e in data["connections"]["edges"]] == [f"{ns}-stuck"]
    assert [e["node"]["name"] for e in data["newest"]["edges"]] == [f"{ns}-stuck", f"{ns}-ok"]


async def test_one_connection_with_its_bookmarks_runs_and_dead_letters(
    admin, add_connection, add_run, add_dead_letter, add_stream_state, ns
):
    connection_id = add_connection(
        "shop", schedule="*/15 * * * *", status=ConnectionStatus.FAILING,
        status_message="orders: HTTPError: 503",
    )
    add_stream_state(connection_id, "orders", {"updated_at": "2026-05-01T08:00:00+00:00"})
    add_stream_state(connection_id, "customers", None)
    older = add_run(connection_id, 0, records_read=10, records_created=10)
    newer = add_run(connection_id, 60, stream="orders", status=SyncRunStatus.FAILED,
                    full_refresh=True, records_read=3, records_created=1, records_updated=1,
                    records_unchanged=0, records_deleted=0, records_failed=1,
                    error="HTTPError: 503")
    add_dead_letter(connection_id, newer, 61, stream="orders", external_id="450789469")

    node = (await admin.query(ONE, {"id": gid("Connection", connection_id)}))["connection"]

    assert node["id"] == gid("Connection", connection_id)
    assert (node["name"], node["connector"], node["schedule"]) == (
        f"{ns}-shop", "shopify", "*/15 * * * *")
    assert node["config"] == {"shop_domain": f"{ns}.myshopify.com"}
    assert (node["status"], node["statusMessage"]) == ("FAILING", "orders: HTTPError: 503")
    assert node["streams"] == [
        {"name": "customers", "bookmark": None, "updatedAt": "2026-05-01T09:00:00+00:00"},
        {"name": "orders", "bookmark": {"updated_at": "2026-05-01T08:00:00+00:00"},
         "updatedAt": "2026-05-01T09:00:00+00:00"},
    ]
    runs = node["syncRuns"]
    assert runs["totalCount"] == 2
    assert [e["node"]["id"] for e in runs["edges"]] == [gid("SyncRun", newer), gid("SyncRun", older)]
    latest = runs["edges"][0]["node"]
    assert latest == {
        "id": gid("SyncRun", newer), "stream": "orders", "status": "FAILED", "fullRefresh": True,
        "error": "HTTPError: 503", "startedAt": "2026-05-01T10:00:00+00:00",
        "finishedAt": "2026-05-01T10:00:30+00:00",
        "counts": {"read": 3, "created": 1, "updated": 1, "unchanged": 0, "deleted": 0,
                   "failed": 1},
    }
    assert runs["edges"][1]["node"]["counts"]["created"] == 10
    letters = node["deadLetters"]
    assert letters["totalCount"] == 1
    assert letters["edges"][0]["node"] == {
        "stream": "orders", "externalId": "450789469",
        "error": "MappingError: shopify customer: the record has no id",
        "createdAt": "2026-05-01T10:01:00+00:00", "resolvedAt": None,
        "syncRun": {"id": gid("SyncRun", newer)},
    }


async def test_runs_filter_order_and_page(admin, add_connection, add_run):
    connection_id = add_connection("runs")
    ids = [add_run(connection_id, m, status=status) for m, status in (
        (0, SyncRunStatus.SUCCEEDED), (10, SyncRunStatus.PARTIAL), (20, SyncRunStatus.SUCCEEDED),
        (30, SyncRunStatus.FAILED))]
    query = """query($id: ID!, $after: String) { connection(id: $id) {
      failedOrPartial: syncRuns(filter: {statuses: [FAILED, PARTIAL]}) {
        totalCount edges { node { id } } }
      oldest: syncRuns(first: 2, after: $after, orderBy: {field: STARTED_AT, direction: ASC}) {
        pageInfo { hasNextPage endCursor } edges { node { id } } }
    } }"""
    first = (await admin.query(query, {"id": gid("Connection", connection_id)}))["connection"]
    assert [e["node"]["id"] for e in first["failedOrPartial"]["edges"]] == [
        gid("SyncRun", ids[3]), gid("SyncRun", ids[1])]
    assert first["failedOrPartial"]["totalCount"] == 2
    assert [e["node"]["id"] for e in first["oldest"]["edges"]] == [
        gid("SyncRun", i) for i in ids[:2]]
    after = first["oldest"]["pageInfo"]["endCursor"]
    rest = (await admin.query(query, {"id": gid("Connection", connection_id),
                                      "after": after}))["connection"]
    assert [e["node"]["id"] for e in rest["oldest"]["edges"]] == [
        gid("SyncRun", i) for i in ids[2:]]
    assert rest["oldest"]["pageInfo"]["hasNextPage"] is False


async def test_open_dead_letters_only(admin, add_connection, add_dead_letter):
    from tests.api.connections.conftest import T0

    connection_id = add_connection("letters")
    add_dead_letter(connection_id, None, 1, external_id="open-one")
    add_dead_letter(connection_id, None, 2, external_id="dealt-with", resolved_at=T0)
    query = """query($id: ID!) { connection(id: $id) {
      open: deadLetters(filter: {resolved: false}) { edges { node { externalId } } }
      resolved: deadLetters(filter: {resolved: true}) { edges { node { externalId } } }
    } }"""
    data = (await admin.query(query, {"id": gid("Connection", connection_id)}))["connection"]
    assert [e["node"]["externalId"] for e in data["open"]["edges"]] == ["open-one"]
    assert [e["node"]["externalId"] for e in data["resolved"]["edges"]] == ["dealt-with"]


async def test_the_raw_payload_needs_read_pii_as_well(as_scopes, add_connection, add_dead_letter):
    connection_id = add_connection("pii")
    add_dead_letter(connection_id, None, 5)
    variables = {"id": gid("Connection", connection_id)}

    response = await as_scopes(ADMIN).post(PAYLOADS, variables)
    body = response.json()
    (edge,) = body["data"]["connection"]["deadLetters"]["edges"]
    assert edge["node"] == {"externalId": "x5", "payload": None}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["missingScopes"] == ["customers:read_pii"]
    assert error["path"][-1] == "payload"

    data = await as_scopes(f"{ADMIN} customers:read_pii").query(PAYLOADS, variables)
    (edge,) = data["connection"]["deadLetters"]["edges"]
    assert edge["node"]["payload"] == {"id": 5, "email": "person5@example.com"}


async def test_credentials_are_not_in_the_schema(admin, add_connection):
    connection_id = add_connection("secret")
    fields = await admin.query('{ __type(name: "Connection") { fields { name } } }')
    names = {f["name"] for f in fields["__type"]["fields"]}
    assert not {n for n in names if "credential" in n.lower() or "secret" in n.lower()}
    response = await admin.post(
        "query($id: ID!) { connection(id: $id) { credentials } }",
        {"id": gid("Connection", connection_id)},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_everything_needs_connections_admin(as_scopes, add_connection, add_run):
    connection_id = add_connection("guarded")
    run_id = add_run(connection_id, 0)
    reader = as_scopes("customers:read customers:read_pii")
    for query, variables in (
        ("{ connections { totalCount } }", None),
        ("query($id: ID!) { connection(id: $id) { name } }", {"id": gid("Connection", connection_id)}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gid("SyncRun", run_id)}),
    ):
        body = (await reader.post(query, variables)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
        assert body["errors"][0]["extensions"]["missingScopes"] == [ADMIN]
        assert body["data"] in (None, {"connections": None}, {"connection": None}, {"node": None})


async def test_runs_and_connections_are_nodes(admin, add_connection, add_run, ns):
    connection_id = add_connection("node")
    run_id = add_run(connection_id, 0)
    query = """query($run: ID!, $conn: ID!) {
      run: node(id: $run) { id ... on SyncRun { stream connection { name } } }
      conn: node(id: $conn) { id ... on Connection { name } }
    }"""
    data = await admin.query(query, {"run": gid("SyncRun", run_id),
                                      "conn": gid("Connection", connection_id)})
    assert data["run"] == {"id": gid("SyncRun", run_id), "stream": "customers",
                           "connection": {"name": f"{ns}-node"}}
    assert data["conn"] == {"id": gid("Connection", connection_id), "name": f"{ns}-node"}


PAGE_WITH_EVERYTHING = """
query($c: String, $n: Int) { connections(filter: {connector: $c}, first: $n) { edges { node {
  name config streams { name bookmark }
  syncRuns(first: 3) { totalCount edges { node { status connection { name } } } }
  deadLetters(first: 3) { totalCount edges { node { externalId syncRun { stream } } } }
} } } }
"""


async def statements_for(app, api, connector: str, n: int) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = await api.query(PAGE_WITH_EVERYTHING, {"c": connector, "n": n})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(data["connections"]["edges"]) == n
    return len(seen)


async def test_no_n_plus_one(app, admin, add_connection, add_run, add_dead_letter,
                             add_stream_state, ns):
    for i in range(6):
        connection_id = add_connection(f"n{i}", connector=ns)
        add_stream_state(connection_id, "customers", {"updated_at": f"2026-05-0{i + 1}"})
        run_id = add_run(connection_id, i)
        add_run(connection_id, 10 + i)
        add_dead_letter(connection_id, run_id, i)
    small = await statements_for(app, admin, ns, 2)
    large = await statements_for(app, admin, ns, 6)
    assert small == large
    # token, page, streams, 2 pages + 2 counts, runs' connections, dead letters' runs
    assert large <= 9
