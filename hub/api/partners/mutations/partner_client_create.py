"""partnerClientCreate: an OAuth client for a partner; its secret is returned this once."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy.orm import Session

from hub.access.scopes import Scope
from hub.access.sharing import (
    SharingError,
    SharingErrorCode,
    partner_client_scopes,
    require_partner,
)
from hub.api.core.mutations import Mutation, UserError
from hub.api.partners.dataloaders import PartnerByIdLoader
from hub.api.partners.errors import PartnerError, user_error
from hub.api.partners.mutations.sharing_grant_create import _id
from hub.auth.clients import create_client
from hub.models.enums import ClientKind


class PartnerClientCreateInput(graphene.InputObjectType):
    partner_id = graphene.ID(required=True)
    name = graphene.String(required=True, description="A name people recognise.")
    scopes = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The most its tokens may carry; sharing grants narrow them per customer.",
    )
    redirect_uris = graphene.List(
        graphene.NonNull(graphene.String),
        description="For the authorization-code flow (partner users); none for client credentials.",
    )


class PartnerClientCreate(Mutation):
    """Create an OAuth client acting for a partner; its secret is in this payload only."""

    class Meta:
        scopes = (Scope.PARTNERS_ADMIN,)
        error_type = PartnerError

    class Arguments:
        input = PartnerClientCreateInput(required=True)

    client_id = graphene.String()
    client_secret = graphene.String(description="Shown once.")
    partner = graphene.Field("hub.api.partners.types.Partner")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        partner_id = _id(input["partner_id"], "Partner", "partnerId")
        try:
            scopes = partner_client_scopes(" ".join(input["scopes"]))
        except SharingError as error:
            raise user_error(error) from None
        ctx = info.context

        def create(conn: Any) -> tuple[str, str]:
            require_partner(conn, partner_id)
            with Session(bind=conn) as session:
                client, secret = create_client(
                    session,
                    name=input["name"],
                    kind=ClientKind.PARTNER,
                    scopes=scopes,
                    partner_id=partner_id,
                    redirect_uris=tuple(input.get("redirect_uris") or ()),
                )
                return client.client_id, secret

        async def write(conn: Any) -> Any:
            return await conn.run_sync(create)

        try:
            created = await ctx.db.transaction(write)
        except SharingError as error:
            raise user_error(error) from None
        except ValueError as error:  # create_client's own checks: name, redirect URIs
            raise UserError(SharingErrorCode.INVALID, str(error)) from None
        client_id, secret = created
        partner = await ctx.loader(PartnerByIdLoader).load(partner_id)
        return cls(client_id=client_id, client_secret=secret, partner=partner, errors=[])
