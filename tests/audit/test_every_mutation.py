"""Every mutation of the schema answers typed errors and is audited; partners:admin writes too, without secrets."""

from __future__ import annotations

import uuid

import pytest

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType
from hub.api.core.audited import Audited
from hub.api.core.ids import from_global_id
from hub.api.schema import schema
from tests.audit.conftest import events, unique

MUTATIONS = sorted(schema.graphql_schema.mutation_type.fields.items())


def _named(type_):
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


@pytest.mark.parametrize(("name", "field"), MUTATIONS, ids=[name for name, _ in MUTATIONS])
def test_a_mutation_answers_typed_errors_and_declares_its_audit_event(name, field):
    payload = _named(field.type)
    assert isinstance(payload, GraphQLObjectType), name
    errors = payload.fields.get("errors")
    assert errors is not None, f"{name} has no errors field"
    # errors: [XError!]! whose items say which field, what code, and in words.
    assert isinstance(errors.type, GraphQLNonNull)
    assert isinstance(errors.type.of_type, GraphQLList)
    assert isinstance(errors.type.of_type.of_type, GraphQLNonNull)
    error = _named(errors.type)
    assert {"field", "code", "message"} <= set(error.fields), error.name
    assert isinstance(error.fields["code"].type, GraphQLNonNull)
    audit = payload.graphene_type._meta.audit
    assert isinstance(audit, Audited) and audit.action and audit.record_type, name


PARTNER_CREATE = """
mutation($input: PartnerCreateInput!) { partnerCreate(input: $input) { partner { id } errors { code } } }
"""
GRANT_CREATE = """
mutation($input: SharingGrantCreateInput!) {
  sharingGrantCreate(input: $input) { grant { id } errors { code } }
}
"""
GRANT_REVOKE = "mutation($id: ID!) { sharingGrantRevoke(id: $id) { grant { id } errors { code } } }"
CLIENT_CREATE = """
mutation($input: PartnerClientCreateInput!) {
  partnerClientCreate(input: $input) { clientId clientSecret errors { code } }
}
"""


async def test_partner_administration_is_audited_and_no_secret_is_logged(caller, sync_engine):
    api, client_id = caller("partners:admin")
    partner = (
        await api.query(PARTNER_CREATE, {"input": {"name": unique("audited"), "kind": "AGENCY"}})
    )["partnerCreate"]["partner"]["id"]
    grant = (
        await api.query(
            GRANT_CREATE,
            {"input": {"partnerId": partner, "scopes": ["customers:read"], "segment": "tag=vip"}},
        )
    )["sharingGrantCreate"]["grant"]["id"]
    await api.query(GRANT_REVOKE, {"id": grant})
    made = (
        await api.query(
            CLIENT_CREATE,
            {"input": {"partnerId": partner, "name": "their app", "scopes": ["customers:read"]}},
        )
    )["partnerClientCreate"]
    assert made["errors"] == [] and made["clientSecret"]
    # A refused write leaves no event.
    refused = await api.query(
        GRANT_REVOKE, {"id": from_global_id(grant)[0] + ":" + uuid.uuid4().hex}
    )
    assert refused["sharingGrantRevoke"]["errors"]

    logged = events(sync_engine, client_id=client_id)
    assert [(e.action, e.record_type) for e in logged] == [
        ("partner.create", "partner"),
        ("sharing_grant.create", "sharing_grant"),
        ("sharing_grant.revoke", "sharing_grant"),
        ("partner_client.create", "partner_client"),
    ]
    partner_id, grant_id = str(from_global_id(partner)[1]), str(from_global_id(grant)[1])
    assert [e.record_id for e in logged[:3]] == [partner_id, grant_id, grant_id]
    assert all(e.partner_id is None and e.actor_kind == "CLIENT" for e in logged)
    assert made["clientSecret"] not in str([tuple(e) for e in logged])
