"""The one GraphQL schema, composed from the domains."""

from __future__ import annotations

import graphene

from hub.api.audit.schema import AuditQueries
from hub.api.cases.types import Case
from hub.api.connections.schema import ConnectionMutations, ConnectionQueries
from hub.api.connections.types import SyncRun
from hub.api.core.node import NodeQuery
from hub.api.customers.schema import CustomerMutations, CustomerQueries
from hub.api.feedback.types import Feedback
from hub.api.interactions.schema import InteractionMutations
from hub.api.interactions.types import Interaction
from hub.api.orders.types import Order


class Query(CustomerQueries, AuditQueries, ConnectionQueries, NodeQuery, graphene.ObjectType):
    """Everything crmhub serves, one endpoint."""


class Mutation(
    CustomerMutations, InteractionMutations, ConnectionMutations, graphene.ObjectType
):
    """Every change goes through here; each payload carries typed `errors`."""


schema = graphene.Schema(
    query=Query, mutation=Mutation, types=[Case, Feedback, Interaction, Order, SyncRun]
)
