"""customerMerge: one customer absorbs another; the absorbed id keeps answering as the survivor."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation
from hub.api.customers.dataloaders import CustomerByIdLoader
from hub.api.identity.dataloaders import CustomerMergeByIdLoader
from hub.api.identity.errors import IdentityError, id_of, identity_write
from hub.identity.merge import merge


class CustomerMerge(Mutation):
    """Merge the absorbed customer into the survivor: every part moves, the golden record is
    picked again, and the merge can be undone with customerUnmerge."""

    class Meta:
        scopes = (Scope.CUSTOMERS_MERGE,)
        error_type = IdentityError
        audit = Audited(action="customer.merge", record="survivor_id", details=("absorbed_id",))

    class Arguments:
        survivor_id = graphene.ID(required=True, description="The customer that stays.")
        absorbed_id = graphene.ID(required=True, description="The customer merged into it.")

    merge = graphene.Field("hub.api.identity.types.CustomerMerge")
    survivor = graphene.Field("hub.api.customers.types.Customer")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, survivor_id: str, absorbed_id: str) -> Any:
        survivor = id_of(survivor_id, "Customer", "survivorId")
        absorbed = id_of(absorbed_id, "Customer", "absorbedId")
        ctx = info.context
        survivorship = ctx.settings.identity.survivorship

        def write(db: Any) -> Any:
            return merge(db, survivor, absorbed, actor=ctx.principal, survivorship=survivorship,
                         audit=False)

        merge_id = await identity_write(ctx, write)
        return cls(merge=await ctx.loader(CustomerMergeByIdLoader).load(merge_id),
                   survivor=await ctx.loader(CustomerByIdLoader).load(survivor), errors=[])
