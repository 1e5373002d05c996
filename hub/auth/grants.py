"""The grants the hub's authorization server runs, with their persistence.

- Client credentials (RFC 6749 §4.4): a confidential client gets a token for itself.
- Authorization code (§4.1) with PKCE (RFC 7636), S256 only, and the redirect
  URI matched exactly; a code works once, and a replayed code revokes every
  token issued from it (RFC 9700 §4.5.3).
- Refresh token (§6) with rotation: each refresh spends the token and issues a
  new one; the scope may only narrow; presenting a spent token revokes its
  whole family (RFC 9700 §4.14.2).

Every token endpoint takes ``client_secret_basic`` only. Codes and tokens are
kept as SHA-256 digests. A code or refresh token is spent by one conditional
UPDATE, so of two concurrent exchanges only one wins.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    TokenMixin,
    grants,
    scope_to_list,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc7636 import CodeChallenge, create_s256_code_challenge
from sqlalchemy import delete, select, update

from hub.auth.secrets import token_digest
from hub.models.access import AuthorizationCode, OAuthToken
from hub.models.base import new_id, utcnow

log = logging.getLogger(__name__)

# Used codes are kept this long after they expire, to recognise a replay.
USED_CODE_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class ResourceOwner:
    """The signed-in user who authorizes a client."""

    id: uuid.UUID
    partner_id: uuid.UUID | None = None
    email: str = field(default="", repr=False)

    def get_user_id(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class IssuedCode(AuthorizationCodeMixin):
    id: uuid.UUID
    client_id: str
    user_id: uuid.UUID
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    family_id: uuid.UUID

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class IssuedToken(TokenMixin):
    """One ``oauth_tokens`` row, as found by its access or its refresh token (``kind``)."""

    id: uuid.UUID
    kind: str  # "access_token" or "refresh_token": which of the row's two was presented
    client_id: str
    user_id: uuid.UUID | None
    scope: str
    jti: str | None
    family_id: uuid.UUID | None
    issued_at: datetime
    expires_at: datetime
    refresh_token_expires_at: datetime | None
    revoked: bool

    @classmethod
    def from_row(cls, row: OAuthToken, kind: str, *, usable: bool = True) -> IssuedToken:
        spent = kind == "refresh_token" and row.used_at is not None
        return cls(
            id=row.id,
            kind=kind,
            client_id=row.client_id,
            user_id=row.user_id,
            scope=row.scope,
            jti=row.jti,
            family_id=row.family_id,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            refresh_token_expires_at=row.refresh_token_expires_at,
            revoked=row.revoked_at is not None or spent or not usable,
        )

    @property
    def ends_at(self) -> datetime:
        if self.kind == "refresh_token" and self.refresh_token_expires_at is not None:
            return self.refresh_token_expires_at
        return self.expires_at

    def check_client(self, client: Any) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.ends_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.ends_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked


def refuse_scopes_beyond_client(request: OAuth2Request) -> None:
    """Raise ``invalid_scope`` when the request names a scope the client was not given.

    authlib itself would quietly narrow the grant to what the client holds
    (``ClientMixin.get_allowed_scope``); a partner asking for more than its
    contract allows should hear so instead.
    """
    requested = set(scope_to_list(request.payload.scope) or ())
    missing = sorted(requested - request.client.scopes)
    if missing:
        # Names here passed the known-scope check first, so they are safe to echo.
        raise InvalidScopeError(f"The client may not request: {' '.join(missing)}.")


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4: a confidential client gets a token for itself, authenticating with Basic."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()  # unknown scope names -> invalid_scope
        refuse_scopes_beyond_client(self.request)


def _s256_matches(verifier: str, challenge: str) -> bool:
    return hmac.compare_digest(create_s256_code_challenge(verifier), challenge)


class S256CodeChallenge(CodeChallenge):
    """PKCE required of every client, and only with S256 (RFC 9700 §2.1.1): ``plain`` is refused."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    CODE_CHALLENGE_METHODS: ClassVar[dict[str, Any]] = {"S256": _s256_matches}

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("A 'code_challenge' is required (PKCE with S256).")
        # RFC 7636 §4.3: no method means plain, which this server does not accept.
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 §4.1 for confidential clients, with S256 PKCE and an exact redirect URI."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: Any) -> str:
        # Always named and matched exactly (RFC 9700 §4.1.3). Failing here never
        # redirects: an unverified URI could be anyone's.
        redirect_uri = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("The 'redirect_uri' is not registered for this client.")
        return redirect_uri

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()
        refuse_scopes_beyond_client(self.request)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        now = utcnow()
        with self.server.sessions.begin() as session:
            session.execute(
                delete(AuthorizationCode).where(
                    AuthorizationCode.expires_at < now - USED_CODE_RETENTION
                )
            )
            session.add(
                AuthorizationCode(
                    code_hash=token_digest(code),
                    client_id=request.client.get_client_id(),
                    user_id=request.user.id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope or "",
                    code_challenge=request.payload.data["code_challenge"],
                    code_challenge_method="S256",
                    family_id=new_id(),
                    issued_at=now,
                    expires_at=now
                    + timedelta(seconds=self.server.settings.auth.authorization_code_ttl_seconds),
                )
            )

    def query_authorization_code(self, code: str, client: Any) -> IssuedCode | None:
        with self.server.sessions.begin() as session:
            row = session.scalar(
                select(AuthorizationCode).where(AuthorizationCode.code_hash == token_digest(code))
            )
            if row is None or row.client_id != client.get_client_id():
                return None
            if row.used_at is not None:
                revoked = self.server.revocations.revoke_family(session, row.family_id)
                log.warning(
                    "authorization code of client %s replayed: %d token(s) issued from it revoked",
                    row.client_id,
                    revoked,
                )
                return None
            if row.expires_at <= utcnow():
                return None
            return IssuedCode(
                id=row.id,
                client_id=row.client_id,
                user_id=row.user_id,
                redirect_uri=row.redirect_uri,
                scope=row.scope,
                code_challenge=row.code_challenge,
                code_challenge_method=row.code_challenge_method,
                family_id=row.family_id,
            )

    def authenticate_user(self, authorization_code: IssuedCode) -> ResourceOwner | None:
        return self.server.active_user(authorization_code.user_id)

    @hooked
    def create_token_response(self) -> tuple[int, Any, Any]:
        client = self.request.client
        code: IssuedCode = self.request.authorization_code
        user = self.authenticate_user(code)
        if user is None:
            raise InvalidGrantError("There is no active user for this code.")
        with self.server.sessions.begin() as session:
            spent = session.execute(
                update(AuthorizationCode)
                .where(AuthorizationCode.id == code.id, AuthorizationCode.used_at.is_(None))
                .values(used_at=utcnow())
            ).rowcount
            if not spent:  # another request exchanged it a moment ago: a replay all the same
                self.server.revocations.revoke_family(session, code.family_id)
        if not spent:
            raise InvalidGrantError("Invalid 'code' in request.")
        self.request.user = user
        token = self.generate_token(
            user=user,
            scope=code.get_scope(),
            include_refresh_token=client.check_grant_type("refresh_token"),
        )
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        # Never deleted when used: the spent row is how a replay is recognised.
        return None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 §6 with rotation and reuse detection; the scope may only narrow."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        with self.server.sessions.begin() as session:
            row = session.scalar(
                select(OAuthToken).where(
                    OAuthToken.refresh_token_hash == token_digest(refresh_token)
                )
            )
            if row is None:
                return None
            if row.used_at is not None:
                # A spent token comes back: it was copied, so no token of its family can be trusted.
                revoked = (
                    self.server.revocations.revoke_family(session, row.family_id)
                    if row.family_id is not None
                    else self.server.revocations.revoke_token(session, row.id)
                )
                log.warning(
                    "spent refresh token of client %s presented again: %d token(s) revoked",
                    row.client_id,
                    revoked,
                )
                return None
            token = IssuedToken.from_row(row, "refresh_token")
        if token.is_revoked() or token.is_expired():
            return None
        return token

    def authenticate_user(self, refresh_token: IssuedToken) -> ResourceOwner | None:
        if refresh_token.user_id is None:
            return None
        return self.server.active_user(refresh_token.user_id)

    @hooked
    def create_token_response(self) -> tuple[int, Any, Any]:
        old: IssuedToken = self.request.refresh_token
        user = self.authenticate_user(old)
        if user is None:
            raise InvalidGrantError("There is no active user for this token.")
        with self.server.sessions.begin() as session:
            spent = session.execute(
                update(OAuthToken)
                .where(
                    OAuthToken.id == old.id,
                    OAuthToken.used_at.is_(None),
                    OAuthToken.revoked_at.is_(None),
                )
                .values(used_at=utcnow())
            ).rowcount
            if not spent and old.family_id is not None:  # lost a race to another refresh
                self.server.revocations.revoke_family(session, old.family_id)
        if not spent:
            raise InvalidGrantError()
        self.request.user = user
        token = self.issue_token(user, old)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        # Spent in create_token_response, before the new token is issued.
        return None
