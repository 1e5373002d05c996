"""GraphQL enums made from the model's vocabularies (one source of truth for names)."""

from __future__ import annotations

from typing import Any

import graphene

from hub.models import enums

CustomerKindEnum = graphene.Enum.from_enum(
    enums.CustomerKind, name="CustomerKind", description="A person or an organisation."
)
CustomerStatusEnum = graphene.Enum.from_enum(
    enums.CustomerStatus, name="CustomerStatus", description="ACTIVE customers are listed; MERGED ones point at their survivor; ERASED ones were forgotten on request."
)
LifecycleStageEnum = graphene.Enum.from_enum(
    enums.LifecycleStage, name="LifecycleStage", description="Where a customer stands in the relationship."
)
ContactPointKindEnum = graphene.Enum.from_enum(
    enums.ContactPointKind, name="ContactPointKind", description="How a customer can be reached."
)
OrderStatusEnum = graphene.Enum.from_enum(
    enums.OrderStatus, name="OrderStatus", description="Whether an order is still being worked."
)
FinancialStatusEnum = graphene.Enum.from_enum(
    enums.FinancialStatus, name="FinancialStatus", description="Where the order's payment stands."
)
FulfillmentStatusEnum = graphene.Enum.from_enum(
    enums.FulfillmentStatus, name="FulfillmentStatus", description="How much of the order has shipped."
)
ChannelEnum = graphene.Enum.from_enum(
    enums.Channel, name="Channel", description="Where an interaction, case or feedback came from."
)
InteractionKindEnum = graphene.Enum.from_enum(
    enums.InteractionKind, name="InteractionKind", description="What happened on the timeline."
)
DirectionEnum = graphene.Enum.from_enum(
    enums.Direction, name="Direction", description="INBOUND from the customer, OUTBOUND to them, INTERNAL among staff."
)
CaseStatusEnum = graphene.Enum.from_enum(
    enums.CaseStatus, name="CaseStatus", description="NEW -> OPEN -> PENDING -> RESOLVED -> CLOSED."
)
CasePriorityEnum = graphene.Enum.from_enum(
    enums.CasePriority, name="CasePriority", description="How urgent a case is; SLA clocks depend on it."
)
CaseCategoryEnum = graphene.Enum.from_enum(
    enums.CaseCategory, name="CaseCategory", description="What kind of case it is."
)
CommentVisibilityEnum = graphene.Enum.from_enum(
    enums.CommentVisibility, name="CommentVisibility", description="INTERNAL comments are never shown to partners."
)
FeedbackKindEnum = graphene.Enum.from_enum(
    enums.FeedbackKind, name="FeedbackKind", description="NPS (0-10), CSAT (1-5) or a REVIEW on its own scale."
)
ConsentPurposeEnum = graphene.Enum.from_enum(
    enums.ConsentPurpose, name="ConsentPurpose", description="What the consent is for."
)
ConsentStatusEnum = graphene.Enum.from_enum(
    enums.ConsentStatus, name="ConsentStatus", description="The decision recorded."
)
PartnerKindEnum = graphene.Enum.from_enum(
    enums.PartnerKind, name="PartnerKind", description="What a partner does for us."
)


def value_of(member: Any) -> Any:
    """The plain value of an enum argument, however graphene hands it over."""
    return getattr(member, "value", member)
