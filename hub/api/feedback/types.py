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
    customer_key = "customer_id"

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


# -- the satisfaction report ---------------------------------------------------------------------


class SatisfactionGroupBy(graphene.Enum):
    """How the satisfaction report is broken down; periods are UTC, weeks start on Monday."""

    MONTH = "MONTH"
    WEEK = "WEEK"
    PARTNER = "PARTNER"


class SatisfactionFilter(graphene.InputObjectType):
    customer_id = graphene.ID(description="One customer's feedback.")
    partner_id = graphene.ID(description="Feedback collected by this partner.")
    from_ = graphene.InputField(DateTime, name="from", description="From this instant (included).")
    to = graphene.InputField(DateTime, description="Up to this instant (excluded).")


class NpsSummary(graphene.ObjectType):
    """Net Promoter Score: promoters (9-10) minus detractors (0-6), in % of the responses."""

    responses = graphene.Int(required=True)
    promoters = graphene.Int(required=True)
    passives = graphene.Int(required=True)
    detractors = graphene.Int(required=True)
    score = graphene.Float(description="-100 to 100, two decimals; null without responses.")


class CsatSummary(graphene.ObjectType):
    """Customer satisfaction: the share of 4 and 5 among 1-5 answers, and their average."""

    responses = graphene.Int(required=True)
    satisfied = graphene.Int(required=True, description="Answers of 4 or 5.")
    score = graphene.Float(description="Satisfied in % of the responses; null without responses.")
    average = graphene.Float(description="The mean answer, 1 to 5; null without responses.")


class SatisfactionGroup(graphene.ObjectType):
    period_start = graphene.Date(description="First day of the month or week (grouped by time).")
    partner_id = graphene.ID(
        description="The partner that collected it (grouped by partner); null: collected by us."
    )
    nps = graphene.Field(NpsSummary, required=True)
    csat = graphene.Field(CsatSummary, required=True)


class SatisfactionReport(graphene.ObjectType):
    total = graphene.Field(
        SatisfactionGroup, required=True, description="Everything the filter selects."
    )
    groups = graphene.List(
        graphene.NonNull(SatisfactionGroup),
        required=True,
        description="One per period or partner that has feedback, in order; empty without groupBy.",
    )
