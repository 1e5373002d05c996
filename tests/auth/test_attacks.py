"""The attacks of RFC 9700 (OAuth 2.0 Security Best Current Practice), each refused with nothing changed.

Driven with authlib's OAuth 2 client and a form-filling browser against a live hub.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuthError
from joserfc import jwt

from hub.auth.keys import TokenSigner
from tests.auth.conftest import REDIRECT_URI, App, Authorization, Browser, LiveHub, Person


def exchange(live: LiveHub, granted: Authorization, **overrides: Any) -> requests.Response:
    """The token request of a code, as raw HTTP so that any part of it can be wrong."""
    auth = overrides.pop("auth", None) or (granted.oauth.client_id, granted.oauth.client_secret)
    data = {
        "grant_type": "authorization_code",
        "code": granted.params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": granted.verifier,
        **overrides,
    }
    data = {key: value for key, value in data.items() if value is not None}
    return requests.post(live.token_url, data=data, auth=auth)


def assert_error(response: requests.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert "access_token" not in response.text


def redirect_params(response: requests.Response) -> dict[str, str]:
    from urllib.parse import parse_qs, urlsplit

    assert response.status_code in (302, 303), response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


# -- PKCE (RFC 9700 §2.1.1, §4.8) --------------------------------------------------------------


def signed_in(live: LiveHub, person: Person) -> Browser:
    browser = Browser(live)
    assert browser.sign_in(person).status_code == 200
    return browser


@pytest.mark.parametrize(
    "pkce",
    [
        {},  # no challenge at all
        {"code_challenge": "A" * 43, "code_challenge_method": "plain"},
        {"code_challenge": "A" * 43},  # no method means plain (RFC 7636 §4.3)
        {"code_challenge": "short", "code_challenge_method": "S256"},
    ],
    ids=["missing", "plain", "method-omitted", "malformed"],
)
def test_authorization_without_s256_pkce_is_refused(
    live: LiveHub, web_app: App, person: Person, pkce: dict
) -> None:
    browser = signed_in(live, person)
    params = {
        "response_type": "code",
        "client_id": web_app.client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "s1",
        **pkce,
    }

    answer = browser.http.get(live.url("/oauth/authorize"), params=params, allow_redirects=False)

    # The client and its redirect URI are good, so the error goes back to it (RFC 6749 §4.1.2.1).
    assert redirect_params(answer)["error"] == "invalid_request"
    assert redirect_params(answer)["state"] == "s1"
    assert live.codes_of(web_app) == []


def test_wrong_or_missing_verifier_is_refused_and_the_code_still_works(
    live: LiveHub, web_app: App, person: Person
) -> None:
    granted = live.authorize(web_app, person)

    assert_error(exchange(live, granted, code_verifier="x" * 43), "invalid_grant")
    assert_error(exchange(live, granted, code_verifier=None), "invalid_request")
    assert_error(exchange(live, granted, code_verifier="too-short"), "invalid_request")
    assert live.token_count(web_app) == 0
    assert live.codes_of(web_app)[0].used_at is None

    assert exchange(live, granted).status_code == 200


# -- redirect URIs (RFC 9700 §4.1, §4.11) ------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        REDIRECT_URI + "/more",
        REDIRECT_URI + "?next=https://evil.example",
        "https://app.example/Callback",
        "https://app.example.evil.example/callback",
        "http://app.example/callback",
    ],
)
def test_unregistered_redirect_uri_is_shown_an_error_never_redirected(
    live: LiveHub, web_app: App, person: Person, redirect_uri: str
) -> None:
    browser = signed_in(live, person)
    url, _oauth, _verifier = live.authorization_url(web_app, redirect_uri=redirect_uri)

    answer = browser.open(url)

    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "evil" not in answer.text.replace(redirect_uri, "")  # the page links nowhere
    assert live.codes_of(web_app) == []


def test_consent_post_with_a_swapped_redirect_uri_is_refused(
    live: LiveHub, web_app: App, person: Person
) -> None:
    browser, page, _oauth, _verifier = live.consent_page(web_app, person)

    answer = browser.decide(page, "allow", redirect_uri="https://evil.example/callback")

    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert live.codes_of(web_app) == []


def test_unknown_client_is_shown_an_error_never_redirected(live: LiveHub, person: Person) -> None:
    browser = signed_in(live, person)
    params = {
        "response_type": "code",
        "client_id": "crm_nobody",
        "redirect_uri": "https://evil.example/cb",
        "code_challenge": "A" * 43,
        "code_challenge_method": "S256",
    }

    answer = browser.http.get(live.url("/oauth/authorize"), params=params, allow_redirects=False)

    assert answer.status_code == 400
    assert "location" not in answer.headers


@pytest.mark.parametrize(
    "params",
    [
        {"response_type": '"><script>'},
        {"response_type": "token"},
        {"scope": 'customers:read"'},
        {"code_challenge_method": 'S"256'},
        {"client_id": '"'},
    ],
    ids=["quoted-response-type", "implicit", "quoted-scope", "quoted-method", "quoted-client"],
)
def test_malformed_authorization_requests_are_refused_cleanly(
    live: LiveHub, web_app: App, person: Person, params: dict
) -> None:
    browser = live.browser_for(person)
    query = {
        "response_type": "code",
        "client_id": web_app.client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": "A" * 43,
        "code_challenge_method": "S256",
        **params,
    }

    answer = browser.http.get(live.url("/oauth/authorize"), params=query, allow_redirects=False)

    assert answer.status_code in (303, 400), answer.text
    if answer.status_code == 303:  # a verified client and redirect URI hear of it
        assert answer.headers["location"].startswith(REDIRECT_URI + "?error=")
    assert "<script>" not in answer.text
    assert live.codes_of(web_app) == []


def test_token_request_must_repeat_the_exact_redirect_uri(
    live: LiveHub, web_app: App, person: Person
) -> None:
    granted = live.authorize(web_app, person)

    assert_error(
        exchange(live, granted, redirect_uri="https://evil.example/callback"), "invalid_grant"
    )
    assert_error(exchange(live, granted, redirect_uri=None), "invalid_grant")
    assert live.token_count(web_app) == 0
    assert exchange(live, granted).status_code == 200


def test_sign_in_never_redirects_off_the_authorization_endpoint(
    live: LiveHub, person: Person
) -> None:
    for next_url in (
        "https://evil.example/",
        "//evil.example/x",
        "/oauth/authorize\\@evil.example",
    ):
        answer = Browser(live).sign_in(person, next_url)
        assert answer.status_code == 200
        assert "location" not in answer.headers


# -- codes (RFC 9700 §4.5) ---------------------------------------------------------------------


def test_code_replay_is_refused_and_revokes_what_the_code_gave(
    live: LiveHub, web_app: App, person: Person
) -> None:
    granted = live.authorize(web_app, person)
    first = exchange(live, granted).json()
    assert live.api_status(first["access_token"]) == 200

    replay = exchange(live, granted)

    assert_error(replay, "invalid_grant")
    assert live.api_status(first["access_token"]) == 401
    with pytest.raises(OAuthError) as refused:
        live.refresh(web_app, first["refresh_token"])
    assert refused.value.error == "invalid_grant"
    assert live.token_count(web_app) == 1  # the replay issued nothing


def test_another_clients_code_is_refused_and_stays_usable(
    live: LiveHub, web_app: App, person: Person
) -> None:
    granted = live.authorize(web_app, person)
    other = live.register_app()

    assert_error(exchange(live, granted, auth=(other.client_id, other.secret)), "invalid_grant")
    assert live.token_count(other) == 0
    assert exchange(live, granted).status_code == 200


# -- client authentication (RFC 6749 §3.2.1) ---------------------------------------------------


def test_bad_client_authentication_is_refused_and_the_code_stays_usable(
    live: LiveHub, web_app: App, person: Person
) -> None:
    granted = live.authorize(web_app, person)

    wrong_secret = exchange(live, granted, auth=(web_app.client_id, "not-the-secret"))
    no_auth = requests.post(
        live.token_url,
        data={
            "grant_type": "authorization_code",
            "code": granted.params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": granted.verifier,
            "client_id": web_app.client_id,
        },
    )
    in_body = requests.post(
        live.token_url,
        data={
            "grant_type": "authorization_code",
            "code": granted.params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": granted.verifier,
            "client_id": web_app.client_id,
            "client_secret": web_app.secret,
        },
    )

    for refused in (wrong_secret, no_auth, in_body):
        assert_error(refused, "invalid_client", status=401)
    assert live.codes_of(web_app)[0].used_at is None
    assert exchange(live, granted).status_code == 200


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
def test_revocation_and_introspection_need_client_authentication(
    live: LiveHub, web_app: App, person: Person, path: str
) -> None:
    token = live.tokens(web_app, person)

    for auth in (None, (web_app.client_id, "wrong"), ("crm_nobody", "wrong")):
        answer = requests.post(live.url(path), data={"token": token["access_token"]}, auth=auth)
        assert_error(answer, "invalid_client", status=401)
    assert live.api_status(token["access_token"]) == 200


# -- refresh tokens (RFC 9700 §4.14) -----------------------------------------------------------


def test_refresh_token_reuse_revokes_the_whole_family(
    live: LiveHub, web_app: App, person: Person
) -> None:
    first = live.tokens(web_app, person)
    second = live.refresh(web_app, first["refresh_token"])
    assert live.api_status(second["access_token"]) == 200

    with pytest.raises(OAuthError) as reused:
        live.refresh(web_app, first["refresh_token"])  # a thief replays the spent token

    assert reused.value.error == "invalid_grant"
    assert live.api_status(first["access_token"]) == 401
    assert live.api_status(second["access_token"]) == 401
    with pytest.raises(OAuthError) as rightful:
        live.refresh(web_app, second["refresh_token"])
    assert rightful.value.error == "invalid_grant"


def test_refresh_cannot_widen_the_scope(live: LiveHub, web_app: App, person: Person) -> None:
    token = live.tokens(web_app, person, scope="customers:read")

    for scope in ("customers:read orders:read", "orders:read", "customers:write"):
        with pytest.raises(OAuthError) as widened:
            live.refresh(web_app, token["refresh_token"], scope=scope)
        assert widened.value.error == "invalid_scope"

    assert live.token_count(web_app) == 1
    narrowed_or_same = live.refresh(web_app, token["refresh_token"])
    assert narrowed_or_same["scope"] == "customers:read"


def test_another_clients_refresh_token_is_refused(
    live: LiveHub, web_app: App, person: Person
) -> None:
    token = live.tokens(web_app, person)
    other = live.register_app()

    with pytest.raises(OAuthError) as refused:
        live.refresh(other, token["refresh_token"])

    assert refused.value.error == "invalid_grant"
    assert live.refresh(web_app, token["refresh_token"])["access_token"]


# -- forged and stale JWTs (RFC 8725, RFC 9068 §4) ---------------------------------------------


@pytest.fixture(scope="module")
def user_token(live: LiveHub, person: Person) -> str:
    """One real access token of a user, which each forgery below alters in one way."""
    return live.tokens(live.register_app(), person)["access_token"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    return _unb64(header), _unb64(payload)


def _unb64(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def resign(live: LiveHub, token: str, **claims: Any) -> str:
    """The same token with some claims changed, signed with the hub's real current key."""
    header, payload = _parts(token)
    key = TokenSigner(live.settings, live.sessions).current()
    return jwt.encode(header, {**payload, **claims}, key, algorithms=[key.alg])


