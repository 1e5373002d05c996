"""Merges, merge suggestions and the golden record's provenance."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.api.customers.dataloaders import CustomerByIdLoader
from hub.api.identity.dataloaders import CustomerMergeByIdLoader, MergeSuggestionByIdLoader
from hub.models import MergeSuggestionStatus

MERGE = (Scope.CUSTOMERS_MERGE,)

MergeSuggestionStatusEnum = graphene.Enum.from_enum(
    MergeSuggestionStatus, name="MergeSuggestionStatus",
    description="OPEN until someone merges the pair (MERGED) or says they differ (DISMISSED).",
)


class FieldProvenance(graphene.ObjectType):
    """Where one field of the golden record came from, and why that source won."""

    field = graphene.String(required=True, description="The customer field, e.g. given_name.")
    value = graphene.String(description="The value chosen, as text.")
    connection = graphene.String(description="Name of the connection whose record gave it; "
                                             "null when the hub itself did.")
    connector = graphene.String(description="shopify, mailchimp, facebook, ...")
    object_type = graphene.String()
    external_id = graphene.String()
    rule = graphene.String(required=True, description="source_priority, most_complete, "
                                                      "most_recent or only_source.")
    observed_at = graphene.Field(DateTime, description="When the source gave the value.")
    decided_at = graphene.Field(DateTime, required=True, description="When the rule chose it.")

    @staticmethod
    def resolve_connection(root: Any, info: graphene.ResolveInfo) -> str | None:
        return root.connection_name


class MergeEvidence(graphene.ObjectType):
    """One field's comparison: its level and the weight (log2 odds) it added."""

    field = graphene.String(required=True)
    level = graphene.String(required=True, description="e.g. exact, jaro-winkler >= 0.92.")
    weight = graphene.Float(required=True)

    @staticmethod
    def resolve_field(root: Any, info: graphene.ResolveInfo) -> str:
        return root["field"]

    @staticmethod
    def resolve_level(root: Any, info: graphene.ResolveInfo) -> str:
        return root["level"]

    @staticmethod
    def resolve_weight(root: Any, info: graphene.ResolveInfo) -> float:
        return root["weight"]


class CustomerMerge(NodeObjectType):
    """One merge: who absorbed whom, why, and whether it was undone."""

    node_loader = CustomerMergeByIdLoader
    node_scopes = MERGE

    survivor = graphene.Field("hub.api.customers.types.Customer")
    absorbed = graphene.Field("hub.api.customers.types.Customer")
    rule = graphene.String(required=True, description="email, phone, identity, probability "
                                                      "or manual.")
    probability = graphene.Float()
    merged_at = graphene.Field(DateTime, required=True)
    merged_by = graphene.String(required=True)
    unmerged_at = graphene.Field(DateTime)
    unmerged_by = graphene.String()

    @staticmethod
    async def resolve_survivor(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(CustomerByIdLoader).load(root.survivor_id)

    @staticmethod
    async def resolve_absorbed(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(CustomerByIdLoader).load(root.absorbed_id)


class MergeSuggestion(NodeObjectType):
    """Two customers who may be one person, with the evidence, for a person to decide."""

    node_loader = MergeSuggestionByIdLoader
    node_scopes = MERGE

    left = graphene.Field("hub.api.customers.types.Customer")
    right = graphene.Field("hub.api.customers.types.Customer")
    probability = graphene.Float(required=True)
    weight = graphene.Float(required=True, description="Log2 odds: the prior plus the evidence.")
    evidence = graphene.List(graphene.NonNull(MergeEvidence), required=True)
    status = graphene.Field(MergeSuggestionStatusEnum, required=True)
    created_at = graphene.Field(DateTime, required=True)
    decided_at = graphene.Field(DateTime)
    decided_by = graphene.String()
    merge = graphene.Field(CustomerMerge, description="The merge that closed it, if any.")

    @staticmethod
    async def resolve_left(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(CustomerByIdLoader).load(root.left_customer_id)

    @staticmethod
    async def resolve_right(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(CustomerByIdLoader).load(root.right_customer_id)

    @staticmethod
    async def resolve_merge(root: Any, info: graphene.ResolveInfo) -> Any:
        if root.merge_id is None:
            return None
        return await info.context.loader(CustomerMergeByIdLoader).load(root.merge_id)


class MergeSuggestionConnection(CountableConnection):
    class Meta:
        node = MergeSuggestion
