"""Who is asking: the authenticated caller of one request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hub.models.enums import ClientKind


@dataclass(frozen=True, slots=True)
class ActiveGrant:
    """A sharing grant in force for the calling partner, its scopes narrowed to the token's.

    ``segment`` is the canonical JSON of the grant's rule; None when the grant
    lists its customers (they stay in the database and are matched in SQL).
    """

    id: uuid.UUID
    scopes: frozenset[str]
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    kind: ClientKind
    scopes: frozenset[str]
    partner_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    # The client's own rate limits (its settings' "rate_limit"); None: the hub's defaults.
    rate_limit: dict[str, Any] | None = field(default=None, compare=False)
    # A partner's grants in force when the request came in, read with its token
    # (``hub.access.sharing``); always empty for internal callers, who see every row.
    grants: tuple[ActiveGrant, ...] = ()

    @property
    def is_partner(self) -> bool:
        return self.kind is ClientKind.PARTNER

    def allows(self, required: frozenset[str]) -> bool:
        return required <= self.scopes

    def granting(self, scope: str) -> tuple[ActiveGrant, ...]:
        """The grants through which this partner holds ``scope`` (for some customers)."""
        return tuple(g for g in self.grants if scope in g.scopes)
