"""The audit log as the API shows it: internal callers with ``partners:admin`` only."""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar

from hub.access.scopes import Scope
from hub.api.core.connections import Sorts
from hub.api.core.dataloaders import ByIdLoader
from hub.api.core.ids import to_global_id
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.models.audit import ActorKind
from hub.models.audit import AuditEvent as AuditEventModel

audit_events = AuditEventModel.__table__

# Reading the log is managing partners' access: there is no audit:read scope (DESIGN §8).
AUDIT_SCOPES = (Scope.PARTNERS_ADMIN,)

ActorKindEnum = graphene.Enum.from_enum(
    ActorKind,
    name="AuditActorKind",
    description="Who acted: a USER through an application, a CLIENT (an application on its "
    "own), the hub itself (SYSTEM) or a CONNECTOR writing back.",
)

AUDIT_SORTS = Sorts("AuditEvent", audit_events, {"OCCURRED_AT": "occurred_at"}, ("OCCURRED_AT", "DESC"))


class AuditEventByIdLoader(ByIdLoader):
    table = audit_events


class AuditEvent(NodeObjectType):
    """One entry of the audit log: who read or changed which record, which fields, and when."""

    node_loader = AuditEventByIdLoader
    node_scopes = AUDIT_SCOPES

    occurred_at = graphene.Field(DateTime, required=True)
    actor_kind = graphene.Field(ActorKindEnum, required=True)
    user_id = graphene.ID(description="Global id of the user, when a user authorized the token.")
    client_id = graphene.String(description="The OAuth client that acted.")
    partner_id = graphene.ID(description="Global id of the partner the client or user belongs to.")
    action = graphene.String(
        required=True, description='"record_type.verb", e.g. customer.read_pii, customer.tag.'
    )
    record_type = graphene.String(required=True, description="e.g. customer.")
    record_id = graphene.String(description="The record's uuid as stored (not a global id).")
    fields = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The fields read or the arguments written, in GraphQL's names.",
    )
    details = GenericScalar(description="What else the event records, e.g. the tags added.")
    request_id = graphene.String(description="The X-Request-ID of the API request.")

    @staticmethod
    def resolve_user_id(root: Any, info: graphene.ResolveInfo) -> str | None:
        return to_global_id("User", root.user_id) if root.user_id else None

    @staticmethod
    def resolve_partner_id(root: Any, info: graphene.ResolveInfo) -> str | None:
        return to_global_id("Partner", root.partner_id) if root.partner_id else None


class AuditEventConnection(CountableConnection):
    class Meta:
        node = AuditEvent
