"""The sign-in and consent pages in a real Chromium, against a live hub, ending in tokens.

The browser is the system's Chromium (tests/browser/conftest.py). The
application's redirect URI is not a real site: the browser's navigation to it is
intercepted and answered with a tiny page, as the application would, and the code
in its URL exchanged with authlib's client. A screenshot of the consent page is left in
``tests/browser/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.access.scopes import DESCRIPTIONS, Scope
from tests.auth.conftest import REDIRECT_URI, LiveHub, running_hub

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCOPES = "customers:read customers:read_pii orders:read"
APP_PAGE = "<!doctype html><title>Example app</title><h1>Back in the example app</h1>"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory) as live:
        yield live


def test_sign_in_consent_and_tokens_in_a_real_browser(chromium, hub: LiveHub) -> None:
    app = hub.register_app(SCOPES)
    person = hub.add_person()
    authorize_url, oauth, verifier = hub.authorization_url(app, SCOPES)

    context = chromium.new_context(viewport={"width": 1000, "height": 720}, locale="en-GB")
    landed: list[str] = []

    def the_app(route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body=APP_PAGE)

    # Everything off the hub is the application (or nothing at all): never the network.
    context.route(f"{REDIRECT_URI.rsplit('/', 1)[0]}/**", the_app)
    page = context.new_page()
    try:
        page.goto(authorize_url)
        # Not signed in: sent to the sign-in form, which brings us back afterwards.
        assert urlsplit(page.url).path == "/oauth/login"
        page.get_by_label("E-mail address").fill(person.email)
        page.get_by_label("Password").fill(person.password)
        page.get_by_role("button", name="Sign in").click()

        page.get_by_role("heading", name="Allow").wait_for()
        assert urlsplit(page.url).path == "/oauth/authorize"
        text = page.locator("body").inner_text()
        assert person.email in text
        for scope in SCOPES.split():
            assert DESCRIPTIONS[Scope(scope)] in text, scope
        assert "customers:read" not in text, "scopes are shown in words, not as codes"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "consent.png"), full_page=True)

        page.get_by_role("button", name="Allow").click()
        page.get_by_role("heading", name="Back in the example app").wait_for()
    finally:
        context.close()

    [callback] = landed
    assert callback.startswith(REDIRECT_URI + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert params["state"] == oauth.state and params["code"]

    token = oauth.fetch_token(hub.token_url, authorization_response=callback, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    assert set(token["scope"].split()) == set(SCOPES.split())
    assert hub.api_status(token["access_token"]) == 200


def test_deny_goes_back_to_the_app_with_access_denied(chromium, hub: LiveHub) -> None:
    app = hub.register_app("customers:read")
    person = hub.add_person()
    authorize_url, oauth, _ = hub.authorization_url(app, "customers:read")
    context = chromium.new_context()
    landed: list[str] = []

    def the_app(route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body=APP_PAGE)

    context.route(f"{REDIRECT_URI.rsplit('/', 1)[0]}/**", the_app)
    page = context.new_page()
    try:
        page.goto(authorize_url)
        page.get_by_label("E-mail address").fill(person.email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").wait_for()
        assert "Wrong e-mail address or password" in page.get_by_role("alert").inner_text()
        page.get_by_label("E-mail address").fill(person.email)
        page.get_by_label("Password").fill(person.password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Deny").click()
        page.get_by_role("heading", name="Back in the example app").wait_for()
    finally:
        context.close()
    [callback] = landed
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert params["error"] == "access_denied" and params["state"] == oauth.state
    assert "code" not in params
