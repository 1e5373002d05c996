"""The one GraphQL schema, composed from the domains."""

from __future__ import annotations

import graphene

from hub.api.audit.schema import AuditQueries
from hub.api.cases.schema import CaseMutations, CaseQueries
from hub.api.cases.types import Case
from hub.api.connections.schema import ConnectionMutations, ConnectionQueries
from hub.api.connections.types import SyncRun
from hub.api.consents.schema import ConsentMutations
from hub.api.core.node import NodeQuery
from hub.api.customers.schema import CustomerMutations, CustomerQueries
from hub.api.feedback.schema import FeedbackMutations, FeedbackQueries
from hub.api.feedback.types import Feedback
from hub.api.identity.schema import IdentityMutations, IdentityQueries
from hub.api.interactions.schema import InteractionMutations
from hub.api.interactions.types import Interaction
from hub.api.orders.types import Order
from hub.api.partners.schema import PartnerMutations, PartnerQueries
from hub.api.partners.types import Partner, SharingGrant
from hub.api.webhooks.schema import WebhookMutations, WebhookQueries
from hub.api.webhooks.types import WebhookDelivery, WebhookSubscription
from hub.api.writeback.schema import WriteBackMutations
from hub.api.writeback.types import WriteBack


class Query(CustomerQueries, IdentityQueries, CaseQueries, FeedbackQueries, AuditQueries, ConnectionQueries, PartnerQueries, WebhookQueries, NodeQuery, graphene.ObjectType):
    """Everything crmhub serves, one endpoint."""


class Mutation(
    CustomerMutations,
    IdentityMutations,
    InteractionMutations,
    CaseMutations,
    FeedbackMutations,
    ConnectionMutations,
    PartnerMutations,
    WebhookMutations,
    ConsentMutations,
    WriteBackMutations,
    graphene.ObjectType,
):
    """Every change goes through here; each payload carries typed `errors`."""


schema = graphene.Schema(
    query=Query, mutation=Mutation, types=[Case, Feedback, Interaction, Order, Partner, SharingGrant, SyncRun, WebhookDelivery, WebhookSubscription, WriteBack]
)
