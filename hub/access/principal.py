"""Who is asking: the authenticated caller of one request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hub.models.enums import ClientKind


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    kind: ClientKind
    scopes: frozenset[str]
    partner_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @property
    def is_partner(self) -> bool:
        return self.kind is ClientKind.PARTNER

    def allows(self, required: frozenset[str]) -> bool:
        return required <= self.scopes
