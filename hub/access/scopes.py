"""OAuth scopes: each one is a permission declared on GraphQL fields and mutations."""

from __future__ import annotations

import enum


class Scope(enum.StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_READ_PII = "customers:read_pii"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMERS_MERGE = "customers:merge"
    ORDERS_READ = "orders:read"
    INTERACTIONS_READ = "interactions:read"
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    FEEDBACK_READ = "feedback:read"
    FEEDBACK_WRITE = "feedback:write"
    SEGMENTS_READ = "segments:read"
    CONNECTIONS_ADMIN = "connections:admin"
    PARTNERS_ADMIN = "partners:admin"
    WEBHOOKS_MANAGE = "webhooks:manage"
    PRIVACY_ADMIN = "privacy:admin"


# Shown on the consent page and in `crmhub clients create --help`.
DESCRIPTIONS: dict[Scope, str] = {
    Scope.CUSTOMERS_READ: "See customers' names, lifecycle stage, tags and where their data came from",
    Scope.CUSTOMERS_READ_PII: "See customers' e-mail addresses, phone numbers, postal addresses and birth dates",
    Scope.CUSTOMERS_WRITE: "Change customers, their tags and timeline",
    Scope.CUSTOMERS_MERGE: "Merge customers who are one person, undo merges, review merge suggestions",
    Scope.ORDERS_READ: "See customers' orders",
    Scope.INTERACTIONS_READ: "See customers' messages, comments and e-mail activity",
    Scope.CASES_READ: "See service cases",
    Scope.CASES_WRITE: "Open, update and comment on service cases",
    Scope.FEEDBACK_READ: "See satisfaction scores and reviews",
    Scope.FEEDBACK_WRITE: "Record satisfaction scores and reviews",
    Scope.SEGMENTS_READ: "See customer segments and loyalty figures",
    Scope.CONNECTIONS_ADMIN: "Manage connections to other platforms and their syncs",
    Scope.PARTNERS_ADMIN: "Manage partners, their clients and what is shared with them",
    Scope.WEBHOOKS_MANAGE: "Manage outbound webhook subscriptions",
    Scope.PRIVACY_ADMIN: "Handle consent and data-subject requests",
}

ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)


class UnknownScopeError(ValueError):
    pass


def parse_scopes(text: str) -> frozenset[str]:
    """Split a space-separated scope string, refusing names that are not scopes."""
    scopes = frozenset(text.split())
    unknown = sorted(scopes - ALL_SCOPES)
    if unknown:
        raise UnknownScopeError(
            f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(sorted(ALL_SCOPES))}"
        )
    return scopes
