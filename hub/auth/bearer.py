"""Who is calling the API: the principal behind an ``Authorization: Bearer`` header (RFC 6750).

Two kinds of token are accepted: JWT access tokens (RFC 9068, ``hub.auth.access_tokens``)
and the opaque tokens issued before them (``crmhub demo token``, or
``auth.access_token_format = "opaque"``). What a JWT must be issued by and for
comes from the settings bound to the engine with ``bind_token_checks`` (the
app does so); an engine nobody bound uses the process's settings.
"""

from __future__ import annotations

import re
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.access.principal import Principal
from hub.access.sharing import grants_in_force, with_grant_rows, with_grants
from hub.auth.access_tokens import looks_like_jwt, read_header, verify
from hub.auth.keys import Key, public_key
from hub.auth.revocation import redis_key
from hub.auth.secrets import token_digest
from hub.models.access import OAuthClient, OAuthToken, SigningKey, User
from hub.models.base import utcnow
from hub.settings import Settings, get_settings

# RFC 6750 §2.1 b64token (a JWT's dots included); the length cap stops hashing
# megabytes for nothing while leaving room for an RS256 JWT (about 900 characters).
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN_LENGTH = 4096


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of a ``Bearer`` authorization header (scheme case-insensitive), or None."""
    scheme, _, token = (authorization_header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token if _TOKEN.fullmatch(token) else None


@dataclass
class TokenChecks:
    """What a JWT must say to be accepted here, with the verifying keys seen so far."""

    issuer: str
    audience: str
    redis: Any = None  # redis.asyncio.Redis when revoked JWT ids are listed there
    _keys: dict[str, Key] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenChecks:
        client = None
        if settings.redis_url:
            from redis.asyncio import Redis

            client = Redis.from_url(settings.redis_url)
        return cls(settings.auth.issuer, settings.auth.token_audience, client)

    async def key(self, conn: AsyncConnection, kid: str) -> Key | None:
        """The verifying key ``kid`` if it is published now (current, or retired but not expired).

        Read on every request, so that an expired or deleted key stops at once;
        only the parsed key is kept (a ``kid`` is the key's thumbprint, so it
        never names other material).
        """
        row = (
            await conn.execute(
                select(SigningKey.public_jwk, SigningKey.expires_at).where(SigningKey.kid == kid)
            )
        ).first()
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            return None
        key = self._keys.get(kid)
        if key is None:
            key = self._keys[kid] = public_key(row.public_jwk)
        return key


_checks: weakref.WeakKeyDictionary[Any, TokenChecks] = weakref.WeakKeyDictionary()


def bind_token_checks(engine: AsyncEngine, settings: Settings) -> None:
    """Check JWTs arriving on this engine's connections against these settings."""
    _checks[engine.sync_engine] = TokenChecks.from_settings(settings)


def _checks_for(conn: AsyncConnection) -> TokenChecks:
    checks = _checks.get(conn.sync_engine)
    if checks is None:
        checks = _checks[conn.sync_engine] = TokenChecks.from_settings(get_settings())
    return checks


async def principal_from_bearer(
    conn: AsyncConnection, authorization_header: str | None
) -> Principal | None:
    """The principal of a live token, or None when the header is missing or the token not good.

    A token is good when it was issued, is neither expired nor revoked, and
    neither its client nor its user is disabled. An opaque token is one indexed
    select on its digest. A JWT is first verified (signature with a published
    key, type, issuer, audience, expiry), then its ``jti`` is looked up the same
    way, or in Redis when the hub lists revoked ids there. The scopes are the
    token's, narrowed to what the client holds now, so taking a scope from a
    client takes effect at once; a partner's principal also carries its sharing
    grants in force now.
    """
    token = bearer_token(authorization_header)
    if token is None:
        return None
    if looks_like_jwt(token):
        return await _principal_from_jwt(conn, token)
    params = {"digest": token_digest(token), "now": utcnow()}
    rows = (await conn.execute(_BY_DIGEST, params)).all()
    return _principal_of_rows(rows[0].scope, rows) if rows else None


async def _principal_from_jwt(conn: AsyncConnection, token: str) -> Principal | None:
    checks = _checks_for(conn)
    header = read_header(token)
    if header is None:
        return None
    key = await checks.key(conn, header.kid)
    if key is None:
        return None
    claims = verify(token, header, key, issuer=checks.issuer, audience=checks.audience)
    if claims is None:
        return None
    user_id = None
    # RFC 9068 §2.2: `sub` is the user when one authorized the token, else the client.
    if claims["sub"] != claims["client_id"]:
        try:
            user_id = uuid.UUID(claims["sub"])
        except ValueError:
            return None
    if checks.redis is None:
        # The row must say what the token says, though only our key could have signed it.
        query = _live_token_query().where(
            OAuthToken.jti == claims["jti"],
            OAuthToken.client_id == claims["client_id"],
            OAuthToken.user_id == user_id if user_id else OAuthToken.user_id.is_(None),
        )
        rows = (await conn.execute(query, {"now": utcnow()})).all()
        return _principal_of_rows(rows[0].scope, rows) if rows else None
    if await checks.redis.exists(redis_key(claims["jti"])):
        return None
    query = select(
        OAuthClient.client_id,
        OAuthClient.kind,
        OAuthClient.partner_id,
        OAuthClient.scope.label("client_scope"),
        OAuthClient.settings.label("client_settings"),
    ).where(OAuthClient.client_id == claims["client_id"], OAuthClient.disabled_at.is_(None))
    if user_id is not None:
        query = query.add_columns(User.id.label("user_id")).join(
            User, (User.id == user_id) & User.is_active.is_(True)
        )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return await with_grants(conn, _principal(claims.get("scope", ""), row))


def _live_token_query() -> Select[Any]:
    """Live tokens with their client (and a partner's grants in force), at the bound ``now``."""
    now = bindparam("now", type_=OAuthToken.expires_at.type)
    # A partner's grants in force come along, one row each (none: one row of nulls).
    grants, in_force, grant_columns = grants_in_force(OAuthClient.partner_id, now)
    return (
        select(
            OAuthToken.scope,
            OAuthToken.user_id,
            OAuthClient.client_id,
            OAuthClient.kind,
            OAuthClient.partner_id,
            OAuthClient.scope.label("client_scope"),
            OAuthClient.settings.label("client_settings"),
            *grant_columns,
        )
        .join(OAuthClient, OAuthClient.client_id == OAuthToken.client_id)
        .outerjoin(User, User.id == OAuthToken.user_id)
        .outerjoin(grants, in_force)
        .where(
            OAuthToken.revoked_at.is_(None),
            OAuthToken.expires_at > now,
            OAuthClient.disabled_at.is_(None),
            or_(OAuthToken.user_id.is_(None), User.is_active.is_(True)),
        )
    )


# Built once: composing this select and its cache key costs about half a millisecond, more
# than running it, and every request to the API starts with it.
_BY_DIGEST = _live_token_query().where(OAuthToken.access_token_hash == bindparam("digest"))


def _principal_of_rows(scope: str, rows: Sequence[Any]) -> Principal:
    """The principal of a token lookup's rows (one per grant in force of a partner)."""
    return with_grant_rows(_principal(scope, rows[0]), rows)


def _principal(scope: str, row: Any) -> Principal:
    return Principal(
        client_id=row.client_id,
        kind=row.kind,
        scopes=frozenset(scope.split()) & frozenset(row.client_scope.split()),
        partner_id=row.partner_id,
        user_id=getattr(row, "user_id", None),
        rate_limit=(row.client_settings or {}).get("rate_limit"),
    )
