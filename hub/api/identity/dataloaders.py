"""Loaders of the identity domain, each one statement per request."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader
from hub.identity.golden import PROFILE_COLUMNS, provenance_values
from hub.identity.survivorship import Candidate, golden
from hub.models import (
    Connection,
    CustomerMerge,
    FieldProvenance,
    MergeSuggestion,
    SourceProfile,
    SourceRecord,
)

suggestions = MergeSuggestion.__table__
merges = CustomerMerge.__table__
provenance = FieldProvenance.__table__
sources = SourceRecord.__table__
connections = Connection.__table__
profiles = SourceProfile.__table__

_SOURCE_COLUMNS = (sources.c.object_type, sources.c.external_id,
                   connections.c.name.label("connection_name"),
                   connections.c.connector.label("connector"))
_PROFILES = (
    select(profiles, sources.c.customer_id, *_SOURCE_COLUMNS)
    .join(sources, sources.c.id == profiles.c.source_record_id)
    .join(connections, connections.c.id == sources.c.connection_id)
    .where(sources.c.deleted_at.is_(None))
)


class MergeSuggestionByIdLoader(ByIdLoader):
    table = suggestions


class CustomerMergeByIdLoader(ByIdLoader):
    table = merges


class ProvenanceByCustomerLoader(ListByKeyLoader):
    table = provenance
    key = "customer_id"
    order = ("field",)

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        # The source's connection comes along: provenance reads "given_name from shopify-eu".
        return (
            select(provenance, *_SOURCE_COLUMNS)
            .outerjoin(sources, sources.c.id == provenance.c.source_record_id)
            .outerjoin(connections, connections.c.id == sources.c.connection_id)
            .where(provenance.c.customer_id.in_(keys))
            .order_by(provenance.c.customer_id, *self.order_clauses())
        )

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[list[Any]]:
        found = await super().batch_load_fn(keys)
        # A customer made from one source stores no provenance (the sync writes none, to
        # stay cheap): every field is that source's, picked now by the same rules.
        bare = [key for key, rows in zip(keys, found, strict=True) if not rows]
        if bare:
            picked = await self._picked(bare)
            found = [rows or picked.get(key, []) for key, rows in zip(keys, found, strict=True)]
            self.known.update(zip(keys, found, strict=True))
        return found

    async def _picked(self, customer_ids: list[Any]) -> dict[Any, list[Any]]:
        rows = await self.ctx.db.all(_PROFILES.where(sources.c.customer_id.in_(customer_ids)))
        described: dict[Any, dict[Any, Any]] = defaultdict(dict)
        candidates: dict[Any, list[Candidate]] = defaultdict(list)
        for row in rows:
            described[row.customer_id][row.source_record_id] = row
            candidates[row.customer_id].append(Candidate(
                row.source_record_id, row.connector, row.connection_name, row.observed_at,
                {column: getattr(row, column) for column in PROFILE_COLUMNS}))
        survivorship = self.ctx.settings.identity.survivorship
        picked = {}
        for customer_id, offered in candidates.items():
            values = provenance_values(golden(offered, survivorship))
            picked[customer_id] = [
                PickedField(field, v["value"], v["rule"], v["observed_at"], v["observed_at"],
                            described[customer_id][v["source_record_id"]])
                for field, v in sorted(values.items())
            ]
        return picked


@dataclass(frozen=True, slots=True)
class PickedField:
    """A provenance row worked out at read time, shaped like a stored one."""

    field: str
    value: str | None
    rule: str
    observed_at: datetime
    decided_at: datetime
    source: Any

    def __getattr__(self, name: str) -> Any:
        # connection_name, connector, object_type, external_id: the source's.
        return getattr(self.source, name)
