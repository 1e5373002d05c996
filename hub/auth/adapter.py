"""What authlib sees of the hub: a snapshot of a client, and a request already read by Starlette.

authlib is synchronous and runs in a worker thread, after the async endpoint
has read the request and closed the session that loaded the client; so both
are plain immutable values here.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request, scope_to_list
from starlette.datastructures import Headers

from hub.auth.secrets import verify_secret
from hub.models.access import OAuthClient
from hub.models.enums import ClientKind

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
