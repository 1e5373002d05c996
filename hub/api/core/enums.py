"""GraphQL enums made from the model's vocabularies (one source of truth for names)."""

from __future__ import annotations

import graphene

from hub.models import enums

CustomerKindEnum = graphene.Enum.from_enum(enums.CustomerKind, name="CustomerKind")
CustomerStatusEnum = graphene.Enum.from_enum(enums.CustomerStatus, name="CustomerStatus")
LifecycleStageEnum = graphene.Enum.from_enum(enums.LifecycleStage, name="LifecycleStage")
ContactPointKindEnum = graphene.Enum.from_enum(enums.ContactPointKind, name="ContactPointKind")
OrderStatusEnum = graphene.Enum.from_enum(enums.OrderStatus, name="OrderStatus")
FinancialStatusEnum = graphene.Enum.from_enum(enums.FinancialStatus, name="FinancialStatus")
FulfillmentStatusEnum = graphene.Enum.from_enum(enums.FulfillmentStatus, name="FulfillmentStatus")
ChannelEnum = graphene.Enum.from_enum(enums.Channel, name="Channel")
InteractionKindEnum = graphene.Enum.from_enum(enums.InteractionKind, name="InteractionKind")
DirectionEnum = graphene.Enum.from_enum(enums.Direction, name="Direction")
CaseStatusEnum = graphene.Enum.from_enum(enums.CaseStatus, name="CaseStatus")
CasePriorityEnum = graphene.Enum.from_enum(enums.CasePriority, name="CasePriority")
CaseCategoryEnum = graphene.Enum.from_enum(enums.CaseCategory, name="CaseCategory")
CommentVisibilityEnum = graphene.Enum.from_enum(enums.CommentVisibility, name="CommentVisibility")
FeedbackKindEnum = graphene.Enum.from_enum(enums.FeedbackKind, name="FeedbackKind")
ConsentPurposeEnum = graphene.Enum.from_enum(enums.ConsentPurpose, name="ConsentPurpose")
ConsentStatusEnum = graphene.Enum.from_enum(enums.ConsentStatus, name="ConsentStatus")
