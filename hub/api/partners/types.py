"""Partners and what is shared with them."""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar

from hub.access.scopes import Scope
from hub.access.segments import describe, parse_rule
from hub.access.sharing import grant_state
from hub.api.core.enums import PartnerKindEnum
from hub.api.core.ids import to_global_id
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.api.partners.dataloaders import (
    GrantByIdLoader,
    GrantCustomerCountLoader,
    GrantCustomersLoader,
    GrantsByPartnerLoader,
    PartnerByIdLoader,
)
from hub.models import utcnow

SharingGrantState = graphene.Enum(
    "SharingGrantState",
    [("ACTIVE", "ACTIVE"), ("EXPIRED", "EXPIRED"), ("REVOKED", "REVOKED")],
    description="ACTIVE grants share; EXPIRED and REVOKED ones are kept as a record.",
)


class SharingGrant(NodeObjectType):
    """Which customers a partner sees (a segment rule or a list), with which scopes, until when."""

    node_loader = GrantByIdLoader
    node_scopes = (Scope.PARTNERS_ADMIN,)

    partner = graphene.Field(lambda: Partner, required=True)
    scopes = graphene.List(graphene.NonNull(graphene.String), required=True)
    segment = GenericScalar(description="The segment rule as JSON; null for a list of customers.")
    segment_text = graphene.String(
        description="The rule's short form, e.g. tag=wholesale,country=DE; JSON when it has none."
    )
    customer_count = graphene.Int(
        description="How many customers the list names; null for a segment."
    )
    customer_ids = graphene.List(
        graphene.NonNull(graphene.ID),
        first=graphene.Int(
            default_value=100, description="At most this many, in id order (≤ 1000)."
        ),
        description="Global ids of the listed customers; null for a segment.",
    )
    state = graphene.Field(SharingGrantState, required=True)
    expires_at = graphene.Field(DateTime)
    created_at = graphene.Field(DateTime, required=True)
    revoked_at = graphene.Field(DateTime)

    @staticmethod
    async def resolve_partner(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(PartnerByIdLoader).load(root.partner_id)

    @staticmethod
    def resolve_scopes(root: Any, info: graphene.ResolveInfo) -> list[str]:
        return root.scope.split()

    @staticmethod
    def resolve_segment_text(root: Any, info: graphene.ResolveInfo) -> str | None:
        return describe(parse_rule(root.segment)) if root.segment is not None else None

    @staticmethod
    async def resolve_customer_count(root: Any, info: graphene.ResolveInfo) -> int | None:
        if root.segment is not None:
            return None
        return await info.context.loader(GrantCustomerCountLoader).load(root.id)

    @staticmethod
    async def resolve_customer_ids(root: Any, info: graphene.ResolveInfo, first: int) -> Any:
        if root.segment is not None:
            return None
        limit = max(0, min(first, 1000))
        ids = await info.context.loader(GrantCustomersLoader, limit).load(root.id)
        return [to_global_id("Customer", customer_id) for customer_id in ids]

    @staticmethod
    def resolve_state(root: Any, info: graphene.ResolveInfo) -> str:
        return grant_state(root.revoked_at, root.expires_at, utcnow())


class Partner(NodeObjectType):
    """A supplier, reseller, service provider or agency that we share customers with."""

    node_loader = PartnerByIdLoader
    node_scopes = (Scope.PARTNERS_ADMIN,)

    name = graphene.String(required=True)
    kind = graphene.Field(PartnerKindEnum, required=True)
    created_at = graphene.Field(DateTime, required=True)
    grants = graphene.List(
        graphene.NonNull(SharingGrant),
        required=True,
        include_inactive=graphene.Boolean(
            default_value=False, description="Also the expired and revoked ones."
        ),
        description="Oldest first.",
    )

    @staticmethod
    async def resolve_grants(root: Any, info: graphene.ResolveInfo, include_inactive: bool) -> Any:
        rows = await info.context.loader(GrantsByPartnerLoader).load(root.id)
        if include_inactive:
            return rows
        now = utcnow()
        return [r for r in rows if grant_state(r.revoked_at, r.expires_at, now) == "ACTIVE"]


class PartnerConnection(CountableConnection):
    class Meta:
        node = Partner
