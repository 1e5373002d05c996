"""The OAuth 2 authorization server: authlib's framework-neutral server over our clients and tokens.

authlib ships no Starlette server, so this follows its Flask adapter: the
endpoint reads the HTTP request (see ``hub.auth.routes``), this module turns
it into an ``OAuth2Request``, authlib's ``AuthorizationServer`` runs the grant
or endpoint, and the ``(status, body, headers)`` it returns becomes a Starlette
response. authlib is synchronous, so all of this runs in a worker thread on
the sync engine.

Grants (``hub.auth.grants``): client credentials, authorization code with S256
PKCE, refresh token with rotation. Endpoints: token, revocation (RFC 7009),
introspection (RFC 7662); metadata (RFC 8414) and the JWK set are plain
documents. Access tokens are RFC 9068 JWTs (``hub.auth.access_tokens``) unless
``auth.access_token_format`` is ``opaque``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InsecureTransportError,
    InvalidRequestError,
    OAuth2Error,
    OAuth2Request,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from hub.access.scopes import ALL_SCOPES
from hub.auth.access_tokens import issue, looks_like_jwt, unverified_claims
from hub.auth.adapter import RegisteredClient, StarletteOAuth2Request, SubmittedRequest
from hub.auth.bearer import MAX_TOKEN_LENGTH
from hub.auth.endpoints import TokenIntrospection, TokenRevocation
from hub.auth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    IssuedToken,
    RefreshTokenGrant,
    ResourceOwner,
    S256CodeChallenge,
)
from hub.auth.keys import TokenSigner, jwks
from hub.auth.revocation import RevocationList
from hub.auth.secrets import (
    burn_verification,
    hash_secret,
    new_token,
    secret_needs_rehash,
    token_digest,
)
from hub.models.access import OAuthClient, OAuthToken, User
from hub.models.base import utcnow
from hub.settings import Settings

CLIENT_ID_MAX_LENGTH = 64  # OAuthClient.client_id


# -- the server --------------------------------------------------------------------------------


def _new_opaque_token(**_context: Any) -> str:
    # Random and meaningless: everything about the token lives in oauth_tokens.
    return new_token()


@dataclass(frozen=True)
class ConsentPrompt:
    """A valid authorization request, waiting for the signed-in user's decision."""

    grant: Any
    client: RegisteredClient
    client_name: str
    scopes: tuple[str, ...]
    # The request's parameters, carried through the consent form to be checked again.
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AuthorizationRefused:
    """An authorization request that cannot go back to the client: shown to the user instead."""

    status_code: int
    error: str
    description: str


