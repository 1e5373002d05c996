"""Root fields of the feedback domain."""

from __future__ import annotations

import graphene

from hub.access.scopes import Scope
from hub.api.core.fields import Field
from hub.api.feedback.mutations.feedback_submit import FeedbackSubmit
from hub.api.feedback.resolvers import resolve_satisfaction
from hub.api.feedback.types import SatisfactionFilter, SatisfactionGroupBy, SatisfactionReport


class FeedbackQueries(graphene.ObjectType):
    satisfaction = Field(
        SatisfactionReport,
        required=True,
        args={
            "filter": graphene.Argument(SatisfactionFilter),
            "group_by": graphene.Argument(SatisfactionGroupBy),
        },
        resolver=resolve_satisfaction,
        scopes=[Scope.FEEDBACK_READ],
        description="NPS and CSAT over the feedback the caller may see, in total and per month, "
        "week or partner.",
    )


class FeedbackMutations(graphene.ObjectType):
    feedback_submit = FeedbackSubmit.Field()
