"""mergeSuggestionDismiss: the two are different people; resolution will not pair them again."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.api.core.mutations import Mutation
from hub.api.identity.dataloaders import MergeSuggestionByIdLoader
from hub.api.identity.errors import IdentityError, id_of, identity_write
from hub.identity.merge import describe
from hub.identity.suggestions import dismiss
from hub.models import utcnow


class MergeSuggestionDismiss(Mutation):
    """Dismiss an OPEN merge suggestion: the pair is never merged or suggested again."""

    class Meta:
        scopes = (Scope.CUSTOMERS_MERGE,)
        error_type = IdentityError

    class Arguments:
        id = graphene.ID(required=True, description="The suggestion's global id.")

    suggestion = graphene.Field("hub.api.identity.types.MergeSuggestion")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, id: str) -> Any:
        suggestion_id = id_of(id, "MergeSuggestion", "id")
        ctx = info.context
        by = describe(ctx.principal)

        await identity_write(ctx, lambda db: dismiss(db, suggestion_id, by, utcnow()))
        return cls(suggestion=await ctx.loader(MergeSuggestionByIdLoader).load(suggestion_id),
                   errors=[])
