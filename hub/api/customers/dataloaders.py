"""Customer relations, each one statement per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from hub.access.rows import grant_columns
from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader, ListsByKeyLoader
from hub.api.core.sharing import CustomerScopesLoader
from hub.models import Address, Connection, ContactPoint, Customer, CustomerTag, SourceRecord

customers = Customer.__table__
connections = Connection.__table__
source_records = SourceRecord.__table__


class CustomerByIdLoader(ByIdLoader):
    """Visible customers (``ByIdLoader`` applies ``hub.access.rows``); for a partner, each
    row also says which of its grants cover it, so its scopes on the customer come along."""

    table = customers

    def columns(self) -> list[Any]:
        return grant_columns(self.ctx.principal, customers)

    def loaded(self, rows: Sequence[Any]) -> None:
        if self.ctx.principal.is_partner:
            self.ctx.loader(CustomerScopesLoader).know(rows)


class CustomerListsLoader(ListsByKeyLoader):
    """A customer's small lists asked together (tags, contact points, addresses, sources,
    consents): one statement for all of them."""


class ContactPointsByCustomerLoader(ListByKeyLoader):
    table = ContactPoint.__table__
    key = "customer_id"
    order = ("kind", "-is_primary", "created_at")
    together = CustomerListsLoader
    fields = ("kind", "raw_value", "normalised_value", "label", "is_primary")


class AddressesByCustomerLoader(ListByKeyLoader):
    table = Address.__table__
    key = "customer_id"
    order = ("-is_primary", "created_at")
    together = CustomerListsLoader
    fields = ("label", "line1", "line2", "city", "region", "postal_code", "country", "is_primary")


class TagsByCustomerLoader(ListByKeyLoader):
    table = CustomerTag.__table__
    key = "customer_id"
    order = ("tag",)
    together = CustomerListsLoader
    fields = ("tag",)


class SourcesByCustomerLoader(ListByKeyLoader):
    table = source_records
    key = "customer_id"
    order = ("first_seen_at",)
    together = CustomerListsLoader
    fields = (
        "object_type",
        "external_id",
        "source_updated_at",
        "first_seen_at",
        "last_seen_at",
        "deleted_at",
    )

    @classmethod
    def source(cls) -> tuple[Any, list[Any]]:
        joined = source_records.join(connections, connections.c.id == source_records.c.connection_id)
        columns = [source_records.c[name] for name in cls.fields]
        named = [connections.c.name.label("connection_name"), connections.c.connector]
        return joined, [*columns, *named]

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        # The connection's name and connector come along: provenance reads as "shopify/main-shop".
        return (
            select(
                source_records,
                connections.c.name.label("connection_name"),
                connections.c.connector.label("connector"),
            )
            .join(connections, connections.c.id == source_records.c.connection_id)
            .where(source_records.c.customer_id.in_(keys))
            .order_by(source_records.c.customer_id, *self.order_clauses())
        )
