"""Root fields of the consents domain: wiring only."""

from __future__ import annotations

import graphene

from hub.api.consents.mutations.consent_record import ConsentRecord


class ConsentMutations(graphene.ObjectType):
    consent_record = ConsentRecord.Field()
