"""Givens of the case and feedback tests: fresh customers, partners, grants, staff, and callers.

Every test makes the rows it asserts on, next to the seeded demo data.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from hub.api.core.ids import to_global_id
from hub.models import (
    Case,
    Customer,
    Partner,
    SharingGrant,
    SharingGrantCustomer,
    User,
    new_id,
    utcnow,
)
from hub.models.enums import ClientKind, PartnerKind, UserRole
from tests.api.conftest import Api

CASE_FIELDS = """
  id number subject description status priority category channel
  firstResponseDueAt resolutionDueAt firstRespondedAt resolvedAt closedAt
  firstResponseBreached firstResponseBreachedAt resolutionBreached resolutionBreachedAt
  slaPaused allowedStatuses sharedWithPartnerId assignee { id name }
  comments { id body visibility byPartner }
"""
ERRORS = "errors { field code message }"

CREATE = f"""
mutation($input: CaseCreateInput!) {{
  caseCreate(input: $input) {{ case {{ {CASE_FIELDS} }} {ERRORS} }}
}}
"""
UPDATE = f"""
mutation($input: CaseUpdateInput!) {{
  caseUpdate(input: $input) {{ case {{ {CASE_FIELDS} }} {ERRORS} }}
}}
"""
COMMENT = f"""
mutation($input: CaseCommentAddInput!) {{
  caseCommentAdd(input: $input) {{
    case {{ {CASE_FIELDS} }} comment {{ id body visibility byPartner }} {ERRORS}
  }}
}}
"""
ASSIGN = f"""
mutation($caseId: ID!, $assigneeId: ID) {{
  caseAssign(caseId: $caseId, assigneeId: $assigneeId) {{ case {{ {CASE_FIELDS} }} {ERRORS} }}
}}
"""
SHARE = f"""
mutation($caseId: ID!, $partnerId: ID!) {{
  caseShare(caseId: $caseId, partnerId: $partnerId) {{ case {{ {CASE_FIELDS} }} {ERRORS} }}
}}
"""
UNSHARE = f"""
mutation($caseId: ID!) {{
  caseUnshare(caseId: $caseId) {{ case {{ {CASE_FIELDS} }} {ERRORS} }}
}}
"""
NODE = f"""
query($id: ID!) {{ node(id: $id) {{ ... on Case {{ {CASE_FIELDS} }} }} }}
"""
CASES = """
query($filter: CaseFilter, $first: Int) {
  cases(filter: $filter, first: $first, orderBy: {field: NUMBER, direction: ASC}) {
    totalCount edges { node { id number status firstResponseBreached resolutionBreached } }
  }
}
"""

STAFF_SCOPES = "customers:read cases:read cases:write feedback:read feedback:write"


# Long before the demo population: pages of the newest customers (other tests' subject)
# stay the seeded ones.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def new_customer(sync_engine, name: str = "Test Customer") -> uuid.UUID:
    customer_id = new_id()
    with sync_engine.begin() as conn:
        conn.execute(
            insert(Customer.__table__).values(
                id=customer_id,
                kind="PERSON",
                given_name=name,
                display_name=name,
                sort_name=name.lower(),
                search_text=name.lower(),
                lifecycle_stage="CUSTOMER",
                attributes={},
                status="ACTIVE",
                created_at=LONG_AGO,
                updated_at=LONG_AGO,
                version=1,
            )
        )
    return customer_id


def new_partner(sync_engine, name: str | None = None) -> uuid.UUID:
    partner_id = new_id()
    with sync_engine.begin() as conn:
        conn.execute(
            insert(Partner.__table__).values(
                id=partner_id,
                name=name or f"partner-{uuid.uuid4().hex[:12]}",
                kind=PartnerKind.SERVICE_PROVIDER,
                created_at=utcnow(),
            )
        )
    return partner_id


def grant(
    sync_engine, partner_id: uuid.UUID, customer_ids: list[uuid.UUID], scopes: str
) -> uuid.UUID:
    """A sharing grant in force listing these customers."""
    grant_id = new_id()
    with sync_engine.begin() as conn:
        conn.execute(
            insert(SharingGrant.__table__).values(
                id=grant_id,
                partner_id=partner_id,
                segment=None,
                scope=scopes,
                expires_at=None,
                created_at=utcnow(),
                revoked_at=None,
            )
        )
        conn.execute(
            insert(SharingGrantCustomer.__table__),
            [{"grant_id": grant_id, "customer_id": c} for c in customer_ids],
        )
    return grant_id


def new_user(sync_engine, partner_id: uuid.UUID | None = None, name: str = "Agent") -> uuid.UUID:
    user_id = new_id()
    with sync_engine.begin() as conn:
        conn.execute(
            insert(User.__table__).values(
                id=user_id,
                email=f"{user_id.hex}@example.com",
                name=name,
                password_hash=None,
                role=UserRole.PARTNER if partner_id else UserRole.STAFF,
                partner_id=partner_id,
                is_active=True,
                created_at=utcnow(),
            )
        )
    return user_id


def partner_api(http, mint_token, partner_id: uuid.UUID, scopes: str) -> Api:
    return Api(http, mint_token(scopes, kind=ClientKind.PARTNER, partner_id=partner_id))


def gid(type_name: str, id_: uuid.UUID) -> str:
    return to_global_id(type_name, id_)


def case_row(sync_engine, case_id: uuid.UUID) -> Any:
    with sync_engine.connect() as conn:
        return conn.execute(select(Case.__table__).where(Case.__table__.c.id == case_id)).one()


async def open_case(api: Api, customer_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """caseCreate that must succeed; returns the case."""
    data = await api.query(
        CREATE,
        {
            "input": {
                "customerId": gid("Customer", customer_id),
                "subject": "Parcel arrived damaged",
                "category": "QUESTION",
                **fields,
            }
        },
    )
    payload = data["caseCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["case"]


async def change(api: Api, case_gid: str, **fields: Any) -> dict[str, Any]:
    """caseUpdate; returns the payload (case and errors)."""
    return (await api.query(UPDATE, {"input": {"id": case_gid, **fields}}))["caseUpdate"]


async def comment(
    api: Api, case_gid: str, body: str, visibility: str | None = None
) -> dict[str, Any]:
    variables: dict[str, Any] = {"caseId": case_gid, "body": body}
    if visibility is not None:
        variables["visibility"] = visibility
    return (await api.query(COMMENT, {"input": variables}))["caseCommentAdd"]


def codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]
