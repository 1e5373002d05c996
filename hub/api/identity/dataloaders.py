"""Loaders of the identity domain, each one statement per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader
from hub.models import Connection, CustomerMerge, FieldProvenance, MergeSuggestion, SourceRecord

suggestions = MergeSuggestion.__table__
merges = CustomerMerge.__table__
provenance = FieldProvenance.__table__
sources = SourceRecord.__table__
connections = Connection.__table__


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
            select(provenance, sources.c.object_type, sources.c.external_id,
                   connections.c.name.label("connection_name"),
                   connections.c.connector.label("connector"))
            .outerjoin(sources, sources.c.id == provenance.c.source_record_id)
            .outerjoin(connections, connections.c.id == sources.c.connection_id)
            .where(provenance.c.customer_id.in_(keys))
            .order_by(provenance.c.customer_id, *self.order_clauses())
        )
