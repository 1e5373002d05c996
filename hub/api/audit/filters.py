"""Filters of the audit log, as an ``AuditQuery`` (the conditions the command line uses too)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import graphene

from hub.access.audit import AuditQuery
from hub.api.audit.types import ActorKindEnum
from hub.api.core.errors import ApiError, ErrorCode
from hub.api.core.ids import from_global_id
from hub.api.core.scalars import DateTime
from hub.models.audit import ActorKind


class AuditEventFilter(graphene.InputObjectType):
    """All given conditions must hold."""

    client_id = graphene.String(description="The OAuth client that acted.")
    partner_id = graphene.ID(description="Global id of a Partner (a plain uuid works too).")
    user_id = graphene.ID(description="Global id of a User (a plain uuid works too).")
    actor_kinds = graphene.List(graphene.NonNull(ActorKindEnum))
    actions = graphene.List(
        graphene.NonNull(graphene.String),
        description='Any of these actions; "customer.*" is every action on customers.',
    )
    record = graphene.ID(description="Events about this record, by its global id (e.g. a Customer).")
    record_type = graphene.String(description="e.g. customer")
    record_id = graphene.String(description="The record's uuid as stored.")
    request_id = graphene.String()
    occurred_after = DateTime(description="At or after this time.")
    occurred_before = DateTime(description="Before this time.")


def _uuid(value: str, type_name: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        pass
    kind, id_ = from_global_id(value)
    if kind != type_name:
        raise ApiError(f"`{field}`: {value!r} is not the id of a {type_name}.", ErrorCode.INVALID_ID)
    return id_


def record_type_of(type_name: str) -> str:
    """``SharingGrant`` -> ``sharing_grant``: a GraphQL type's name as audit events store it."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type_name).lower()


def audit_query(f: dict[str, Any] | None) -> AuditQuery:
    f = f or {}
    record_type, record_id = f.get("record_type"), f.get("record_id")
    if f.get("record"):
        type_name, id_ = from_global_id(f["record"])
        record_type, record_id = record_type_of(type_name), str(id_)
    return AuditQuery(
        client_ids=(f["client_id"],) if f.get("client_id") else (),
        partner_ids=(_uuid(f["partner_id"], "Partner", "partnerId"),) if f.get("partner_id") else (),
        user_ids=(_uuid(f["user_id"], "User", "userId"),) if f.get("user_id") else (),
        actor_kinds=tuple(ActorKind(getattr(k, "value", k)) for k in f.get("actor_kinds") or ()),
        actions=tuple(f.get("actions") or ()),
        record_type=record_type,
        record_id=record_id,
        request_id=f.get("request_id"),
        since=f.get("occurred_after"),
        until=f.get("occurred_before"),
    )
