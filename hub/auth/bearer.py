"""Who is calling the API: the principal behind an ``Authorization: Bearer`` header (RFC 6750)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.principal import Principal
from hub.auth.secrets import token_digest
from hub.models.access import OAuthClient, OAuthToken
from hub.models.base import utcnow

# RFC 6750 §2.1 b64token; the length cap stops hashing megabytes for nothing.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN_LENGTH = 512


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of a ``Bearer`` authorization header (scheme case-insensitive), or None."""
    scheme, _, token = (authorization_header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token if _TOKEN.fullmatch(token) else None


async def principal_from_bearer(
    conn: AsyncConnection, authorization_header: str | None
) -> Principal | None:
    """The principal of a live token, or None when the header is missing or the token not good.

    A token is good when it was issued, is neither expired nor revoked, and its
    client is not disabled. All of that is one indexed select on the token's
    digest, so a good, expired, revoked or never-issued token costs the same.
    The scopes are the token's, narrowed to what the client holds now, so
    taking a scope from a client takes effect at once.
    """
    token = bearer_token(authorization_header)
    if token is None:
        return None
    now = utcnow()
    row = (
        await conn.execute(
            select(
                OAuthToken.scope,
                OAuthToken.user_id,
                OAuthClient.client_id,
                OAuthClient.kind,
                OAuthClient.partner_id,
                OAuthClient.scope.label("client_scope"),
            )
            .join(OAuthClient, OAuthClient.client_id == OAuthToken.client_id)
            .where(
                OAuthToken.access_token_hash == token_digest(token),
                OAuthToken.revoked_at.is_(None),
                OAuthToken.expires_at > now,
                OAuthClient.disabled_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    return Principal(
        client_id=row.client_id,
        kind=row.kind,
        scopes=frozenset(row.scope.split()) & frozenset(row.client_scope.split()),
        partner_id=row.partner_id,
        user_id=row.user_id,
    )
