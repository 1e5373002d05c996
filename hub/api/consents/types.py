"""Consent records: what a customer agreed to, when, where, and the evidence."""

from __future__ import annotations

import graphene
from graphene.types.generic import GenericScalar

from hub.api.core.dataloaders import ListByKeyLoader
from hub.api.core.enums import ConsentPurposeEnum, ConsentStatusEnum
from hub.api.core.scalars import DateTime
from hub.api.customers.dataloaders import CustomerListsLoader
from hub.models import Consent as ConsentModel


class ConsentsByCustomerLoader(ListByKeyLoader):
    table = ConsentModel.__table__
    key = "customer_id"
    order = ("purpose", "-recorded_at")
    together = CustomerListsLoader
    fields = ("purpose", "status", "source", "recorded_at", "evidence")


class Consent(graphene.ObjectType):
    purpose = graphene.Field(ConsentPurposeEnum, required=True)
    status = graphene.Field(ConsentStatusEnum, required=True)
    source = graphene.String(required=True, description="Where it was given: a form, a platform, a call.")
    recorded_at = graphene.Field(DateTime, required=True)
    evidence = GenericScalar(description="What proves it: IP, form id, platform event...")