def test_resigning_an_unchanged_token_is_accepted(live: LiveHub, user_token: str) -> None:
    # The control for the forgeries below: only what each one changes is wrong with it.
    token = user_token
    assert live.api_status(resign(live, token)) == 200


def test_alg_none_is_refused(live: LiveHub, user_token: str) -> None:
    token = user_token
    header, payload = _parts(token)

    for alg in ("none", "None", "NONE"):
        forged = f"{_b64(json.dumps({**header, 'alg': alg}).encode())}.{_b64(json.dumps(payload).encode())}."
        assert live.api_status(forged) == 401
    assert live.api_status(token) == 200


def test_hs256_keyed_with_the_public_key_is_refused(live: LiveHub, user_token: str) -> None:
    token = user_token
    header, payload = _parts(token)
    jwks = requests.get(live.url("/oauth/jwks.json")).json()
    public = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    from joserfc.jwk import RSAKey

    for secret in (
        RSAKey.import_key(public).as_pem(private=False),
        json.dumps(public).encode(),
        base64.urlsafe_b64decode(public["n"] + "=="),
    ):
        signing_input = f"{_b64(json.dumps({**header, 'alg': 'HS256'}).encode())}.{_b64(json.dumps(payload).encode())}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert live.api_status(f"{signing_input}.{_b64(signature)}") == 401
    assert live.api_status(token) == 200


