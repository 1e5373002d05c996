"""Service cases (complaints, questions, requests, incidents) and their comments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import graphene
from sqlalchemy import ColumnElement, Select

from hub.access.scopes import Scope
from hub.api.core.connections import Sorts
from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader, Relation
from hub.api.core.enums import (
    CaseCategoryEnum,
    CasePriorityEnum,
    CaseStatusEnum,
    ChannelEnum,
    CommentVisibilityEnum,
)
from hub.api.core.fields import Field
from hub.api.core.ids import expect_global_id, to_global_id
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.api.customers.dataloaders import CustomerByIdLoader
from hub.cases.sla import (
    breached_sql,
    first_response_breached,
    first_response_breached_sql,
    resolution_breached,
    resolution_breached_sql,
)
from hub.cases.workflow import workflow_of
from hub.models import Case as CaseModel
from hub.models import CaseComment as CaseCommentModel
from hub.models import User, utcnow
from hub.models.enums import CommentVisibility

cases = CaseModel.__table__
comments = CaseCommentModel.__table__
users = User.__table__


class CaseByIdLoader(ByIdLoader):
    table = cases


class CommentsByCaseLoader(ListByKeyLoader):
    table = comments
    key = "case_id"
    order = ("created_at", "id")

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        stmt = super().statement(keys)
        if self.ctx.principal.is_partner:
            # A partner never sees what we wrote among ourselves.
            stmt = stmt.where(comments.c.visibility == CommentVisibility.SHARED)
        return stmt


class UserByIdLoader(ByIdLoader):
    table = users


class CaseComment(graphene.ObjectType):
    id = graphene.ID(required=True)
    body = graphene.String(required=True)
    visibility = graphene.Field(CommentVisibilityEnum, required=True)
    by_partner = graphene.Boolean(
        required=True, description="Written by a partner the case is shared with, not by staff."
    )
    created_at = graphene.Field(DateTime, required=True)

    @staticmethod
    def resolve_id(root: Any, info: graphene.ResolveInfo) -> str:
        return root.id.hex

    @staticmethod
    def resolve_by_partner(root: Any, info: graphene.ResolveInfo) -> bool:
        return root.author_partner_id is not None


class CaseAssignee(graphene.ObjectType):
    """The person working a case."""

    id = graphene.ID(required=True, description="Global id of the user.")
    name = graphene.String(required=True)

    @staticmethod
    def resolve_id(root: Any, info: graphene.ResolveInfo) -> str:
        return to_global_id("User", root.id)


class Case(NodeObjectType):
    """A service case, worked through NEW → OPEN → PENDING → RESOLVED → CLOSED."""

    node_loader = CaseByIdLoader
    node_scopes = (Scope.CASES_READ,)
    customer_key = "customer_id"

    number = graphene.Int(required=True)
    subject = graphene.String(required=True)
    description = graphene.String()
    status = graphene.Field(CaseStatusEnum, required=True)
    priority = graphene.Field(CasePriorityEnum, required=True)
    category = graphene.Field(CaseCategoryEnum, required=True)
    channel = graphene.Field(ChannelEnum, required=True)
    first_response_due_at = graphene.Field(
        DateTime, description="When the first response is due by the case's SLA policy."
    )
    resolution_due_at = graphene.Field(
        DateTime, description="When resolution is due; pushed back by time spent PENDING."
    )
    first_responded_at = graphene.Field(
        DateTime, description="When staff first wrote a SHARED comment."
    )
    resolved_at = graphene.Field(DateTime)
    closed_at = graphene.Field(DateTime)
    first_response_breached = graphene.Boolean(
        required=True,
        description="The first response came, or is still missing, after it was due.",
    )
    first_response_breached_at = graphene.Field(
        DateTime, description="When the first response became late (its due time); null if on time."
    )
    resolution_breached = graphene.Boolean(
        required=True,
        description="Resolution came, or is still missing, after it was due (a PENDING case is "
        "judged by when it became PENDING: its clock stands still).",
    )
    resolution_breached_at = graphene.Field(
        DateTime, description="When resolution became late (its due time); null if on time."
    )
    sla_paused = graphene.Boolean(
        required=True, description="PENDING: the resolution clock stands still."
    )
    allowed_statuses = graphene.List(
        graphene.NonNull(CaseStatusEnum),
        required=True,
        description="The statuses the workflow lets this case move to now.",
    )
    shared_with_partner_id = graphene.ID(
        description="Global id of the partner the case is shared with; null when it is not."
    )
    assignee = graphene.Field(CaseAssignee, description="Who works the case.")
    customer = Field(
        "hub.api.customers.types.Customer",
        scopes=[Scope.CUSTOMERS_READ],
        description="The customer the case is about.",
    )
    created_at = graphene.Field(DateTime, required=True)
    updated_at = graphene.Field(DateTime, required=True)
    comments = graphene.List(
        graphene.NonNull(CaseComment),
        required=True,
        description="Oldest first; a partner sees SHARED comments only.",
    )

    @staticmethod
    async def resolve_comments(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(CommentsByCaseLoader).load(root.id)

    @staticmethod
    def resolve_first_response_breached(root: Any, info: graphene.ResolveInfo) -> bool:
        return first_response_breached(root, utcnow())

    @staticmethod
    def resolve_first_response_breached_at(root: Any, info: graphene.ResolveInfo) -> Any:
        return root.first_response_due_at if first_response_breached(root, utcnow()) else None

    @staticmethod
    def resolve_resolution_breached(root: Any, info: graphene.ResolveInfo) -> bool:
        return resolution_breached(root, utcnow())

    @staticmethod
    def resolve_resolution_breached_at(root: Any, info: graphene.ResolveInfo) -> Any:
        return root.resolution_due_at if resolution_breached(root, utcnow()) else None

    @staticmethod
    def resolve_sla_paused(root: Any, info: graphene.ResolveInfo) -> bool:
        return root.pending_since is not None

    @staticmethod
    def resolve_allowed_statuses(root: Any, info: graphene.ResolveInfo) -> list[str]:
        return [s.value for s in workflow_of(info.context.settings).allowed(root, utcnow())]

    @staticmethod
    def resolve_shared_with_partner_id(root: Any, info: graphene.ResolveInfo) -> str | None:
        partner = root.shared_with_partner_id
        return to_global_id("Partner", partner) if partner is not None else None

    @staticmethod
    async def resolve_assignee(root: Any, info: graphene.ResolveInfo) -> Any:
        if root.assignee_user_id is None:
            return None
        return await info.context.loader(UserByIdLoader).load(root.assignee_user_id)

    @staticmethod
    async def resolve_customer(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(CustomerByIdLoader).load(root.customer_id)


class CaseConnection(CountableConnection):
    class Meta:
        node = Case


class CaseFilter(graphene.InputObjectType):
    statuses = graphene.List(graphene.NonNull(CaseStatusEnum))
    categories = graphene.List(graphene.NonNull(CaseCategoryEnum))
    priorities = graphene.List(graphene.NonNull(CasePriorityEnum))
    breached = graphene.Boolean(
        description="true: first response or resolution late (as the breach fields say); "
        "false: neither."
    )
    first_response_breached = graphene.Boolean()
    resolution_breached = graphene.Boolean()
    shared_with_partner = graphene.ID(description="Global id of a partner: cases shared with it.")
    shared = graphene.Boolean(description="true: shared with some partner; false: with none.")


def case_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    clauses: list[ColumnElement[bool]] = []
    for name, column in (
        ("statuses", cases.c.status),
        ("categories", cases.c.category),
        ("priorities", cases.c.priority),
    ):
        if f.get(name):
            clauses.append(column.in_([getattr(v, "value", v) for v in f[name]]))
    now = utcnow()
    for name, condition in (
        ("breached", lambda: breached_sql(cases, now)),
        ("first_response_breached", lambda: first_response_breached_sql(cases, now)),
        ("resolution_breached", lambda: resolution_breached_sql(cases, now)),
    ):
        if f.get(name) is not None:
            clauses.append(condition() if f[name] else ~condition())
    if f.get("shared_with_partner") is not None:
        partner_id = expect_global_id(f["shared_with_partner"], "Partner")
        clauses.append(cases.c.shared_with_partner_id == partner_id)
    if f.get("shared") is not None:
        shared = cases.c.shared_with_partner_id
        clauses.append(shared.is_not(None) if f["shared"] else shared.is_(None))
    return clauses


CASE_SORTS = Sorts(
    "Case",
    cases,
    {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "NUMBER": "number"},
    ("CREATED_AT", "DESC"),
)
CASES_OF_CUSTOMER = Relation(cases, "customer_id", CASE_SORTS.orderings, case_filters)
