"""SQLAlchemy models of the canonical model, one module per domain."""

from hub.models.access import OAuthClient, OAuthToken, Partner, User
from hub.models.audit import ActorKind, AuditEvent
from hub.models.base import Base, new_id, utcnow
from hub.models.commerce import Order, OrderLine
from hub.models.customers import Address, ContactPoint, Customer, CustomerTag
from hub.models.engagement import Case, CaseComment, Consent, Feedback, Interaction
from hub.models.events import (
    OutboxEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from hub.models.identity import (
    CustomerMerge,
    FieldProvenance,
    MergeSuggestion,
    MergeSuggestionStatus,
    SourceProfile,
)
from hub.models.sharing import SharingGrant, SharingGrantCustomer
from hub.models.sources import Connection, SourceRecord
from hub.models.sync import DeadLetter, InboundEvent, StreamState, SyncRun
from hub.models.writeback import WriteBack, WriteBackStatus

__all__ = [
    "ActorKind",
    "Address",
    "AuditEvent",
    "Base",
    "Case",
    "CaseComment",
    "Connection",
    "Consent",
    "ContactPoint",
    "Customer",
    "CustomerMerge",
    "CustomerTag",
    "DeadLetter",
    "Feedback",
    "FieldProvenance",
    "InboundEvent",
    "Interaction",
    "MergeSuggestion",
    "MergeSuggestionStatus",
    "OAuthClient",
    "OAuthToken",
    "Order",
    "OrderLine",
    "OutboxEvent",
    "Partner",
    "SharingGrant",
    "SharingGrantCustomer",
    "SourceProfile",
    "SourceRecord",
    "StreamState",
    "SyncRun",
    "User",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookDeliveryStatus",
    "WebhookSubscription",
    "WriteBack",
    "WriteBackStatus",
    "new_id",
    "utcnow",
]
