"""The OAuth 2 authorization server: authlib's framework-neutral server over our clients and tokens.

authlib ships no Starlette server, so this follows its Flask adapter: the
endpoint reads the HTTP request (see ``hub.auth.routes``), this module turns
it into an ``OAuth2Request``, authlib's ``AuthorizationServer`` runs the grant,
and the ``(status, body, headers)`` it returns becomes a Starlette response.
authlib is synchronous, so all of this runs in a worker thread on the sync
engine. Grants are registered in ``HubAuthorizationServer.__init__``; only
client credentials exists so far.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InsecureTransportError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    grants,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers
from starlette.responses import Response

from hub.access.scopes import ALL_SCOPES
from hub.auth.secrets import (
    burn_verification,
    hash_secret,
    new_token,
    secret_needs_rehash,
    token_digest,
    verify_secret,
)
from hub.models.access import OAuthClient, OAuthToken
from hub.models.base import utcnow
from hub.models.enums import ClientKind
from hub.settings import Settings

log = logging.getLogger(__name__)

CLIENT_ID_MAX_LENGTH = 64  # OAuthClient.client_id


# -- the client, as authlib sees it ------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    """A snapshot of one enabled ``OAuthClient`` row, with the checks authlib asks of a client.

    A plain snapshot rather than the ORM row: the grant runs after the session
    that loaded it has closed, and authlib logs clients with ``%r``, so the
    secret hash is kept out of the repr.
    """

    client_id: str
    kind: ClientKind
    partner_id: uuid.UUID | None
    scopes: frozenset[str]
    grant_types: frozenset[str]
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    secret_hash: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: OAuthClient) -> RegisteredClient:
        return cls(
            client_id=row.client_id,
            kind=row.kind,
            partner_id=row.partner_id,
            scopes=frozenset(row.scope.split()),
            grant_types=frozenset(row.grant_types or ()),
            redirect_uris=tuple(row.redirect_uris or ()),
            token_endpoint_auth_method=row.token_endpoint_auth_method,
            secret_hash=row.secret_hash,
        )

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # No scope asked for means every scope the client holds (RFC 6749 §3.3
        # lets the server pick the default). Asking beyond them is refused
        # earlier, by refuse_scopes_beyond_client; this intersection is the backstop.
        requested = scope_to_list(scope)
        if not requested:
            return " ".join(sorted(self.scopes))
        return " ".join(sorted(self.scopes.intersection(requested)))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # One registered method for every endpoint (token, and later revocation
        # and introspection), so a client cannot fall back to a weaker one.
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


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


# -- grants ------------------------------------------------------------------------------------


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4: a confidential client gets a token for itself, authenticating with Basic."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()  # unknown scope names -> invalid_scope
        refuse_scopes_beyond_client(self.request)


# -- the request, as authlib sees it -----------------------------------------------------------


@dataclass(frozen=True)
class SubmittedRequest:
    """An HTTP request already read by the (async) endpoint, safe to hand to a worker thread."""

    method: str
    url: str
    headers: Headers
    form: Sequence[tuple[str, str]] = ()
    query: Sequence[tuple[str, str]] = ()


class FormPayload(OAuth2Payload):
    """OAuth parameters of a request: the form body (RFC 6749 §3.2), or the query of a GET."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):
    """authlib's view of one submitted request.

    authlib refuses plain http in this constructor, except on loopback or when
    the process-wide ``AUTHLIB_INSECURE_TRANSPORT`` variable is set. Rather
    than set that variable for the whole process, a deployment that opted in
    (``auth.allow_insecure_transport``) passes the check here, per server.
    """

    def __init__(self, submitted: SubmittedRequest, *, allow_insecure_transport: bool) -> None:
        url = submitted.url
        if allow_insecure_transport and not is_secure_transport(url):
            # authlib looks at the scheme only here; later readers get the real URL back.
            super().__init__(submitted.method, _as_https(url), headers=submitted.headers)
            self.uri = url
        else:
            super().__init__(submitted.method, url, headers=submitted.headers)
        self._form = FormPayload(submitted.form)
        self._args = FormPayload(submitted.query)
        self.payload = self._args if submitted.method == "GET" else self._form

    @property
    def args(self) -> dict[str, str]:
        return self._args.data

    @property
    def form(self) -> dict[str, str]:
        return self._form.data


def _as_https(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="https"))


# -- the server --------------------------------------------------------------------------------


def _opaque_access_token(**_context: Any) -> str:
    # Random and meaningless: everything about the token lives in oauth_tokens.
    return new_token()


class HubAuthorizationServer(AuthorizationServer):
    """The hub's OAuth 2 authorization server (token endpoint; more grants to come)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.settings = settings
        self.sessions = sessions
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                _opaque_access_token, expires_generator=settings.auth.access_token_ttl_seconds
            ),
        )
        # Replaces authlib's own client_secret_basic: see _authenticate_client_secret_basic.
        self.register_client_auth_method(
            "client_secret_basic", self._authenticate_client_secret_basic
        )
        self.register_grant(ClientCredentialsGrant)

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
        """Record an issued token by its digest; the token itself goes only to the client."""
        issued_at = utcnow()
        refresh_token = token.get("refresh_token")
        with self.sessions.begin() as session:
            session.add(
                OAuthToken(
                    access_token_hash=token_digest(token["access_token"]),
                    refresh_token_hash=token_digest(refresh_token) if refresh_token else None,
                    client_id=request.client.get_client_id(),
                    user_id=getattr(request.user, "id", None),
                    scope=token.get("scope") or "",
                    token_type=token["token_type"],
                    issued_at=issued_at,
                    expires_at=issued_at + timedelta(seconds=int(token["expires_in"])),
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
        # Every answer of the token endpoint may carry or concern credentials.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        # authlib's hooks (after_authenticate_client, after_revoke_token): nothing listens yet.
        return None

    # The token endpoint.

    def create_token_response(self, request: SubmittedRequest | None = None) -> Response:
        """Run the token endpoint on a submitted request; OAuth errors become RFC 6749 JSON."""
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
        return super().create_token_response(oauth_request)

    def error_response(self, error: OAuth2Error) -> Response:
        """An RFC 6749 error response for a request that never reached authlib."""
        return self.handle_error_response(None, error)

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
