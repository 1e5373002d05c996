"""The customer timeline: messages, comments, e-mail activity, notes."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import ColumnElement

from hub.access.scopes import Scope
from hub.api.core.connections import Sorts
from hub.api.core.dataloaders import ByIdLoader, Relation
from hub.api.core.enums import ChannelEnum, DirectionEnum, InteractionKindEnum
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.models import Interaction as InteractionModel

interactions = InteractionModel.__table__


class InteractionByIdLoader(ByIdLoader):
    table = interactions


class Interaction(NodeObjectType):
    """One event on a customer's timeline."""

    node_loader = InteractionByIdLoader
    node_scopes = (Scope.INTERACTIONS_READ,)
    customer_key = "customer_id"

    channel = graphene.Field(ChannelEnum, required=True)
    kind = graphene.Field(InteractionKindEnum, required=True)
    direction = graphene.Field(DirectionEnum, required=True)
    occurred_at = graphene.Field(DateTime, required=True)
    subject = graphene.String()
    body = graphene.String()
    link = graphene.String()


class InteractionConnection(CountableConnection):
    class Meta:
        node = Interaction


class InteractionFilter(graphene.InputObjectType):
    channels = graphene.List(graphene.NonNull(ChannelEnum))
    kinds = graphene.List(graphene.NonNull(InteractionKindEnum))
    occurred_after = DateTime()
    occurred_before = DateTime()


def interaction_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    clauses: list[ColumnElement[bool]] = []
    if f.get("channels"):
        clauses.append(interactions.c.channel.in_([getattr(c, "value", c) for c in f["channels"]]))
    if f.get("kinds"):
        clauses.append(interactions.c.kind.in_([getattr(k, "value", k) for k in f["kinds"]]))
    if f.get("occurred_after") is not None:
        clauses.append(interactions.c.occurred_at > f["occurred_after"])
    if f.get("occurred_before") is not None:
        clauses.append(interactions.c.occurred_at < f["occurred_before"])
    return clauses


INTERACTION_SORTS = Sorts(
    "Interaction", interactions, {"OCCURRED_AT": "occurred_at"}, ("OCCURRED_AT", "DESC")
)
INTERACTIONS_OF_CUSTOMER = Relation(
    interactions, "customer_id", INTERACTION_SORTS.orderings, interaction_filters
)
