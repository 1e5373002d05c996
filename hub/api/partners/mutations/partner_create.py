"""partnerCreate: add a partner to share customers with."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.access.sharing import create_partner
from hub.api.core.enums import PartnerKindEnum
from hub.api.core.mutations import Mutation
from hub.api.partners.dataloaders import PartnerByIdLoader
from hub.api.partners.errors import PartnerError, sharing_write


class PartnerCreateInput(graphene.InputObjectType):
    name = graphene.String(required=True, description="Unique, 1 to 200 characters.")
    kind = graphene.Field(PartnerKindEnum, required=True)


class PartnerCreate(Mutation):
    """Add a partner; it sees nothing until a sharing grant says so."""

    class Meta:
        scopes = (Scope.PARTNERS_ADMIN,)
        error_type = PartnerError

    class Arguments:
        input = PartnerCreateInput(required=True)

    partner = graphene.Field("hub.api.partners.types.Partner")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        ctx = info.context
        partner_id = await sharing_write(ctx, create_partner, input["name"], input["kind"])
        return cls(partner=await ctx.loader(PartnerByIdLoader).load(partner_id), errors=[])
