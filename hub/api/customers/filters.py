"""Customer filters and text search, as SQL conditions."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import ColumnElement, exists, select

from hub.api.core.enums import CustomerKindEnum, CustomerStatusEnum, LifecycleStageEnum
from hub.api.core.errors import ApiError, ErrorCode
from hub.api.core.ids import expect_global_id
from hub.api.core.scalars import DateTime
from hub.identity.normalise import email, fold
from hub.models import ContactPoint, Customer, CustomerTag
from hub.models.enums import ContactPointKind, CustomerStatus


class CustomerFilter(graphene.InputObjectType):
    """All given conditions must hold. Merged and erased customers are left out unless `statuses` asks for them."""

    ids = graphene.List(
        graphene.NonNull(graphene.ID), description="Only these customers (global ids, at most 250)."
    )
    kind = graphene.Field(CustomerKindEnum)
    statuses = graphene.List(graphene.NonNull(CustomerStatusEnum))
    lifecycle_stages = graphene.List(graphene.NonNull(LifecycleStageEnum))
    tags = graphene.List(graphene.NonNull(graphene.String), description="Has any of these tags.")
    email = graphene.String(description="Has this e-mail address (case-insensitive).")
    locale = graphene.String()
    created_after = DateTime()
    created_before = DateTime()
    updated_after = DateTime()
    updated_before = DateTime()


def _value(member: Any) -> Any:
    return getattr(member, "value", member)


MAX_IDS = 250


def _customer_ids(global_ids: list[str]) -> list[Any]:
    if len(global_ids) > MAX_IDS:
        raise ApiError(f"`ids` holds at most {MAX_IDS} ids.", ErrorCode.BAD_USER_INPUT)
    return [expect_global_id(g, "Customer") for g in global_ids]


def customer_filters(filter: dict[str, Any] | None, search: str | None) -> list[ColumnElement[bool]]:
    f = filter or {}
    statuses = f.get("statuses") or [CustomerStatus.ACTIVE]
    clauses: list[ColumnElement[bool]] = [Customer.status.in_([_value(s) for s in statuses])]
    if f.get("ids") is not None:
        clauses.append(Customer.id.in_(_customer_ids(f["ids"])))
    if f.get("kind") is not None:
        clauses.append(Customer.kind == _value(f["kind"]))
    if f.get("lifecycle_stages"):
        clauses.append(Customer.lifecycle_stage.in_([_value(s) for s in f["lifecycle_stages"]]))
    if f.get("tags"):
        clauses.append(
            exists(
                select(CustomerTag.customer_id).where(
                    CustomerTag.customer_id == Customer.id, CustomerTag.tag.in_(f["tags"])
                )
            )
        )
    if f.get("email"):
        clauses.append(
            exists(
                select(ContactPoint.id).where(
                    ContactPoint.customer_id == Customer.id,
                    ContactPoint.kind == ContactPointKind.EMAIL,
                    ContactPoint.normalised_value == email(f["email"]),
                )
            )
        )
    if f.get("locale"):
        clauses.append(Customer.locale == f["locale"])
    for name, column, op in (
        ("created_after", Customer.created_at, "gt"),
        ("created_before", Customer.created_at, "lt"),
        ("updated_after", Customer.updated_at, "gt"),
        ("updated_before", Customer.updated_at, "lt"),
    ):
        value = f.get(name)
        if value is not None:
            clauses.append(column > value if op == "gt" else column < value)
    if search is not None and search.strip():
        for word in fold(search).split():
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(Customer.search_text.like(f"%{escaped}%", escape="\\"))
    return clauses
