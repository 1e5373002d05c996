"""The authorization-code grant end to end: sign in with the form, consent, code, tokens, API."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from hub.access.scopes import DESCRIPTIONS, Scope
from hub.auth.bearer import bind_token_checks, principal_from_bearer
from hub.auth.secrets import token_digest
from hub.db import create_async_db_engine
from hub.models.access import OAuthToken
from hub.models.enums import ClientKind
from tests.auth.conftest import ISSUER, REDIRECT_URI, App, Authorization, LiveHub, Person


def test_code_with_pkce_gives_tokens_that_work_on_the_api(
    live: LiveHub, web_app: App, person: Person
) -> None:
    # A browser that is not signed in yet: authorize, sign in, come back, consent.
    browser, page, oauth, verifier = live.consent_page(
        web_app, person, scope="customers:read", fresh=True
    )
    answer = browser.decide(page, "allow")
    assert answer.status_code == 303
    granted = Authorization(answer.headers["location"], verifier, oauth.state, oauth)

    assert granted.location.startswith(REDIRECT_URI + "?")
    assert granted.params["state"] == granted.state
    assert granted.params["iss"] == ISSUER  # RFC 9207
    token = granted.oauth.fetch_token(
        live.token_url, authorization_response=granted.location, code_verifier=granted.verifier
    )

    assert token["token_type"] == "Bearer"
    assert token["scope"] == "customers:read"
    assert token["refresh_token"]
    assert live.api_status(token["access_token"]) == 200
    [code] = live.codes_of(web_app)
    assert code.used_at is not None and code.code_challenge_method == "S256"
    assert code.code_hash != granted.params["code"]  # stored as a digest
    with live.sessions() as session:
        row = session.scalars(
            select(OAuthToken).where(OAuthToken.client_id == web_app.client_id)
        ).one()
    assert row.user_id == person.id
    assert row.family_id == code.family_id
    assert row.refresh_token_hash == token_digest(token["refresh_token"])


async def test_the_token_speaks_for_the_user_and_the_client(
    live: LiveHub, web_app: App, person: Person
) -> None:
    token = live.tokens(web_app, person)
    engine = create_async_db_engine(live.settings)
    bind_token_checks(engine, live.settings)
    try:
        async with engine.connect() as conn:
            principal = await principal_from_bearer(conn, f"Bearer {token['access_token']}")
    finally:
        await engine.dispose()
    assert principal is not None
    assert principal.client_id == web_app.client_id
    assert principal.user_id == person.id
    assert principal.kind is ClientKind.INTERNAL
    assert principal.scopes == {"customers:read", "orders:read"}  # no scope asked: all the client's


def test_consent_page_says_what_in_plain_words(live: LiveHub, web_app: App, person: Person) -> None:
    _browser, page, _oauth, _verifier = live.consent_page(
        web_app, person, scope="customers:read orders:read"
    )

    assert escape(DESCRIPTIONS[Scope.CUSTOMERS_READ]) in page.text
    assert escape(DESCRIPTIONS[Scope.ORDERS_READ]) in page.text
    assert escape(DESCRIPTIONS[Scope.CUSTOMERS_READ_PII]) not in page.text
    assert person.email in page.text
    assert "<script" not in page.text.lower()
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_deny_sends_access_denied_back_with_the_state(
    live: LiveHub, web_app: App, person: Person
) -> None:
    browser, page, oauth, _verifier = live.consent_page(web_app, person)

    answer = browser.decide(page, "deny")

    assert answer.status_code == 303
    location = answer.headers["location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(REDIRECT_URI + "?")
    assert params["error"] == "access_denied"
    assert params["state"] == oauth.state
    assert "code" not in params
    assert live.codes_of(web_app) == []


def test_a_signed_in_person_goes_straight_to_consent(
    live: LiveHub, web_app: App, person: Person
) -> None:
    browser, _page, _oauth, _verifier = live.consent_page(web_app, person)
    url, _oauth, _verifier = live.authorization_url(web_app)

    again = browser.open(url)

    assert again.status_code == 200
    assert 'name="decision" value="allow"' in again.text


def test_partner_user_authorizes_its_partners_app(live: LiveHub) -> None:
    partner_id = live.add_partner()
    partner_app = live.register_app(kind=ClientKind.PARTNER, partner_id=partner_id)
    partner_person = live.add_person(partner_id)

    token = live.tokens(partner_app, partner_person)

    assert live.api_status(token["access_token"]) == 200


def test_logs_hold_no_code_token_secret_or_password(
    live: LiveHub, web_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    someone = live.add_person()
    with caplog.at_level("DEBUG"):
        browser, page, oauth, verifier = live.consent_page(web_app, someone, fresh=True)
        granted = browser.decide(page, "allow").headers["location"]
        token = oauth.fetch_token(
            live.token_url, authorization_response=granted, code_verifier=verifier
        )
        refreshed = live.refresh(web_app, token["refresh_token"])
    code = parse_qs(urlsplit(granted).query)["code"][0]

    assert "Validate token request" in caplog.text  # authlib's debug logging did run
    for value in (
        code,
        verifier,
        token["access_token"],
        token["refresh_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
        web_app.secret,
        someone.password,
        token_digest(token["access_token"]),
    ):
        assert value not in caplog.text