class HubAuthorizationServer(AuthorizationServer):
    """The hub's OAuth 2 authorization server."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.settings = settings
        self.sessions = sessions
        self.signer = TokenSigner(settings, sessions)
        self.revocations = RevocationList(settings.redis_url)
        access_token = (
            self._new_jwt if settings.auth.access_token_format == "jwt" else _new_opaque_token
        )
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token,
                refresh_token_generator=_new_opaque_token,
                expires_generator=settings.auth.access_token_ttl_seconds,
            ),
        )
        # Replaces authlib's own client_secret_basic: see _authenticate_client_secret_basic.
        self.register_client_auth_method(
            "client_secret_basic", self._authenticate_client_secret_basic
        )
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge()])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(TokenRevocation)
        self.register_endpoint(TokenIntrospection)

    # What authlib asks of every integration.

    def query_client(self, client_id: str | None) -> RegisteredClient | None:
        """The enabled client with this id; unknown and disabled clients are alike None."""
        if not client_id or len(client_id) > CLIENT_ID_MAX_LENGTH:
            return None
        with self.sessions() as session:
            row = session.get(OAuthClient, client_id)
            if row is None or row.disabled_at is not None:
                return None
            return RegisteredClient.from_row(row)

    def save_token(self, token: Mapping[str, Any], request: OAuth2Request) -> None:
        """Record an issued token by its digests; the token itself goes only to the client.

        A token from a code starts the code's family; one from a refresh joins
        the family of the token it replaces.
        """
        issued_at = utcnow()
        expires_at = issued_at + timedelta(seconds=int(token["expires_in"]))
        access_token = token["access_token"]
        jti = None
        if looks_like_jwt(access_token):
            claims = unverified_claims(access_token)
            jti = claims["jti"]
            issued_at = datetime.fromtimestamp(claims["iat"], UTC)
            expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        refresh_token = token.get("refresh_token")
        family_id = rotated_from = None
        if request.authorization_code is not None:
            family_id = request.authorization_code.family_id
        elif request.refresh_token is not None:
            family_id, rotated_from = request.refresh_token.family_id, request.refresh_token.id
        with self.sessions.begin() as session:
            session.add(
                OAuthToken(
                    access_token_hash=token_digest(access_token),
                    refresh_token_hash=token_digest(refresh_token) if refresh_token else None,
                    client_id=request.client.get_client_id(),
                    user_id=getattr(request.user, "id", None),
                    scope=token.get("scope") or "",
                    token_type=token["token_type"],
                    issued_at=issued_at,
                    expires_at=expires_at,
                    jti=jti,
                    family_id=family_id,
                    rotated_from=rotated_from,
                    refresh_token_expires_at=(
                        issued_at + timedelta(seconds=self.settings.auth.refresh_token_ttl_seconds)
                        if refresh_token
                        else None
                    ),
                )
            )

    def create_oauth2_request(
        self, request: SubmittedRequest | StarletteOAuth2Request
    ) -> StarletteOAuth2Request:
        if isinstance(request, StarletteOAuth2Request):  # already converted
            return request
        return StarletteOAuth2Request(
            request, allow_insecure_transport=self.settings.auth.allow_insecure_transport
        )

    def handle_response(
        self, status: int, body: Any, headers: Sequence[tuple[str, str]]
    ) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else (body or b"")
        response = Response(content, status_code=status)
        for name, value in headers:
            response.headers.append(name, value)
        # Every answer of these endpoints may carry or concern credentials.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        # authlib's hooks (after_authenticate_client, after_revoke_token): nothing listens yet.
        return None

    # Access tokens, users and tokens as the grants and endpoints need them.

    def _new_jwt(self, client: RegisteredClient, grant_type: str, user: Any, scope: str) -> str:
        return issue(
            self.signer.current(),
            issuer=self.settings.auth.issuer,
            audience=self.settings.auth.token_audience,
            client_id=client.client_id,
            subject=user.get_user_id() if user is not None else client.client_id,
            scope=scope or "",
            ttl_seconds=self.settings.auth.access_token_ttl_seconds,
        )

    def active_user(self, user_id: uuid.UUID) -> ResourceOwner | None:
        with self.sessions() as session:
            user = session.get(User, user_id)
            if user is None or not user.is_active:
                return None
            return ResourceOwner(id=user.id, partner_id=user.partner_id, email=user.email)

    def find_token(self, token_string: str, hint: str | None) -> IssuedToken | None:
        """The row of an access or refresh token, looked up by digest (the hint only orders the search).

        A token whose client was disabled, or whose user was, is found but not active.
        """
        if not token_string or len(token_string) > MAX_TOKEN_LENGTH:
            return None
        digest = token_digest(token_string)
        kinds = ["access_token", "refresh_token"]
        if hint == "refresh_token":
            kinds.reverse()
        columns = {
            "access_token": OAuthToken.access_token_hash,
            "refresh_token": OAuthToken.refresh_token_hash,
        }
        with self.sessions() as session:
            for kind in kinds:
                found = session.execute(
                    select(OAuthToken, OAuthClient.disabled_at, User.is_active)
                    .join(OAuthClient, OAuthClient.client_id == OAuthToken.client_id)
                    .outerjoin(User, User.id == OAuthToken.user_id)
                    .where(columns[kind] == digest)
                ).first()
                if found is not None:
                    row, disabled_at, user_active = found
                    usable = disabled_at is None and user_active is not False
                    return IssuedToken.from_row(row, kind, usable=usable)
        return None

    # The endpoints.

    def create_token_response(self, request: SubmittedRequest | None = None) -> Response:
        """Run the token endpoint on a submitted request; OAuth errors become RFC 6749 JSON."""
        oauth_request = self._checked_request(request)
        if isinstance(oauth_request, Response):
            return oauth_request
        return super().create_token_response(oauth_request)

    def create_endpoint_response(self, name: str, request: Any = None) -> Response:
        """Run the revocation or introspection endpoint, with the token endpoint's request checks."""
        oauth_request = self._checked_request(request)
        if isinstance(oauth_request, Response):
            return oauth_request
        return super().create_endpoint_response(name, oauth_request)

    def _checked_request(self, request: SubmittedRequest) -> StarletteOAuth2Request | Response:
        try:
            oauth_request = self.create_oauth2_request(request)
        except InsecureTransportError as error:
            return self.handle_error_response(None, error)
        # RFC 6749 §3.2: parameters MUST NOT be repeated. authlib does not check
        # this at the token endpoint, and which copy it would read is arbitrary.
        if any(len(values) > 1 for values in oauth_request.payload.datalist.values()):
            return self.handle_error_response(
                oauth_request, InvalidRequestError("A request parameter is repeated.")
            )
        return oauth_request

    def error_response(self, error: OAuth2Error) -> Response:
        """An RFC 6749 error response for a request that never reached authlib."""
        return self.handle_error_response(None, error)

    # The authorization endpoint: check the request, then act on the user's decision.

    def authorization_prompt(
        self, request: SubmittedRequest
    ) -> ConsentPrompt | AuthorizationRefused | Response:
        """Check an authorization request (RFC 6749 §4.1.1).

        A valid one becomes a ``ConsentPrompt``. An invalid one goes back to the
        client as an error redirect only once its client and exact redirect URI
        are verified; before that it is an ``AuthorizationRefused`` for the user
        to see, so the endpoint never redirects anywhere unregistered.
        """
        try:
            oauth_request = self.create_oauth2_request(request)
        except InsecureTransportError:
            return AuthorizationRefused(400, "insecure_transport", "Use https.")
        try:
            grant = self.get_consent_grant(oauth_request)
        except OAuth2Error as error:
            if error.redirect_uri:
                return self._to_client(self.handle_error_response(oauth_request, error))
            return AuthorizationRefused(400, error.error, error.description or "")
        except ValueError:
            # authlib quotes some parameters in its error descriptions and refuses
            # to build one around characters RFC 6749 forbids there.
            return AuthorizationRefused(400, "invalid_request", "The request is malformed.")
        client = grant.request.client
        with self.sessions() as session:
            client_name = session.get(OAuthClient, client.client_id).name
        params = tuple(
            (key, value)
            for key, value in oauth_request.payload.data.items()
            if key in AUTHORIZATION_PARAMETERS
        )
        return ConsentPrompt(
            grant=grant,
            client=client,
            client_name=client_name,
            scopes=tuple(scope_to_list(grant.request.scope) or ()),
            params=params,
        )

    def authorize(
        self, request: SubmittedRequest, user: ResourceOwner, *, allow: bool
    ) -> Response | AuthorizationRefused:
        """Issue a code (``allow``) or an ``access_denied``, checking the request once more."""
        prompt = self.authorization_prompt(request)
        if not isinstance(prompt, ConsentPrompt):
            return prompt
        if not may_authorize(user, prompt.client):
            allow = False
        response = self.create_authorization_response(
            prompt.grant.request, grant_user=user if allow else None, grant=prompt.grant
        )
        return self._to_client(response)

    def _to_client(self, response: Response) -> Response:
        """A redirect back to the client: 303 after the consent POST, with ``iss`` (RFC 9207)."""
        location = response.headers.get("location")
        if location is None:
            return response
        redirect = Response(status_code=303)
        redirect.headers["Location"] = add_params_to_uri(
            location, [("iss", self.settings.auth.issuer)]
        )
        redirect.headers["Cache-Control"] = "no-store"
        return redirect

    # Documents.

    def metadata(self) -> dict[str, Any]:
        """Authorization server metadata (RFC 8414)."""
        issuer = self.settings.auth.issuer
        base = issuer.rstrip("/")
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "jwks_uri": f"{base}/oauth/jwks.json",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "introspection_endpoint": f"{base}/oauth/introspect",
            "scopes_supported": sorted(ALL_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        with self.sessions() as session:
            return jwks(session)

    # Client authentication.

    def _authenticate_client_secret_basic(
        self, query_client: Any, request: OAuth2Request
    ) -> RegisteredClient | None:
        """HTTP Basic client authentication, hardened beyond authlib's own.

        Unknown, disabled and wrongly-authenticated clients cost the same
        argon2 verification and fail alike, so neither the answer nor its
        timing tells whether a client id exists. A malformed header fails
        (it does not crash, as authlib's does on non-UTF-8). Credentials in
        the body as well as in the header are refused (RFC 6749 §2.3: one
        method per request).
        """
        client_id, secret = _basic_credentials(request.headers.get("Authorization"))
        if client_id is None or secret is None:
            return None
        form = request.payload.data
        if "client_secret" in form or form.get("client_id", client_id) != client_id:
            return None
        client = query_client(client_id)
        if client is None:
            burn_verification()
            return None
        if not client.check_client_secret(secret):
            return None
        if client.secret_hash and secret_needs_rehash(client.secret_hash):
            self._rehash_client_secret(client.client_id, secret)
        return client

    def _rehash_client_secret(self, client_id: str, secret: str) -> None:
        # The secret is at hand only now, while a client authenticates.
        with self.sessions.begin() as session:
            session.execute(
                update(OAuthClient)
                .where(OAuthClient.client_id == client_id)
                .values(secret_hash=hash_secret(secret))
            )


# The parameters of an authorization request that the consent form carries through.
AUTHORIZATION_PARAMETERS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
)


def may_authorize(user: ResourceOwner, client: RegisteredClient) -> bool:
    """A partner's user may authorize only that partner's clients; staff may authorize any.

    Otherwise a partner's user could hand an internal client's reach to itself.
    """
    return user.partner_id is None or user.partner_id == client.partner_id


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """``(client_id, secret)`` from an ``Authorization: Basic`` header, or ``(None, None)``."""
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # bad base64, or not UTF-8
        return None, None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        return None, None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


class AuthState:
    """What the OAuth endpoints share for the life of the app: settings, sessions and the server."""

    def __init__(self, settings: Settings, sync_sessionmaker: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sync_sessionmaker
        self.server = HubAuthorizationServer(settings, sync_sessionmaker)


# -- logging -----------------------------------------------------------------------------------


class _DropIssuedTokens(logging.Filter):
    """Drops authlib's debug records that print whole issued tokens ("Issue token %r")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Issue token", "Grant token"))


for _grant_module in (
    "authorization_code",
    "client_credentials",
    "implicit",
    "refresh_token",
    "resource_owner_password_credentials",
):
    logging.getLogger(f"authlib.oauth2.rfc6749.grants.{_grant_module}").addFilter(
        _DropIssuedTokens()
    )