@pytest.mark.parametrize(
    "claims",
    [
        # Times are taken when the test runs (a long run must not age them), from ``now``.
        lambda now: {"exp": now - 5, "iat": now - 600},
        lambda now: {"aud": "https://other.example/graphql"},
        lambda now: {"aud": ["https://other.example/graphql"]},
        lambda now: {"iss": "https://evil.example"},
        lambda now: {"iat": now + 600},
        lambda now: {"jti": "never-issued"},
        lambda now: {"client_id": "crm_someone_else"},
    ],
    ids=[
        "expired",
        "wrong-audience",
        "wrong-audience-list",
        "wrong-issuer",
        "issued-in-future",
        "unknown-jti",
        "other-client",
    ],
)
def test_jwt_with_a_wrong_claim_is_refused(live: LiveHub, user_token: str, claims) -> None:
    token = user_token

    assert live.api_status(resign(live, token, **claims(int(time.time())))) == 401
    assert live.api_status(token) == 200


def test_jwt_with_the_wrong_type_or_a_tampered_payload_is_refused(
    live: LiveHub, user_token: str
) -> None:
    token = user_token
    header, payload = _parts(token)
    key = TokenSigner(live.settings, live.sessions).current()

    as_id_token = jwt.encode({**header, "typ": "JWT"}, payload, key, algorithms=[key.alg])
    h, _p, signature = token.split(".")
    tampered = (
        f"{h}.{_b64(json.dumps({**payload, 'scope': 'customers:write'}).encode())}.{signature}"
    )

    assert live.api_status(as_id_token) == 401
    assert live.api_status(tampered) == 401
    assert live.api_status(token) == 200


