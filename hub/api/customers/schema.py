"""Root fields of the customers domain."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.rows import customer_rows
from hub.access.scopes import Scope
from hub.api.core.connections import Sorts, root_page
from hub.api.core.fields import Field
from hub.api.core.node import load_node
from hub.api.core.pagination import page_arguments
from hub.api.customers.filters import CustomerFilter, customer_filters
from hub.api.customers.mutations.customer_tag import CustomerTag, CustomerUntag
from hub.api.customers.types import CustomerConnection
from hub.models import Customer as CustomerModel

customers = CustomerModel.__table__

CUSTOMER_SORTS = Sorts(
    "Customer",
    customers,
    {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "NAME": "sort_name"},
    ("CREATED_AT", "DESC"),
)


async def resolve_customers(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    where = [
        *customer_rows(info.context.principal),
        *customer_filters(args.get("filter"), args.get("search")),
    ]
    return await root_page(info, args, CUSTOMER_SORTS, customers, where)


async def resolve_customer(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
    return await load_node(info, id, expect="Customer")


class CustomerQueries(graphene.ObjectType):
    customers = Field(
        CustomerConnection,
        required=True,
        args={
            **page_arguments(),
            "filter": graphene.Argument(CustomerFilter),
            "order_by": graphene.Argument(CUSTOMER_SORTS.input),
            "search": graphene.String(description="Words to find in names, e-mails and phones."),
        },
        resolver=resolve_customers,
        scopes=[Scope.CUSTOMERS_READ],
        description="Customers the caller may see, newest first unless ordered otherwise.",
    )
    customer = Field(
        "hub.api.customers.types.Customer",
        id=graphene.ID(required=True),
        resolver=resolve_customer,
        scopes=[Scope.CUSTOMERS_READ],
        description="One customer by global id; null when it does not exist or is not visible.",
    )


class CustomerMutations(graphene.ObjectType):
    customer_tag = CustomerTag.Field()
    customer_untag = CustomerUntag.Field()
