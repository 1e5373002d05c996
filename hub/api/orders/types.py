"""Orders on a customer's record."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import ColumnElement

from hub.access.scopes import Scope
from hub.api.core.connections import Sorts
from hub.api.core.dataloaders import Relation
from hub.api.core.enums import FinancialStatusEnum, FulfillmentStatusEnum, OrderStatusEnum
from hub.api.core.node import NodeObjectType, reads
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime, Money
from hub.api.orders.dataloaders import LinesByOrderLoader, OrderByIdLoader
from hub.models import Order as OrderModel

orders = OrderModel.__table__


class OrderLine(graphene.ObjectType):
    sku = graphene.String()
    title = graphene.String(required=True)
    quantity = graphene.Int(required=True)
    unit_price = graphene.Field(Money, required=True)
    total = graphene.Field(Money, required=True)


class Order(NodeObjectType):
    """An order placed in a shop."""

    node_loader = OrderByIdLoader
    node_scopes = (Scope.ORDERS_READ,)
    customer_key = "customer_id"

    number = graphene.String(required=True)
    status = graphene.Field(OrderStatusEnum, required=True)
    financial_status = graphene.Field(FinancialStatusEnum, required=True)
    fulfillment_status = graphene.Field(FulfillmentStatusEnum, required=True)
    currency = graphene.String(required=True, description="ISO 4217 code.")
    subtotal = graphene.Field(Money, required=True)
    discount_total = graphene.Field(Money, required=True)
    tax_total = graphene.Field(Money, required=True)
    shipping_total = graphene.Field(Money, required=True)
    total = graphene.Field(Money, required=True)
    placed_at = graphene.Field(DateTime, required=True)
    updated_at = graphene.Field(DateTime, required=True)
    cancelled_at = graphene.Field(DateTime)
    lines = graphene.List(graphene.NonNull(OrderLine), required=True)

    @staticmethod
    @reads("id")
    def resolve_lines(root: Any, info: graphene.ResolveInfo) -> Any:
        # Usually loaded with the orders' page (``ORDERS_OF_CUSTOMER.children``).
        return info.context.loader(LinesByOrderLoader).get(root.id)


class OrderConnection(CountableConnection):
    class Meta:
        node = Order


class OrderFilter(graphene.InputObjectType):
    statuses = graphene.List(graphene.NonNull(OrderStatusEnum))
    placed_after = DateTime()
    placed_before = DateTime()


def order_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    clauses: list[ColumnElement[bool]] = []
    if f.get("statuses"):
        clauses.append(orders.c.status.in_([getattr(s, "value", s) for s in f["statuses"]]))
    if f.get("placed_after") is not None:
        clauses.append(orders.c.placed_at > f["placed_after"])
    if f.get("placed_before") is not None:
        clauses.append(orders.c.placed_at < f["placed_before"])
    return clauses


ORDER_SORTS = Sorts("Order", orders, {"PLACED_AT": "placed_at", "TOTAL": "total"}, ("PLACED_AT", "DESC"))
ORDERS_OF_CUSTOMER = Relation(
    orders,
    "customer_id",
    ORDER_SORTS.orderings,
    order_filters,
    children=(("lines", LinesByOrderLoader),),
)
