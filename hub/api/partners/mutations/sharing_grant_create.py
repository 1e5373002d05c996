"""sharingGrantCreate: share customers with a partner, by segment rule or by list."""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar

from hub.access.scopes import Scope
from hub.access.segments import SegmentError, parse_cli, parse_rule
from hub.access.sharing import (
    MAX_GRANT_CUSTOMERS,
    GrantRequest,
    SharingErrorCode,
    create_grant,
)
from hub.api.core.mutations import Mutation, UserError, id_argument
from hub.api.core.scalars import DateTime
from hub.api.partners.dataloaders import GrantByIdLoader
from hub.api.partners.errors import PartnerError, sharing_write


class SharingGrantCreateInput(graphene.InputObjectType):
    partner_id = graphene.ID(required=True)
    scopes = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="What the partner may do with these customers; must include customers:read.",
    )
    customer_ids = graphene.List(
        graphene.NonNull(graphene.ID),
        description=f"Share exactly these customers (at most {MAX_GRANT_CUSTOMERS}).",
    )
    segment = GenericScalar(
        description=(
            'Share the customers matching this rule: JSON such as {"all": [{"tag": "wholesale"}, '
            '{"field": "country", "eq": "DE"}]}, or its short text form "tag=wholesale,country=DE". '
            "See docs/access.md."
        )
    )
    expires_at = DateTime(description="When sharing stops; never when not given.")


class SharingGrantCreate(Mutation):
    """Share customers with a partner: give either `customerIds` or a `segment`."""

    class Meta:
        scopes = (Scope.PARTNERS_ADMIN,)
        error_type = PartnerError

    class Arguments:
        input = SharingGrantCreateInput(required=True)

    grant = graphene.Field("hub.api.partners.types.SharingGrant")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        request = GrantRequest(
            partner_id=_id(input["partner_id"], "Partner", "partnerId"),
            scopes=" ".join(input["scopes"]),
            customer_ids=_customers(input.get("customer_ids")),
            segment=_segment(input.get("segment")),
            expires_at=input.get("expires_at"),
        )
        ctx = info.context
        grant_id = await sharing_write(ctx, create_grant, request)
        return cls(grant=await ctx.loader(GrantByIdLoader).load(grant_id), errors=[])


def _id(global_id: str, type_name: str, field: str) -> Any:
    return id_argument(
        global_id, type_name, field, SharingErrorCode.INVALID,
        f"{global_id!r} is not a {type_name} id.",
    )


def _customers(ids: list[str] | None) -> list[Any] | None:
    if ids is None:
        return None
    if len(ids) > MAX_GRANT_CUSTOMERS:
        raise UserError(
            SharingErrorCode.INVALID,
            f"A grant lists at most {MAX_GRANT_CUSTOMERS} customers; use a segment rule.",
            "customerIds",
        )
    return [_id(i, "Customer", "customerIds") for i in ids]


def _segment(value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_cli(value) if isinstance(value, str) else parse_rule(value)
    except SegmentError as error:
        raise UserError(SharingErrorCode.INVALID, str(error), "segment") from None