# -- CSRF on the forms (RFC 9700 §4.7) ---------------------------------------------------------


@pytest.mark.parametrize("csrf_token", [None, "", "forged"], ids=["missing", "empty", "wrong"])
def test_consent_without_the_csrf_token_is_refused(
    live: LiveHub, web_app: App, person: Person, csrf_token: str | None
) -> None:
    browser, page, _oauth, _verifier = live.consent_page(web_app, person)

    answer = browser.decide(page, "allow", csrf_token=csrf_token)

    assert answer.status_code == 403
    assert "location" not in answer.headers
    assert live.codes_of(web_app) == []
    assert browser.decide(page, "allow").status_code == 303  # the real form still works


def test_consent_from_another_session_is_refused(
    live: LiveHub, web_app: App, person: Person
) -> None:
    # A victim's browser posting an attacker's form: signed in, but with the attacker's token.
    _attacker, attacker_page, _oauth, _verifier = live.consent_page(web_app, live.add_person())
    victim, _page, _oauth2, _verifier2 = live.consent_page(web_app, person)

    answer = victim.decide(attacker_page, "allow")

    assert answer.status_code == 403
    assert live.codes_of(web_app) == []


def test_sign_in_without_the_csrf_token_is_refused(
    live: LiveHub, web_app: App, person: Person
) -> None:
    browser = Browser(live)

    answer = browser.http.post(
        live.url("/oauth/login"),
        data={"email": person.email, "password": person.password},
        allow_redirects=False,
    )

    assert answer.status_code == 403
    url, _oauth, _verifier = live.authorization_url(web_app)
    assert browser.open(url).status_code == 303  # not signed in: sent to the sign-in form


def test_wrong_password_does_not_sign_in(live: LiveHub, web_app: App, person: Person) -> None:
    browser = Browser(live)
    answer = browser.sign_in(Person(person.id, person.email, "wrong password!"))
    assert answer.status_code == 401
    url, _oauth, _verifier = live.authorization_url(web_app)
    assert browser.open(url).status_code == 303  # still sent to sign in


def test_partner_user_cannot_authorize_an_internal_app(live: LiveHub, web_app: App) -> None:
    outsider = live.add_person(live.add_partner())
    browser = signed_in(live, outsider)
    url, _oauth, _verifier = live.authorization_url(web_app)

    assert browser.open(url).status_code == 403
    assert live.codes_of(web_app) == []
