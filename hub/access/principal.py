"""Who is asking: the authenticated caller of one request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hub.models.enums import ClientKind


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    kind: ClientKind
    scopes: frozenset[str]
    partner_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    # The client's own rate limits (its settings' "rate_limit"); None: the hub's defaults.
    rate_limit: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def is_partner(self) -> bool:
        return self.kind is ClientKind.PARTNER

    def allows(self, required: frozenset[str]) -> bool:
        return required <= self.scopes
