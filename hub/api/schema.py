"""The one GraphQL schema, composed from the domains."""

from __future__ import annotations

import graphene

from hub.api.cases.types import Case
from hub.api.core.node import NodeQuery
from hub.api.customers.schema import CustomerQueries
from hub.api.feedback.types import Feedback
from hub.api.interactions.types import Interaction
from hub.api.orders.types import Order


class Query(CustomerQueries, NodeQuery, graphene.ObjectType):
    """Everything crmhub serves, one endpoint."""


schema = graphene.Schema(query=Query, types=[Case, Feedback, Interaction, Order])
