"""Root fields of the partners domain."""

from __future__ import annotations

import graphene

from hub.access.scopes import Scope
from hub.api.core.enums import PartnerKindEnum
from hub.api.core.fields import Field
from hub.api.core.pagination import page_arguments
from hub.api.partners.mutations.partner_client_create import PartnerClientCreate
from hub.api.partners.mutations.partner_create import PartnerCreate
from hub.api.partners.mutations.sharing_grant_create import SharingGrantCreate
from hub.api.partners.mutations.sharing_grant_revoke import SharingGrantRevoke
from hub.api.partners.resolvers import PARTNER_SORTS, resolve_partner, resolve_partners
from hub.api.partners.types import PartnerConnection


class PartnerQueries(graphene.ObjectType):
    partners = Field(
        PartnerConnection,
        required=True,
        args={
            **page_arguments(),
            "kind": graphene.Argument(PartnerKindEnum),
            "order_by": graphene.Argument(PARTNER_SORTS.input),
        },
        resolver=resolve_partners,
        scopes=[Scope.PARTNERS_ADMIN],
        description="Partners, by name unless ordered otherwise.",
    )
    partner = Field(
        "hub.api.partners.types.Partner",
        id=graphene.ID(required=True),
        resolver=resolve_partner,
        scopes=[Scope.PARTNERS_ADMIN],
        description="One partner by global id; null when there is none.",
    )


class PartnerMutations(graphene.ObjectType):
    partner_create = PartnerCreate.Field()
    partner_client_create = PartnerClientCreate.Field()
    sharing_grant_create = SharingGrantCreate.Field()
    sharing_grant_revoke = SharingGrantRevoke.Field()
