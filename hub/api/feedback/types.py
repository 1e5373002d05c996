"""Satisfaction: NPS, CSAT and reviews."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import ColumnElement

from hub.access.scopes import Scope
from hub.api.core.connections import Sorts
from hub.api.core.dataloaders import ByIdLoader, Relation
from hub.api.core.enums import ChannelEnum, FeedbackKindEnum
from hub.api.core.ids import to_global_id
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.models import Feedback as FeedbackModel

feedback = FeedbackModel.__table__


class FeedbackByIdLoader(ByIdLoader):
    table = feedback


class Feedback(NodeObjectType):
    """A score or review: NPS 0-10, CSAT 1-5, or a review on its own scale."""

    node_loader = FeedbackByIdLoader
    node_scopes = (Scope.FEEDBACK_READ,)

    kind = graphene.Field(FeedbackKindEnum, required=True)
    score = graphene.Int(required=True)
    scale_max = graphene.Int(required=True, description="The best possible score (10, 5, ...).")
    comment = graphene.String()
    channel = graphene.Field(ChannelEnum, required=True)
    occurred_at = graphene.Field(DateTime, required=True)
    case_id = graphene.ID(description="Global id of the case this feedback is about.")
    order_id = graphene.ID(description="Global id of the order this feedback is about.")

    @staticmethod
    def resolve_case_id(root: Any, info: graphene.ResolveInfo) -> str | None:
        return to_global_id("Case", root.case_id) if root.case_id else None

    @staticmethod
    def resolve_order_id(root: Any, info: graphene.ResolveInfo) -> str | None:
        return to_global_id("Order", root.order_id) if root.order_id else None


class FeedbackConnection(CountableConnection):
    class Meta:
        node = Feedback


class FeedbackFilter(graphene.InputObjectType):
    kinds = graphene.List(graphene.NonNull(FeedbackKindEnum))


def feedback_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    if f.get("kinds"):
        return [feedback.c.kind.in_([getattr(k, "value", k) for k in f["kinds"]])]
    return []


FEEDBACK_SORTS = Sorts(
    "Feedback", feedback, {"OCCURRED_AT": "occurred_at", "SCORE": "score"}, ("OCCURRED_AT", "DESC")
)
FEEDBACK_OF_CUSTOMER = Relation(feedback, "customer_id", FEEDBACK_SORTS.orderings, feedback_filters)
