"""Registering OAuth clients: the systems (ours or a partner's) that call the hub's API."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from hub.access.scopes import parse_scopes
from hub.auth.secrets import hash_secret, new_client_id, new_secret
from hub.models.access import OAuthClient
from hub.models.enums import ClientKind

CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
GRANT_TYPES = frozenset({CLIENT_CREDENTIALS, AUTHORIZATION_CODE, REFRESH_TOKEN})
CLIENT_SECRET_BASIC = "client_secret_basic"
MAX_REDIRECT_URI_LENGTH = 2000  # AuthorizationCode.redirect_uri


def create_client(
    session: Session,
    *,
    name: str,
    kind: ClientKind,
    scopes: str,
    partner_id: uuid.UUID | None = None,
    redirect_uris: Sequence[str] = (),
    grant_types: Sequence[str] | None = None,
) -> tuple[OAuthClient, str]:
    """Add a confidential client that authenticates with HTTP Basic.

    Without ``redirect_uris`` it may use client credentials; with them, by
    default, the authorization code (with PKCE) and refresh token grants.
    Returns the new row (added and flushed, not committed) and the plain
    secret, which is not stored anywhere and so can be shown only this once.
    Raises ``UnknownScopeError`` for a scope name the hub does not define and
    ``ValueError`` for an empty name, a partner client without its partner, an
    unknown grant or a redirect URI that may not be registered.
    """
    name = name.strip()
    if not name:
        raise ValueError("a client needs a name")
    kind = ClientKind(kind)
    # A partner client without a partner would see no partner's data filters.
    if kind is ClientKind.PARTNER and partner_id is None:
        raise ValueError("a PARTNER client needs partner_id")
    granted = parse_scopes(scopes)
    for uri in redirect_uris:
        check_redirect_uri(uri)
    if grant_types is None:
        grant_types = [AUTHORIZATION_CODE, REFRESH_TOKEN] if redirect_uris else [CLIENT_CREDENTIALS]
    unknown = sorted(set(grant_types) - GRANT_TYPES)
    if unknown:
        raise ValueError(f"unknown grant type(s): {', '.join(unknown)}")
    if AUTHORIZATION_CODE in grant_types and not redirect_uris:
        raise ValueError("the authorization_code grant needs at least one redirect URI")
    if REFRESH_TOKEN in grant_types and AUTHORIZATION_CODE not in grant_types:
        raise ValueError("refresh tokens come only with the authorization_code grant")

    secret = new_secret()
    client = OAuthClient(
        client_id=new_client_id(),
        name=name,
        secret_hash=hash_secret(secret),
        kind=kind,
        partner_id=partner_id,
        scope=" ".join(sorted(granted)),
        grant_types=list(dict.fromkeys(grant_types)),
        redirect_uris=list(dict.fromkeys(redirect_uris)),
        token_endpoint_auth_method=CLIENT_SECRET_BASIC,
        settings={},
    )
    session.add(client)
    session.flush()
    return client, secret


def check_redirect_uri(uri: str) -> None:
    """Raise ``ValueError`` unless ``uri`` may be registered as a redirect URI.

    Absolute, https (or http to a loopback address, for native apps: RFC 8252
    §7.3), without a fragment (RFC 6749 §3.1.2). It is later matched exactly.
    """
    if len(uri) > MAX_REDIRECT_URI_LENGTH or any(c.isspace() for c in uri):
        raise ValueError(f"not a redirect URI: {uri!r}")
    parts = urlsplit(uri)
    if not parts.hostname or parts.fragment or "#" in uri:
        raise ValueError(f"a redirect URI is absolute and has no fragment: {uri!r}")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise ValueError(f"a redirect URI uses https (or http to a loopback address): {uri!r}")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
