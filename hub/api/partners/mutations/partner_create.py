"""partnerCreate: add a partner to share customers with."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.access.sharing import SharingError, create_partner
from hub.api.core.enums import PartnerKindEnum
from hub.api.core.mutations import Mutation
from hub.api.partners.dataloaders import PartnerByIdLoader
from hub.api.partners.errors import PartnerError, user_error


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

        async def write(conn: Any) -> Any:
            return await conn.run_sync(create_partner, input["name"], input["kind"])

        try:
            partner_id = await ctx.db.transaction(write)
        except SharingError as error:
            raise user_error(error) from None
        ctx.forget_loaded()
        return cls(partner=await ctx.loader(PartnerByIdLoader).load(partner_id), errors=[])
