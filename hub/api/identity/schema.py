"""Root fields of the identity domain: merge suggestions to review, merges and their undoing."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import or_

from hub.access.rows import visible_rows
from hub.access.scopes import Scope
from hub.api.core.connections import Sorts, root_page
from hub.api.core.fields import Field
from hub.api.core.ids import expect_global_id
from hub.api.core.pagination import page_arguments
from hub.api.identity.dataloaders import suggestions
from hub.api.identity.mutations.customer_merge import CustomerMerge
from hub.api.identity.mutations.customer_unmerge import CustomerUnmerge
from hub.api.identity.mutations.merge_suggestion_dismiss import MergeSuggestionDismiss
from hub.api.identity.types import MergeSuggestionConnection, MergeSuggestionStatusEnum

SUGGESTION_SORTS = Sorts(
    "MergeSuggestion", suggestions,
    {"PROBABILITY": "probability", "CREATED_AT": "created_at"}, ("PROBABILITY", "DESC"),
)


class MergeSuggestionFilter(graphene.InputObjectType):
    status = graphene.Field(MergeSuggestionStatusEnum, description="Only suggestions in this state.")
    customer_id = graphene.ID(description="Only suggestions about this customer.")


async def resolve_merge_suggestions(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    where = visible_rows(info.context.principal, suggestions)
    wanted = args.get("filter") or {}
    if wanted.get("status") is not None:
        where.append(suggestions.c.status == getattr(wanted["status"], "value", wanted["status"]))
    if wanted.get("customer_id") is not None:
        customer = expect_global_id(wanted["customer_id"], "Customer")
        where.append(or_(suggestions.c.left_customer_id == customer,
                         suggestions.c.right_customer_id == customer))
    return await root_page(info, args, SUGGESTION_SORTS, suggestions, where)


class IdentityQueries(graphene.ObjectType):
    merge_suggestions = Field(
        MergeSuggestionConnection,
        required=True,
        args={
            **page_arguments(),
            "filter": graphene.Argument(MergeSuggestionFilter),
            "order_by": graphene.Argument(SUGGESTION_SORTS.input),
        },
        resolver=resolve_merge_suggestions,
        scopes=[Scope.CUSTOMERS_MERGE],
        description="Pairs of customers that may be one person, likeliest first.",
    )


class IdentityMutations(graphene.ObjectType):
    customer_merge = CustomerMerge.Field()
    customer_unmerge = CustomerUnmerge.Field()
    merge_suggestion_dismiss = MergeSuggestionDismiss.Field()
