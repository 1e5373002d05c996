"""The Customer and what hangs off it."""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar

from hub.access.scopes import Scope
from hub.api.cases.types import CASE_SORTS, CASES_OF_CUSTOMER, CaseConnection, CaseFilter
from hub.api.consents.types import Consent, ConsentsByCustomerLoader
from hub.api.core.connections import relation_field
from hub.api.core.enums import (
    ContactPointKindEnum,
    CustomerKindEnum,
    CustomerStatusEnum,
    LifecycleStageEnum,
)
from hub.api.core.fields import Field
from hub.api.core.ids import to_global_id
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.api.customers.dataloaders import (
    AddressesByCustomerLoader,
    ContactPointsByCustomerLoader,
    CustomerByIdLoader,
    SourcesByCustomerLoader,
    TagsByCustomerLoader,
)
from hub.api.feedback.types import (
    FEEDBACK_OF_CUSTOMER,
    FEEDBACK_SORTS,
    FeedbackConnection,
    FeedbackFilter,
)
from hub.api.identity.dataloaders import ProvenanceByCustomerLoader
from hub.api.interactions.types import (
    INTERACTION_SORTS,
    INTERACTIONS_OF_CUSTOMER,
    InteractionConnection,
    InteractionFilter,
)
from hub.api.orders.types import ORDER_SORTS, ORDERS_OF_CUSTOMER, OrderConnection, OrderFilter
from hub.models.enums import CustomerStatus

PII = (Scope.CUSTOMERS_READ_PII,)


class ContactPoint(graphene.ObjectType):
    kind = graphene.Field(ContactPointKindEnum, required=True)
    value = graphene.String(required=True, description="As the source gave it.")
    normalised_value = graphene.String(
        required=True, description="Lower-case e-mail, E.164 phone, platform:handle."
    )
    label = graphene.String()
    is_primary = graphene.Boolean(required=True)

    @staticmethod
    def resolve_value(root: Any, info: graphene.ResolveInfo) -> str:
        return root.raw_value


class Address(graphene.ObjectType):
    label = graphene.String()
    line1 = graphene.String()
    line2 = graphene.String()
    city = graphene.String()
    region = graphene.String()
    postal_code = graphene.String()
    country = graphene.String(description="ISO 3166-1 alpha-2.")
    is_primary = graphene.Boolean(required=True)


class SourceRecord(graphene.ObjectType):
    """Provenance: one external record this customer was built from."""

    connection = graphene.String(required=True, description="Name of the connection.")
    connector = graphene.String(required=True, description="shopify, mailchimp, facebook, ...")
    object_type = graphene.String(required=True)
    external_id = graphene.String(required=True)
    source_updated_at = graphene.Field(DateTime)
    first_seen_at = graphene.Field(DateTime, required=True)
    last_seen_at = graphene.Field(DateTime, required=True)
    deleted_at = graphene.Field(DateTime)

    @staticmethod
    def resolve_connection(root: Any, info: graphene.ResolveInfo) -> str:
        return root.connection_name


class Customer(NodeObjectType):
    """One person or organisation, however many platforms know them."""

    node_loader = CustomerByIdLoader
    node_scopes = (Scope.CUSTOMERS_READ,)
    customer_key = "id"

    kind = graphene.Field(CustomerKindEnum, required=True)
    display_name = graphene.String(required=True)
    given_name = graphene.String()
    family_name = graphene.String()
    organization_name = graphene.String()
    birth_date = Field(graphene.Date, scopes=PII)
    locale = graphene.String(description="BCP 47 tag, e.g. en-GB.")
    lifecycle_stage = graphene.Field(LifecycleStageEnum, required=True)
    tags = graphene.List(graphene.NonNull(graphene.String), required=True)
    attributes = GenericScalar(required=True, description="Custom attributes (JSON object).")
    status = graphene.Field(CustomerStatusEnum, required=True)
    merged_into = graphene.Field(lambda: Customer, description="The survivor, when this customer was merged.")
    created_at = graphene.Field(DateTime, required=True)
    updated_at = graphene.Field(DateTime, required=True)
    version = graphene.Int(required=True, description="Bumped on every change.")

    contact_points = Field(graphene.List(graphene.NonNull(ContactPoint)), scopes=PII)
    addresses = Field(graphene.List(graphene.NonNull(Address)), scopes=PII)
    sources = graphene.List(graphene.NonNull(SourceRecord), required=True)
    provenance = graphene.List(
        graphene.NonNull("hub.api.identity.types.FieldProvenance"), required=True,
        description="Per golden-record field: the source whose value won, by which rule, when.",
    )
    consents = graphene.List(
        graphene.NonNull(Consent), required=True, description="Newest first within each purpose."
    )
    orders = relation_field(
        OrderConnection, ORDERS_OF_CUSTOMER, ORDER_SORTS, filter_input=OrderFilter,
        scopes=[Scope.ORDERS_READ],
    )
    interactions = relation_field(
        InteractionConnection, INTERACTIONS_OF_CUSTOMER, INTERACTION_SORTS,
        filter_input=InteractionFilter, scopes=[Scope.INTERACTIONS_READ],
        description="The timeline, newest first unless ordered otherwise.",
    )
    cases = relation_field(
        CaseConnection, CASES_OF_CUSTOMER, CASE_SORTS, filter_input=CaseFilter,
        scopes=[Scope.CASES_READ],
    )
    feedback = relation_field(
        FeedbackConnection, FEEDBACK_OF_CUSTOMER, FEEDBACK_SORTS, filter_input=FeedbackFilter,
        scopes=[Scope.FEEDBACK_READ],
    )

    @staticmethod
    async def resolve_tags(root: Any, info: graphene.ResolveInfo) -> list[str]:
        return [row.tag for row in await info.context.loader(TagsByCustomerLoader).load(root.id)]

    @staticmethod
    async def resolve_merged_into(root: Any, info: graphene.ResolveInfo) -> Any:
        if root.merged_into_id is None:
            return None
        return await info.context.loader(CustomerByIdLoader).load(root.merged_into_id)

    @staticmethod
    async def resolve_contact_points(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(ContactPointsByCustomerLoader).load(root.id)

    @staticmethod
    async def resolve_addresses(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(AddressesByCustomerLoader).load(root.id)

    @staticmethod
    async def resolve_sources(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(SourcesByCustomerLoader).load(root.id)

    @staticmethod
    async def resolve_provenance(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(ProvenanceByCustomerLoader).load(root.id)

    @staticmethod
    def successor_id(row: Any) -> Any:
        """A merged customer answers as its survivor (``node(id:)``, ``customer(id:)``)."""
        return row.merged_into_id if row.status == CustomerStatus.MERGED else None

    @staticmethod
    async def resolve_consents(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(ConsentsByCustomerLoader).load(root.id)


class CustomerConnection(CountableConnection):
    class Meta:
        node = Customer


def customer_global_id(row: Any) -> str:
    return to_global_id("Customer", row.id)
