"""Request signers, and OAuth 2 refresh through the session against a local token endpoint."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs

import pytest

from connectors.base import (
    ApiKeyAuth,
    AuthExpired,
    BasicAuth,
    BearerAuth,
    HttpSession,
    OAuth2Auth,
    Secret,
)

OK = (200, {}, {"ok": True})


def test_api_key_in_a_header_or_the_query(api):
    api.route("GET", "/x", [OK])
    HttpSession(api.url, auth=ApiKeyAuth(Secret("k1"), header="X-Shopify-Access-Token")).get("x")
    HttpSession(api.url, auth=ApiKeyAuth("k2", param="api_key")).get("x", params={"q": "a"})
    assert api.seen[0].headers["X-Shopify-Access-Token"] == "k1"
    assert api.seen[1].query == {"q": "a", "api_key": "k2"}
    with pytest.raises(ValueError):
        ApiKeyAuth("k", header="X", param="y")


def test_basic_and_bearer(api):
    api.route("GET", "/x", [OK])
    HttpSession(api.url, auth=BasicAuth("ck_1", "cs_2")).get("x")
    HttpSession(api.url, auth=BearerAuth("tok")).get("x")
    HttpSession(api.url, auth=BearerAuth("pk_3", scheme="Klaviyo-API-Key")).get("x")
    assert [s.headers["Authorization"] for s in api.seen] == [
        "Basic " + base64.b64encode(b"ck_1:cs_2").decode(),
        "Bearer tok",
        "Klaviyo-API-Key pk_3",
    ]


def token_endpoint(api, *, refused: bool = False):
    """A token endpoint that swaps refresh-1 for access-2/refresh-2 (client app:s3cret)."""

    def token(request):
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        basic = "Basic " + base64.b64encode(b"app:s3cret").decode()
        if (
            refused
            or form.get("refresh_token") != "refresh-1"
            or request.headers.get("Authorization") != basic
        ):
            return 400, {}, {"error": "invalid_grant", "error_description": "refresh-1 revoked"}
        return (
            200,
            {},
            {
                "access_token": "access-2",
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": "refresh-2",
            },
        )

    api.route("POST", "/oauth/token", token)


def protected(api):
    def handler(request):
        if request.headers.get("Authorization") == "Bearer access-2":
            return OK
        return 401, {}, {"error": "invalid_token"}

    api.route("GET", "/me", handler)


def oauth(api, expires_at: int, stored: list, **kwargs) -> OAuth2Auth:
    token = {
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "token_type": "bearer",
        "expires_at": expires_at,
    }
    return OAuth2Auth(
        token,
        token_endpoint=f"{api.url}/oauth/token",
        client_id="app",
        client_secret="s3cret",
        on_refresh=stored.append,
        **kwargs,
    )


def test_an_expired_token_is_refreshed_before_the_call(api):
    token_endpoint(api)
    protected(api)
    stored: list[dict] = []
    auth = oauth(api, int(time.time()) - 10, stored)
    assert HttpSession(api.url, auth=auth).get("me").ok
    assert [s.path for s in api.seen] == ["/oauth/token", "/me"]
    assert stored[0]["access_token"] == "access-2" and stored[0]["refresh_token"] == "refresh-2"
    assert auth.token["access_token"] == "access-2"


def test_a_401_refreshes_once_and_retries(api):
    token_endpoint(api)
    protected(api)
    stored: list[dict] = []
    session = HttpSession(api.url, auth=oauth(api, int(time.time()) + 3600, stored))
    assert session.get("me").ok
    assert [s.path for s in api.seen] == ["/me", "/oauth/token", "/me"]
    assert len(stored) == 1


def test_a_refused_refresh_is_auth_expired_without_secrets(api):
    token_endpoint(api, refused=True)
    protected(api)
    stored: list[dict] = []
    session = HttpSession(api.url, auth=oauth(api, int(time.time()) - 10, stored))
    with pytest.raises(AuthExpired, match="invalid_grant") as caught:
        session.get("me")
    assert stored == []
    assert not any(s in str(caught.value) for s in ("refresh-1", "access-1", "s3cret"))


def test_a_token_still_refused_after_refresh_is_auth_expired(api):
    token_endpoint(api)
    api.route("GET", "/me", [(401, {}, {})])
    session = HttpSession(api.url, auth=oauth(api, int(time.time()) + 3600, []))
    with pytest.raises(AuthExpired):
        session.get("me")
    assert [s.path for s in api.seen] == ["/me", "/oauth/token", "/me"]


def test_oauth_token_in_a_platform_header(api):
    token_endpoint(api)
    api.route("GET", "/shop", [OK])
    auth = oauth(api, int(time.time()) - 10, [], header="X-Shopify-Access-Token")
    HttpSession(api.url, auth=auth).get("shop")
    assert api.seen[-1].headers["X-Shopify-Access-Token"] == "access-2"
    assert "Authorization" not in api.seen[-1].headers
