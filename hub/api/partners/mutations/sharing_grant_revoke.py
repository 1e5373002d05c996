"""sharingGrantRevoke: stop sharing what a grant shares, from now on."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.access.sharing import revoke_grant
from hub.api.core.mutations import Mutation
from hub.api.partners.dataloaders import GrantByIdLoader
from hub.api.partners.errors import PartnerError, sharing_write
from hub.api.partners.mutations.sharing_grant_create import _id


class SharingGrantRevoke(Mutation):
    """Revoke a sharing grant: from the partner's next request on, it shares nothing."""

    class Meta:
        scopes = (Scope.PARTNERS_ADMIN,)
        error_type = PartnerError

    class Arguments:
        id = graphene.ID(required=True, description="The grant's global id.")

    grant = graphene.Field("hub.api.partners.types.SharingGrant")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, id: str) -> Any:
        grant_id = _id(id, "SharingGrant", "id")
        ctx = info.context
        await sharing_write(ctx, revoke_grant, grant_id)
        return cls(grant=await ctx.loader(GrantByIdLoader).load(grant_id), errors=[])
