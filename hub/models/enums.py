"""The vocabularies of the canonical model, stored as their names."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def enum_type(cls: type[enum.Enum]) -> Enum:
    # Stored as VARCHAR: adding a member never needs a type migration.
    return Enum(cls, native_enum=False, length=32, validate_strings=True, create_constraint=False)


class CustomerKind(enum.StrEnum):
    PERSON = "PERSON"
    ORGANIZATION = "ORGANIZATION"


class CustomerStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    MERGED = "MERGED"
    ERASED = "ERASED"


class LifecycleStage(enum.StrEnum):
    LEAD = "LEAD"
    PROSPECT = "PROSPECT"
    CUSTOMER = "CUSTOMER"
    REPEAT_CUSTOMER = "REPEAT_CUSTOMER"
    CHURNED = "CHURNED"


class ContactPointKind(enum.StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SOCIAL = "SOCIAL"
    WEB = "WEB"


class OrderStatus(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class FinancialStatus(enum.StrEnum):
    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"


class FulfillmentStatus(enum.StrEnum):
    UNFULFILLED = "UNFULFILLED"
    PARTIAL = "PARTIAL"
    FULFILLED = "FULFILLED"


class Channel(enum.StrEnum):
    EMAIL = "EMAIL"
    SOCIAL = "SOCIAL"
    PHONE = "PHONE"
    CHAT = "CHAT"
    WEB = "WEB"
    STORE = "STORE"


class InteractionKind(enum.StrEnum):
    MESSAGE = "MESSAGE"
    COMMENT = "COMMENT"
    MENTION = "MENTION"
    REVIEW = "REVIEW"
    EMAIL_SENT = "EMAIL_SENT"
    EMAIL_OPEN = "EMAIL_OPEN"
    EMAIL_CLICK = "EMAIL_CLICK"
    EMAIL_BOUNCE = "EMAIL_BOUNCE"
    UNSUBSCRIBE = "UNSUBSCRIBE"
    NOTE = "NOTE"
    CALL = "CALL"
    MEETING = "MEETING"


class Direction(enum.StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"
    INTERNAL = "INTERNAL"


class CaseStatus(enum.StrEnum):
    NEW = "NEW"
    OPEN = "OPEN"
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class CasePriority(enum.StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class CaseCategory(enum.StrEnum):
    COMPLAINT = "COMPLAINT"
    QUESTION = "QUESTION"
    REQUEST = "REQUEST"
    INCIDENT = "INCIDENT"


class CommentVisibility(enum.StrEnum):
    INTERNAL = "INTERNAL"
    SHARED = "SHARED"


class FeedbackKind(enum.StrEnum):
    NPS = "NPS"
    CSAT = "CSAT"
    REVIEW = "REVIEW"


class ConsentPurpose(enum.StrEnum):
    MARKETING_EMAIL = "MARKETING_EMAIL"
    PARTNER_SHARING = "PARTNER_SHARING"
    PROFILING = "PROFILING"


class ConsentStatus(enum.StrEnum):
    GRANTED = "GRANTED"
    WITHDRAWN = "WITHDRAWN"
    PENDING = "PENDING"


class PartnerKind(enum.StrEnum):
    SUPPLIER = "SUPPLIER"
    RESELLER = "RESELLER"
    SERVICE_PROVIDER = "SERVICE_PROVIDER"
    AGENCY = "AGENCY"


class ConnectionStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    NEEDS_REAUTH = "NEEDS_REAUTH"
    FAILING = "FAILING"


class UserRole(enum.StrEnum):
    STAFF = "STAFF"
    PARTNER = "PARTNER"


class ClientKind(enum.StrEnum):
    INTERNAL = "INTERNAL"
    PARTNER = "PARTNER"


class SyncRunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    # Finished, but some records went to the dead-letter table.
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
