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
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.models import Case as CaseModel
from hub.models import CaseComment as CaseCommentModel
from hub.models.enums import CommentVisibility

cases = CaseModel.__table__
comments = CaseCommentModel.__table__


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


class CaseComment(graphene.ObjectType):
    id = graphene.ID(required=True)
    body = graphene.String(required=True)
    visibility = graphene.Field(CommentVisibilityEnum, required=True)
    created_at = graphene.Field(DateTime, required=True)

    @staticmethod
    def resolve_id(root: Any, info: graphene.ResolveInfo) -> str:
        return root.id.hex


class Case(NodeObjectType):
    """A service case, worked through NEW → OPEN → PENDING → RESOLVED → CLOSED."""

    node_loader = CaseByIdLoader
    node_scopes = (Scope.CASES_READ,)

    number = graphene.Int(required=True)
    subject = graphene.String(required=True)
    description = graphene.String()
    status = graphene.Field(CaseStatusEnum, required=True)
    priority = graphene.Field(CasePriorityEnum, required=True)
    category = graphene.Field(CaseCategoryEnum, required=True)
    channel = graphene.Field(ChannelEnum, required=True)
    first_response_due_at = graphene.Field(DateTime)
    resolution_due_at = graphene.Field(DateTime)
    first_responded_at = graphene.Field(DateTime)
    resolved_at = graphene.Field(DateTime)
    closed_at = graphene.Field(DateTime)
    created_at = graphene.Field(DateTime, required=True)
    updated_at = graphene.Field(DateTime, required=True)
    comments = graphene.List(graphene.NonNull(CaseComment), required=True)

    @staticmethod
    async def resolve_comments(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(CommentsByCaseLoader).load(root.id)


class CaseConnection(CountableConnection):
    class Meta:
        node = Case


class CaseFilter(graphene.InputObjectType):
    statuses = graphene.List(graphene.NonNull(CaseStatusEnum))
    categories = graphene.List(graphene.NonNull(CaseCategoryEnum))
    priorities = graphene.List(graphene.NonNull(CasePriorityEnum))


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
    return clauses


CASE_SORTS = Sorts(
    "Case", cases, {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at"}, ("CREATED_AT", "DESC")
)
CASES_OF_CUSTOMER = Relation(cases, "customer_id", CASE_SORTS.orderings, case_filters)
