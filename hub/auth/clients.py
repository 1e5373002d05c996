"""Registering OAuth clients: the systems (ours or a partner's) that call the hub's API."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from hub.access.scopes import parse_scopes
from hub.auth.secrets import hash_secret, new_client_id, new_secret
from hub.models.access import OAuthClient
from hub.models.enums import ClientKind

CLIENT_CREDENTIALS = "client_credentials"
CLIENT_SECRET_BASIC = "client_secret_basic"


def create_client(
    session: Session,
    *,
    name: str,
    kind: ClientKind,
    scopes: str,
    partner_id: uuid.UUID | None = None,
) -> tuple[OAuthClient, str]:
    """Add a client that may use the client-credentials grant with HTTP Basic.

    Returns the new row (added and flushed, not committed) and the plain
    secret, which is not stored anywhere and so can be shown only this once.
    Raises ``UnknownScopeError`` for a scope name the hub does not define and
    ``ValueError`` for an empty name or a partner client without its partner.
    """
    name = name.strip()
    if not name:
        raise ValueError("a client needs a name")
    kind = ClientKind(kind)
    # A partner client without a partner would see no partner's data filters.
    if kind is ClientKind.PARTNER and partner_id is None:
        raise ValueError("a PARTNER client needs partner_id")
    granted = parse_scopes(scopes)

    secret = new_secret()
    client = OAuthClient(
        client_id=new_client_id(),
        name=name,
        secret_hash=hash_secret(secret),
        kind=kind,
        partner_id=partner_id,
        scope=" ".join(sorted(granted)),
        grant_types=[CLIENT_CREDENTIALS],
        redirect_uris=[],
        token_endpoint_auth_method=CLIENT_SECRET_BASIC,
        settings={},
    )
    session.add(client)
    session.flush()
    return client, secret
