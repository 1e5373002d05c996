"""JWT access tokens after RFC 9068: what goes into one, and how one is checked.

A token is ``{typ: at+jwt, alg, kid}`` over ``iss, aud, sub, client_id, scope,
jti, iat, exp``, signed with the hub's current key (``hub.auth.keys``). Checking
trusts nothing the token says about how to check it: the algorithm must be one
of ours *and* the one of the key named by ``kid`` (so never ``none``, never an
HMAC keyed with a public key), and ``iss``, ``aud`` and ``exp`` must hold. That
the ``jti`` was not revoked is the caller's to check.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from hub.auth.keys import ALGORITHMS, Key
from hub.auth.secrets import new_jti

JWT_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 §4: reject any other typ
MAX_HEADER_LENGTH = 1024
REQUIRED_CLAIMS = ("iss", "aud", "sub", "client_id", "jti", "iat", "exp")


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


@dataclass(frozen=True)
class TokenHeader:
    alg: str
    kid: str


def read_header(token: str) -> TokenHeader | None:
    """The unverified header of a JWS compact token, if it is one we could have made."""
    if not looks_like_jwt(token):
        return None
    segment = token.split(".", 1)[0]
    if len(segment) > MAX_HEADER_LENGTH:
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):  # bad base64, not UTF-8, not JSON
        return None
    if not isinstance(header, dict):
        return None
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if alg not in ALGORITHMS or typ not in JWT_TYPES or not isinstance(kid, str) or not kid:
        return None
    return TokenHeader(alg=alg, kid=kid)


def issue(
    key: Key,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    subject: str,
    scope: str,
    ttl_seconds: int,
    now: int | None = None,
) -> str:
    """A signed RFC 9068 access token."""
    issued_at = int(time.time()) if now is None else now
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "jti": new_jti(),
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    header = {"typ": "at+jwt", "alg": key.alg, "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[key.alg])


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token this hub has just made (never of one it was handed)."""
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def verify(
    token: str, header: TokenHeader, key: Key, *, issuer: str, audience: str
) -> dict[str, Any] | None:
    """The claims of a token whose signature, type, issuer, audience and lifetime all hold; else None."""
    if key.alg != header.alg:
        return None
    try:
        decoded = jwt.decode(token, key, algorithms=[key.alg])
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            **{name: {"essential": True} for name in REQUIRED_CLAIMS if name not in ("iss", "aud")},
        )
        registry.validate(claims)
    except JoseError:
        return None
    if decoded.header.get("typ") not in JWT_TYPES:
        return None
    if not isinstance(claims.get("client_id"), str) or not isinstance(claims.get("scope", ""), str):
        return None
    return claims
