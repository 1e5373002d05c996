"""customerMerge, customerUnmerge, mergeSuggestions and mergeSuggestionDismiss over HTTP, each backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.core.ids import from_global_id
from hub.identity.decide import Evidence
from hub.identity.suggestions import suggest
from hub.models import AuditEvent, Customer, SourceRecord
from hub.models.enums import ContactPointKind, CustomerStatus
from hub.sync.records import ContactPointData, PersonData, SourceRecordData
from hub.sync.writer import CanonicalWriter
from tests.api.cases.people import gid, new_partner, partner_api
from tests.sync.factory import new_connection

MERGE = """
mutation($survivor: ID!, $absorbed: ID!) {
  customerMerge(survivorId: $survivor, absorbedId: $absorbed) {
    merge { id rule mergedBy survivor { id } absorbed { id status mergedInto { id } } }
    survivor { id displayName version provenance { field value connector rule observedAt } }
    errors { field code message }
  }
}
"""
UNMERGE = """
mutation($merge: ID, $customer: ID) {
  customerUnmerge(mergeId: $merge, customerId: $customer) {
    merge { id unmergedAt unmergedBy }
    survivor { id displayName }
    customer { id status displayName }
    errors { field code message }
  }
}
"""
CUSTOMER = "query($id: ID!) { customer(id: $id) { id status } node(id: $id) { id } }"
PROVENANCE = """
query($id: ID!) {
  customer(id: $id) {
    provenance { field value connection connector objectType externalId rule observedAt }
  }
}
"""
SUGGESTIONS = """
query($customer: ID, $status: MergeSuggestionStatus) {
  mergeSuggestions(first: 10, filter: {customerId: $customer, status: $status}) {
    totalCount
    edges { node { id probability weight status decidedBy
                   left { id } right { id } evidence { field level weight } } }
  }
}
"""
DISMISS = """
mutation($id: ID!) {
  mergeSuggestionDismiss(id: $id) { suggestion { id status decidedBy } errors { field code } }
}
"""
MERGER = "customers:read customers:merge"


@pytest.fixture(scope="module")
def shop(sync_engine) -> uuid.UUID:
    return new_connection(sync_engine, "merge-api")


def synced(sync_engine, shop: uuid.UUID, given: str, family: str | None) -> uuid.UUID:
    """A customer made by the sync writer from one record; its id."""
    ext = f"{given.replace(' ', '.')}-{uuid.uuid4().hex[:8]}"
    with Session(sync_engine) as session, session.begin():
        CanonicalWriter().write(session, shop, SourceRecordData(
            "customer", ext, {"id": ext}, source_updated_at=datetime.now(UTC),
            person=PersonData(given_name=given, family_name=family, contact_points=(
                ContactPointData(ContactPointKind.EMAIL, f"{ext}@merge-api.example"),))),
            datetime.now(UTC))
        return session.scalars(select(SourceRecord.customer_id)
                               .where(SourceRecord.external_id == ext)).one()


def audit_actions(sync_engine, record_id: uuid.UUID) -> list[str]:
    with sync_engine.connect() as db:
        return list(db.scalars(select(AuditEvent.action).where(
            AuditEvent.record_id == str(record_id), AuditEvent.action.like("customer.%merge"))
            .order_by(AuditEvent.occurred_at)))


async def test_merge_then_unmerge_old_ids_follow(as_scopes, sync_engine, shop):
    api = as_scopes(MERGER)
    bob = synced(sync_engine, shop, "Bob", "Norman")
    fb = synced(sync_engine, shop, "Bob Norman", None)
    # Made from one source, every field is that source's.
    alone = (await api.query(PROVENANCE, {"id": gid("Customer", fb)}))["customer"]["provenance"]
    assert {p["field"]: (p["value"], p["rule"], p["connector"]) for p in alone} == {
        "kind": ("PERSON", "only_source", "toyshop"),
        "given_name": ("Bob Norman", "only_source", "toyshop"),
        "family_name": (None, "only_source", "toyshop"),
        "organization_name": (None, "only_source", "toyshop"),
    }
    assert {p["objectType"] for p in alone} == {"customer"} and alone[0]["observedAt"]

    merged = (await api.query(MERGE, {"survivor": gid("Customer", bob),
                                      "absorbed": gid("Customer", fb)}))["customerMerge"]
    assert merged["errors"] == []
    assert merged["merge"]["rule"] == "manual" and merged["merge"]["mergedBy"].startswith("client:")
    absorbed = merged["merge"]["absorbed"]
    assert absorbed == {"id": gid("Customer", fb), "status": "MERGED",
                        "mergedInto": {"id": gid("Customer", bob)}}
    survivor = merged["survivor"]
    assert survivor["displayName"] == "Bob Norman"
    names = {p["field"]: p for p in survivor["provenance"]}
    assert (names["given_name"]["value"], names["family_name"]["value"]) == ("Bob", "Norman")
    assert names["given_name"]["rule"] == "most_complete"
    assert names["given_name"]["connector"] == "toyshop"

    # The old id answers as the survivor, through customer(id:) and node(id:) alike.
    found = await api.query(CUSTOMER, {"id": gid("Customer", fb)})
    assert found == {"customer": {"id": gid("Customer", bob), "status": "ACTIVE"},
                     "node": {"id": gid("Customer", bob)}}

    undone = (await api.query(UNMERGE, {"customer": gid("Customer", fb)}))["customerUnmerge"]
    assert undone["errors"] == []
    assert undone["customer"] == {"id": gid("Customer", fb), "status": "ACTIVE",
                                  "displayName": "Bob Norman"}
    assert undone["merge"]["id"] == merged["merge"]["id"] and undone["merge"]["unmergedAt"]
    found = await api.query(CUSTOMER, {"id": gid("Customer", fb)})
    assert found["customer"] == {"id": gid("Customer", fb), "status": "ACTIVE"}

    again = (await api.query(UNMERGE, {"merge": merged["merge"]["id"]}))["customerUnmerge"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_UNMERGED", "mergeId")]
    # Audited in the transaction of each change (the refused unmerge left nothing).
    assert audit_actions(sync_engine, bob) == ["customer.merge"]
    assert audit_actions(sync_engine, fb) == ["customer.unmerge"]
    # The pair is remembered as two people.
    listed = (await api.query(SUGGESTIONS, {"customer": gid("Customer", fb),
                                            "status": "DISMISSED"}))["mergeSuggestions"]
    assert listed["totalCount"] == 1


@pytest.mark.parametrize(("survivor", "absorbed", "code", "field"), [
    ("same", "same", "SAME_CUSTOMER", "absorbedId"),
    ("same", "missing", "NOT_FOUND", "absorbedId"),
    ("same", "not-an-id", "INVALID", "absorbedId"),
])
async def test_refused_merges_are_typed_errors(as_scopes, sync_engine, shop, survivor, absorbed,
                                               code, field):
    customer = synced(sync_engine, shop, "Ann", "Lee")
    ids = {"same": gid("Customer", customer), "missing": gid("Customer", uuid.uuid4()),
           "not-an-id": "not-an-id"}
    payload = (await as_scopes(MERGER).query(
        MERGE, {"survivor": ids[survivor], "absorbed": ids[absorbed]}))["customerMerge"]
    assert payload["merge"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert audit_actions(sync_engine, customer) == []


async def test_unmerge_needs_one_of_its_arguments(as_scopes):
    payload = (await as_scopes(MERGER).query(UNMERGE, {}))["customerUnmerge"]
    assert [e["code"] for e in payload["errors"]] == ["INVALID"]


async def test_partners_and_other_scopes_cannot_merge(http, mint_token, as_scopes, sync_engine,
                                                      shop):
    a, b = synced(sync_engine, shop, "Cy", "One"), synced(sync_engine, shop, "Cy", "Two")
    variables = {"survivor": gid("Customer", a), "absorbed": gid("Customer", b)}
    # A partner's client asking for customers:merge never holds it.
    partner = partner_api(http, mint_token, new_partner(sync_engine), MERGER)
    for api in (partner, as_scopes("customers:read customers:write")):
        body = (await api.post(MERGE, variables)).json()
        assert body["data"] == {"customerMerge": None}
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = (await partner.post(SUGGESTIONS, {})).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    with sync_engine.connect() as db:
        assert db.scalar(select(Customer.status).where(Customer.id == b)) is CustomerStatus.ACTIVE


async def test_suggestions_with_evidence_can_be_dismissed(as_scopes, sync_engine, shop):
    api = as_scopes(MERGER)
    a, b = synced(sync_engine, shop, "Dee", "Park"), synced(sync_engine, shop, "Di", "Park")
    with sync_engine.begin() as db:
        suggest(db, a, b, 0.8, 2.0, [Evidence("given_name", "jaro-winkler >= 0.80", 2.5),
                                     Evidence("family_name", "exact", 7.25)], datetime.now(UTC))
    listed = (await api.query(SUGGESTIONS, {"customer": gid("Customer", b),
                                            "status": "OPEN"}))["mergeSuggestions"]
    assert listed["totalCount"] == 1
    node = listed["edges"][0]["node"]
    assert {node["left"]["id"], node["right"]["id"]} == {gid("Customer", a), gid("Customer", b)}
    assert (node["probability"], node["status"]) == (0.8, "OPEN")
    assert node["evidence"] == [
        {"field": "given_name", "level": "jaro-winkler >= 0.80", "weight": 2.5},
        {"field": "family_name", "level": "exact", "weight": 7.25}]

    dismissed = (await api.query(DISMISS, {"id": node["id"]}))["mergeSuggestionDismiss"]
    assert dismissed["errors"] == []
    assert dismissed["suggestion"]["status"] == "DISMISSED"
    assert dismissed["suggestion"]["decidedBy"].startswith("client:")
    twice = (await api.query(DISMISS, {"id": node["id"]}))["mergeSuggestionDismiss"]
    assert twice["errors"] == [{"field": "id", "code": "NOT_OPEN"}]
    with sync_engine.connect() as db:
        logged = db.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "merge_suggestion.dismiss",
            AuditEvent.record_id == str(from_global_id(node["id"])[1]))).all()
    assert logged == ["merge_suggestion.dismiss"]
