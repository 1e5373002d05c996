"""customerUnmerge: undo a merge, by the merge or by the customer it absorbed."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation, UserError
from hub.api.customers.dataloaders import CustomerByIdLoader
from hub.api.identity.dataloaders import CustomerMergeByIdLoader
from hub.api.identity.errors import IdentityError, IdentityErrorCode, id_of, identity_write
from hub.identity.merge import MergeError, MergeErrorCode, last_merge_of, unmerge


class CustomerUnmerge(Mutation):
    """Undo a merge: the absorbed customer comes back with everything that was theirs."""

    class Meta:
        scopes = (Scope.CUSTOMERS_MERGE,)
        error_type = IdentityError
        # The record is the customer given back (the one named, or the merge's absorbed one).
        audit = Audited(action="customer.unmerge", record_type="customer",
                        details=("merge_id",))

    class Arguments:
        merge_id = graphene.ID(description="The merge to undo.")
        customer_id = graphene.ID(description="Or: the absorbed customer; its latest merge.")

    merge = graphene.Field("hub.api.identity.types.CustomerMerge")
    survivor = graphene.Field("hub.api.customers.types.Customer")
    customer = graphene.Field("hub.api.customers.types.Customer",
                              description="The customer given back.")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, merge_id: str | None = None,
                      customer_id: str | None = None) -> Any:
        if (merge_id is None) == (customer_id is None):
            raise UserError(IdentityErrorCode.INVALID, "Give either mergeId or customerId.")
        merge = id_of(merge_id, "CustomerMerge", "mergeId") if merge_id else None
        customer = id_of(customer_id, "Customer", "customerId") if customer_id else None
        ctx = info.context
        survivorship = ctx.settings.identity.survivorship

        def write(db: Any) -> Any:
            found = merge or last_merge_of(db, customer)
            if found is None:
                raise MergeError(MergeErrorCode.NOT_MERGED,
                                 "This customer is not merged into another.", "customerId")
            unmerge(db, found, actor=ctx.principal, survivorship=survivorship, audit=False)
            return found

        undone = await identity_write(ctx, write)
        done = await ctx.loader(CustomerMergeByIdLoader).load(undone)
        loader = ctx.loader(CustomerByIdLoader)
        return cls(merge=done, survivor=await loader.load(done.survivor_id),
                   customer=await loader.load(done.absorbed_id), errors=[])
