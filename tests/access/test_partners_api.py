"""The partners domain of the API (scope partners:admin): partners, grants, and a partner's client end to end."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from hub.models import utcnow
from tests.access.conftest import Sharing, gid, shareable_customers
from tests.api.conftest import Api

ADMIN = "partners:admin"

PARTNER_CREATE = """
mutation($input: PartnerCreateInput!) {
  partnerCreate(input: $input) { partner { id name kind } errors { field code message } }
}
"""
GRANT_CREATE = """
mutation($input: SharingGrantCreateInput!) {
  sharingGrantCreate(input: $input) {
    grant { id state scopes segment segmentText customerCount customerIds expiresAt partner { name } }
    errors { field code message }
  }
}
"""
GRANT_REVOKE = """
mutation($id: ID!) {
  sharingGrantRevoke(id: $id) { grant { id state revokedAt } errors { field code message } }
}
"""
CLIENT_CREATE = """
mutation($input: PartnerClientCreateInput!) {
  partnerClientCreate(input: $input) { clientId clientSecret partner { id } errors { field code message } }
}
"""
PARTNERS = """
query($first: Int, $after: String, $kind: PartnerKind) {
  partners(first: $first, after: $after, kind: $kind) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name kind grants(includeInactive: true) { id state } } }
  }
}
"""
PARTNER = "query($id: ID!) { partner(id: $id) { id name grants { id state scopes } } }"


def customers(engine, n: int) -> list[uuid.UUID]:
    return shareable_customers(engine)[:n]


async def create_partner(admin: Api, kind: str = "SUPPLIER") -> dict:
    name = f"api-partner-{uuid.uuid4().hex[:8]}"
    data = await admin.query(PARTNER_CREATE, {"input": {"name": name, "kind": kind}})
    assert data["partnerCreate"]["errors"] == []
    return data["partnerCreate"]["partner"]


async def test_partner_create_and_its_errors(as_scopes):
    admin = as_scopes(ADMIN)
    partner = await create_partner(admin, "AGENCY")
    assert partner["kind"] == "AGENCY"
    again = await admin.query(
        PARTNER_CREATE, {"input": {"name": partner["name"], "kind": "AGENCY"}}
    )
    assert again["partnerCreate"] == {
        "partner": None,
        "errors": [
            {
                "field": "name",
                "code": "DUPLICATE",
                "message": f"A partner named {partner['name']!r} exists.",
            }
        ],
    }
    blank = await admin.query(PARTNER_CREATE, {"input": {"name": "  ", "kind": "AGENCY"}})
    assert blank["partnerCreate"]["errors"][0]["code"] == "INVALID"


async def test_everything_needs_partners_admin(as_scopes, sharing: Sharing):
    api = as_scopes("customers:read")
    body = (await api.post(PARTNERS)).json()
    assert body["data"] == {"partners": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = (await api.post(PARTNER_CREATE, {"input": {"name": "x", "kind": "AGENCY"}})).json()
    assert body["data"] == {"partnerCreate": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # node(id) of a partner too
    partner = sharing.partner()
    body = (
        await api.post("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Partner", partner)})
    ).json()
    assert body["data"] == {"node": None} and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_grants_by_list_and_by_segment(as_scopes, sync_engine):
    admin = as_scopes(ADMIN)
    partner = await create_partner(admin)
    listed = [gid("Customer", c) for c in customers(sync_engine, 3)]
    by_list = await admin.query(
        GRANT_CREATE,
        {
            "input": {
                "partnerId": partner["id"],
                "scopes": ["customers:read", "orders:read"],
                "customerIds": listed + listed[:1],
            }
        },
    )
    grant = by_list["sharingGrantCreate"]["grant"]
    assert by_list["sharingGrantCreate"]["errors"] == []
    assert grant["state"] == "ACTIVE" and grant["customerCount"] == 3
    assert sorted(grant["customerIds"]) == sorted(listed)
    assert grant["segment"] is None and grant["partner"]["name"] == partner["name"]

    expires = (utcnow() + timedelta(days=30)).isoformat()
    by_rule = await admin.query(
        GRANT_CREATE,
        {
            "input": {
                "partnerId": partner["id"],
                "scopes": ["customers:read"],
                "segment": "tag=wholesale,lifecycle_stage=CUSTOMER|REPEAT_CUSTOMER,country=de",
                "expiresAt": expires,
            }
        },
    )
    grant = by_rule["sharingGrantCreate"]["grant"]
    assert grant["segment"] == {
        "all": [
            {"tag": "wholesale"},
            {"field": "lifecycle_stage", "in": ["CUSTOMER", "REPEAT_CUSTOMER"]},
            {"field": "country", "eq": "DE"},
        ]
    }
    assert (
        grant["segmentText"] == "tag=wholesale,lifecycle_stage=CUSTOMER|REPEAT_CUSTOMER,country=DE"
    )
    assert grant["customerCount"] is None and grant["customerIds"] is None
    assert grant["expiresAt"] is not None

    as_json = await admin.query(
        GRANT_CREATE,
        {
            "input": {
                "partnerId": partner["id"],
                "scopes": ["customers:read"],
                "segment": {"any": [{"tag": "vip"}, {"not": {"field": "kind", "eq": "PERSON"}}]},
            }
        },
    )
    assert as_json["sharingGrantCreate"]["grant"]["segmentText"].startswith('{"any"')

    shown = await admin.query(PARTNER, {"id": partner["id"]})
    assert len(shown["partner"]["grants"]) == 3


async def test_grant_errors_are_typed_and_say_what_is_wrong(as_scopes, sync_engine):
    admin = as_scopes(ADMIN)
    partner = await create_partner(admin)
    one = gid("Customer", customers(sync_engine, 1)[0])
    cases = [
        ({"scopes": ["customers:read"]}, "customerIds", "INVALID", "exactly one"),
        (
            {"scopes": ["customers:read"], "customerIds": [one], "segment": "tag=x"},
            "customerIds",
            "INVALID",
            "exactly one",
        ),
        ({"scopes": ["orders:read"], "customerIds": [one]}, "scopes", "INVALID", "customers:read"),
        (
            {"scopes": ["customers:read", "webhooks:manage"], "customerIds": [one]},
            "scopes",
            "INVALID",
            "per customer",
        ),
        (
            {"scopes": ["customers:reed"], "customerIds": [one]},
            "scopes",
            "INVALID",
            "unknown scope",
        ),
        (
            {"scopes": ["customers:read"], "segment": "colour=blue"},
            "segment",
            "INVALID",
            "unknown field 'colour'",
        ),
        (
            {"scopes": ["customers:read"], "segment": {"field": "kind", "eq": "ROBOT"}},
            "segment",
            "INVALID",
            "not a kind",
        ),
        (
            {"scopes": ["customers:read"], "segment": {"tag": "x", "extra": 1}},
            "segment",
            "INVALID",
            "expected one of",
        ),
        (
            {"scopes": ["customers:read"], "customerIds": [gid("Customer", uuid.uuid4())]},
            "customerIds",
            "NOT_FOUND",
            "No such customer",
        ),
        (
            {"scopes": ["customers:read"], "customerIds": [gid("Order", uuid.uuid4())]},
            "customerIds",
            "INVALID",
            "not a Customer id",
        ),
        (
            {
                "scopes": ["customers:read"],
                "customerIds": [one],
                "expiresAt": "2020-01-01T00:00:00Z",
            },
            "expiresAt",
            "INVALID",
            "past",
        ),
    ]
    for given, field, code, words in cases:
        data = await admin.query(GRANT_CREATE, {"input": {"partnerId": partner["id"], **given}})
        payload = data["sharingGrantCreate"]
        assert payload["grant"] is None, given
        [error] = payload["errors"]
        assert (error["field"], error["code"]) == (field, code), (given, error)
        assert words in error["message"], (given, error)
    missing = await admin.query(
        GRANT_CREATE,
        {
            "input": {
                "partnerId": gid("Partner", uuid.uuid4()),
                "scopes": ["customers:read"],
                "customerIds": [one],
            }
        },
    )
    assert missing["sharingGrantCreate"]["errors"][0]["field"] == "partnerId"
    assert missing["sharingGrantCreate"]["errors"][0]["code"] == "NOT_FOUND"


async def test_revoking_is_idempotent_and_shows_in_the_state(as_scopes, sync_engine):
    admin = as_scopes(ADMIN)
    partner = await create_partner(admin)
    one = gid("Customer", customers(sync_engine, 1)[0])
    made = await admin.query(
        GRANT_CREATE,
        {"input": {"partnerId": partner["id"], "scopes": ["customers:read"], "customerIds": [one]}},
    )
    grant_id = made["sharingGrantCreate"]["grant"]["id"]
    first = (await admin.query(GRANT_REVOKE, {"id": grant_id}))["sharingGrantRevoke"]
    assert first["grant"]["state"] == "REVOKED" and first["errors"] == []
    second = (await admin.query(GRANT_REVOKE, {"id": grant_id}))["sharingGrantRevoke"]
    assert second == first
    unknown = (await admin.query(GRANT_REVOKE, {"id": gid("SharingGrant", uuid.uuid4())}))[
        "sharingGrantRevoke"
    ]
    assert unknown["errors"][0]["code"] == "NOT_FOUND"
    active = (await admin.query(PARTNER, {"id": partner["id"]}))["partner"]["grants"]
    assert active == []


async def test_partners_connection_pages_and_filters(as_scopes):
    admin = as_scopes(ADMIN)
    kinds = {(await create_partner(admin, "SERVICE_PROVIDER"))["id"] for _ in range(3)}
    seen, after = [], None
    while True:
        data = (
            await admin.query(PARTNERS, {"first": 2, "after": after, "kind": "SERVICE_PROVIDER"})
        )["partners"]
        seen += [e["node"]["id"] for e in data["edges"]]
        assert all(e["node"]["kind"] == "SERVICE_PROVIDER" for e in data["edges"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert kinds <= set(seen) and len(seen) == len(set(seen)) == data["totalCount"]


async def test_a_partner_client_made_through_the_api_sees_its_grant(as_scopes, http, sync_engine):
    admin = as_scopes(ADMIN)
    partner = await create_partner(admin, "RESELLER")
    shared = customers(sync_engine, 2)
    await admin.query(
        GRANT_CREATE,
        {
            "input": {
                "partnerId": partner["id"],
                "scopes": ["customers:read"],
                "customerIds": [gid("Customer", c) for c in shared],
            }
        },
    )
    refused = await admin.query(
        CLIENT_CREATE,
        {
            "input": {
                "partnerId": partner["id"],
                "name": "their app",
                "scopes": ["customers:read", ADMIN],
            }
        },
    )
    assert refused["partnerClientCreate"]["errors"][0]["field"] == "scopes"
    made = (
        await admin.query(
            CLIENT_CREATE,
            {
                "input": {
                    "partnerId": partner["id"],
                    "name": "their app",
                    "scopes": ["customers:read", "orders:read"],
                }
            },
        )
    )["partnerClientCreate"]
    assert made["errors"] == [] and made["clientSecret"] and made["partner"]["id"] == partner["id"]
    token = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "customers:read"},
        auth=httpx.BasicAuth(made["clientId"], made["clientSecret"]),
    )
    assert token.status_code == 200, token.text
    api = Api(http, token.json()["access_token"])
    data = await api.query("{ customers(first: 10) { totalCount edges { node { id } } } }")
    assert data["customers"]["totalCount"] == 2
    assert sorted(e["node"]["id"] for e in data["customers"]["edges"]) == sorted(
        gid("Customer", c) for c in shared
    )
    missing = (
        await admin.query(
            CLIENT_CREATE,
            {
                "input": {
                    "partnerId": gid("Partner", uuid.uuid4()),
                    "name": "x",
                    "scopes": ["customers:read"],
                }
            },
        )
    )["partnerClientCreate"]
    assert missing["errors"][0]["code"] == "NOT_FOUND" and missing["clientSecret"] is None


async def test_a_segment_can_be_written_inline(as_scopes):
    admin = as_scopes(ADMIN)
    partner = await create_partner(admin)
    segment = '{all: [{tag: "vip"}, {field: "lifecycle_stage", in: ["CUSTOMER", "LEAD"]}]}'
    query = (
        f'mutation {{ sharingGrantCreate(input: {{partnerId: "{partner["id"]}", '
        f'scopes: ["customers:read"], segment: {segment}}}) '
        "{ grant { segmentText } errors { message } } }"
    )
    data = await admin.query(query)
    assert data["sharingGrantCreate"] == {
        "grant": {"segmentText": "tag=vip,lifecycle_stage=CUSTOMER|LEAD"},
        "errors": [],
    }
