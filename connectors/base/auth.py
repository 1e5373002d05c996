"""Request signers: API key (header or query), HTTP basic, bearer, OAuth 2 with refresh.

Each is a ``requests`` auth that also lists its ``secret_values()`` so that the
session can mask them in anything it logs or raises. ``OAuth2Auth`` drives
authlib's OAuth 2 client; its token requests go through the connection's
``HttpSession`` like every other call, and each new token is handed to
``on_refresh`` for the caller to store encrypted.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import requests
from authlib.integrations.requests_client import OAuth2Auth as _AuthlibTokenAuth
from authlib.integrations.requests_client import OAuthError
from authlib.integrations.requests_client.oauth2_session import OAuth2ClientAuth
from authlib.oauth2.client import OAuth2Client
from requests.auth import AuthBase

from connectors.base.credentials import Secret, SecretLike, reveal
from connectors.base.errors import AuthExpired, ServerError
from connectors.base.redaction import register_secret_param

if TYPE_CHECKING:
    from connectors.base.http import HttpSession


class ApiKeyAuth(AuthBase):
    """A key in a header (``X-Shopify-Access-Token``) or, failing that, a query parameter."""

    def __init__(
        self,
        key: SecretLike,
        *,
        header: str | None = None,
        param: str | None = None,
        prefix: str = "",
    ) -> None:
        if (header is None) == (param is None):
            raise ValueError("ApiKeyAuth needs exactly one of header= or param=")
        self.key, self.header, self.param, self.prefix = Secret(reveal(key)), header, param, prefix
        if param:
            register_secret_param(param)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.header:
            request.headers[self.header] = self.prefix + self.key.reveal()
        else:
            request.prepare_url(request.url, {self.param: self.key.reveal()})
        return request

    def secret_values(self) -> list[str]:
        return [self.key.reveal()]


class BasicAuth(AuthBase):
    """HTTP basic (WooCommerce ck/cs, Mailchimp any-user/key)."""

    def __init__(self, username: str, password: SecretLike) -> None:
        self.username, self.password = username, Secret(reveal(password))

    def _encoded(self) -> str:
        pair = f"{self.username}:{self.password.reveal()}".encode()
        return base64.b64encode(pair).decode("ascii")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Basic {self._encoded()}"
        return request

    def secret_values(self) -> list[str]:
        return [self.password.reveal(), self._encoded()]


class BearerAuth(AuthBase):
    """``Authorization: <scheme> <token>``; Klaviyo's scheme is ``Klaviyo-API-Key``."""

    def __init__(self, token: SecretLike, *, scheme: str = "Bearer") -> None:
        self.token, self.scheme = Secret(reveal(token)), scheme

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"{self.scheme} {self.token.reveal()}"
        return request

    def secret_values(self) -> list[str]:
        return [self.token.reveal()]


class _TokenClient(OAuth2Client):
    # authlib's protocol client with requests-shaped auth objects, as its OAuth2Session has.
    client_auth_class = OAuth2ClientAuth
    token_auth_class = _AuthlibTokenAuth
    oauth_error_class = OAuthError


class _TokenEndpoint:
    """What authlib calls its session: token requests sent through ``HttpSession.send``."""

    def __init__(self, http: HttpSession) -> None:
        self.http = http

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.http.send("POST", url, **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.http.send(method, url, **kwargs)


class OAuth2Auth(AuthBase):
    """An OAuth 2 access token, refreshed before it expires and once more after a 401.

    ``token`` is the stored token dict (``access_token``, ``refresh_token``,
    ``expires_at`` or ``expires_in``). ``header`` puts the bare token in a header
    of the platform's choosing (Shopify) instead of ``Authorization: Bearer``.
    """

    def __init__(
        self,
        token: dict[str, Any],
        *,
        token_endpoint: str,
        client_id: str,
        client_secret: SecretLike | None = None,
        on_refresh: Callable[[dict[str, Any]], None] | None = None,
        endpoint_auth_method: str | None = None,
        header: str | None = None,
        leeway: int = 60,
    ) -> None:
        self._token = dict(token)
        self.token_endpoint = token_endpoint
        self.client_id = client_id
        self._client_secret = Secret(reveal(client_secret)) if client_secret else None
        self.on_refresh = on_refresh
        self.endpoint_auth_method = endpoint_auth_method
        self.header = header
        self.leeway = leeway
        self._client: _TokenClient | None = None

    def bind(self, http: HttpSession) -> None:
        """Called by the session that carries this auth: refreshes go through it."""
        self._client = _TokenClient(
            session=_TokenEndpoint(http),
            client_id=self.client_id,
            client_secret=self._client_secret.reveal() if self._client_secret else None,
            token_endpoint_auth_method=self.endpoint_auth_method,
            token=self._token,
            update_token=self._updated,
            leeway=self.leeway,
            token_endpoint=self.token_endpoint,
        )

    @property
    def token(self) -> dict[str, Any]:
        return dict(self._client.token) if self._client else dict(self._token)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        client = self._bound()
        with _refresh_errors():
            if not client.ensure_active_token(client.token):
                raise AuthExpired("the access token expired and there is no refresh token")
        if self.header:
            request.headers[self.header] = client.token["access_token"]
            return request
        request.url, request.headers, request.body = client.token_auth.prepare(
            request.url, request.headers, request.body
        )
        return request

    def refresh(self) -> None:
        """Refresh now (the platform answered 401 to a token we thought alive)."""
        client = self._bound()
        if not client.token.get("refresh_token"):
            raise AuthExpired("the access token was refused and there is no refresh token")
        with _refresh_errors():
            client.refresh_token(self.token_endpoint)

    def secret_values(self) -> list[str]:
        token = self.token
        values = [token.get("access_token"), token.get("refresh_token")]
        values.append(self._client_secret.reveal() if self._client_secret else None)
        return [v for v in values if v]

    def _bound(self) -> _TokenClient:
        if self._client is None:
            raise RuntimeError("OAuth2Auth must be given to an HttpSession before use")
        return self._client

    def _updated(self, token: dict[str, Any], **_: Any) -> None:
        if self.on_refresh is not None:
            self.on_refresh(dict(token))


@contextmanager
def _refresh_errors() -> Iterator[None]:
    """Token endpoint refusals become AuthExpired (re-consent); its outages stay transient."""
    try:
        yield
    except OAuthError as error:
        raise AuthExpired(f"token refresh refused: {error.error}") from None
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else None
        raise ServerError(f"token endpoint failed (HTTP {status})", status_code=status) from None
    except ValueError:
        raise ServerError("token endpoint answered without a JSON token") from None
