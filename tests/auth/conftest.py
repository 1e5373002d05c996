"""A live hub (uvicorn, on SQLite and on PostgreSQL) with helpers that play the OAuth client, the browser and the API caller.

The client is authlib's own ``OAuth2Session``; the browser is a ``requests``
session that reads and posts the sign-in and consent forms as a person would
(no JavaScript); the API caller asks ``/graphql`` whether a token is accepted.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.app import create_app
from hub.auth.clients import create_client
from hub.auth.users import create_user
from hub.db import create_sync_engine, sync_session_factory
from hub.migrate import upgrade
from hub.models.access import AuthorizationCode, OAuthToken, Partner
from hub.models.enums import ClientKind, PartnerKind
from hub.settings import Settings
from tests.conftest import empty_database
from tests.live import serve

ISSUER = "https://crm.example"  # the public name; tests reach the hub on loopback, as a proxy would
REDIRECT_URI = "https://app.example/callback"
PASSWORD = "correct horse battery staple"
SCOPES = "customers:read orders:read"
COUNT_CUSTOMERS = "{ customers(first: 1) { totalCount } }"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class App:
    client_id: str
    secret: str
    redirect_uri: str = REDIRECT_URI
    partner_id: uuid.UUID | None = None


@dataclass
class Person:
    id: uuid.UUID
    email: str
    password: str = PASSWORD


@dataclass
class Authorization:
    """Where the consent sent the browser back to the client, and what the client must keep."""

    location: str
    verifier: str
    state: str
    oauth: OAuth2Session

    @property
    def params(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.location).query).items()}


@dataclass
class Browser:
    """A person's user agent: a cookie jar and forms, no JavaScript, no following of redirects."""

    hub: LiveHub
    http: requests.Session = field(default_factory=requests.Session)

    def sign_in(self, person: Person, next_url: str = "") -> requests.Response:
        page = self.http.get(
            self.hub.url("/oauth/login"), params={"next": next_url} if next_url else None
        )
        fields = hidden_fields(page.text)
        fields.update(email=person.email, password=person.password)
        return self.http.post(self.hub.url("/oauth/login"), data=fields, allow_redirects=False)

    def open(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False)

    def decide(
        self, consent_page: requests.Response, decision: str = "allow", **changes: Any
    ) -> requests.Response:
        fields = hidden_fields(consent_page.text)
        fields.update(decision=decision, **changes)
        fields = {key: value for key, value in fields.items() if value is not None}
        return self.http.post(self.hub.url("/oauth/authorize"), data=fields, allow_redirects=False)


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


@dataclass
class LiveHub:
    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    _browsers: dict[uuid.UUID, Browser] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def token_url(self) -> str:
        return self.url("/oauth/token")

    # Registration.

    def register_app(
        self,
        scopes: str = SCOPES,
        *,
        kind: ClientKind = ClientKind.INTERNAL,
        partner_id: uuid.UUID | None = None,
        redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
        grant_types: list[str] | None = None,
    ) -> App:
        with self.sessions.begin() as session:
            client, secret = create_client(
                session,
                name=f"app-{uuid.uuid4().hex[:8]}",
                kind=kind,
                scopes=scopes,
                partner_id=partner_id,
                redirect_uris=redirect_uris,
                grant_types=grant_types,
            )
            return App(client.client_id, secret, partner_id=partner_id)

    def add_partner(self) -> uuid.UUID:
        with self.sessions.begin() as session:
            partner = Partner(name=f"partner-{uuid.uuid4().hex[:8]}", kind=PartnerKind.RESELLER)
            session.add(partner)
            session.flush()
            return partner.id

    def add_person(self, partner_id: uuid.UUID | None = None) -> Person:
        email = f"person-{uuid.uuid4().hex[:8]}@example.com"
        with self.sessions.begin() as session:
            user = create_user(
                session, email=email, name="Ann Example", password=PASSWORD, partner_id=partner_id
            )
            return Person(user.id, email)

    # The flow.

    def oauth(self, app: App, **kwargs: Any) -> OAuth2Session:
        return OAuth2Session(
            app.client_id,
            app.secret,
            redirect_uri=app.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            **kwargs,
        )

    def authorization_url(
        self, app: App, scope: str | None = None, **params: Any
    ) -> tuple[str, OAuth2Session, str]:
        oauth = self.oauth(app, scope=scope)
        verifier = generate_token(48)
        url, oauth.state = oauth.create_authorization_url(
            self.url("/oauth/authorize"), code_verifier=verifier, **params
        )
        return url, oauth, verifier

    def browser_for(self, person: Person) -> Browser:
        """The browser ``person`` signed in with before (or now): one sign-in for many consents."""
        browser = self._browsers.get(person.id)
        if browser is None:
            browser = Browser(self)
            assert browser.sign_in(person).status_code == 200
            self._browsers[person.id] = browser
        return browser

    def consent_page(
        self, app: App, person: Person, scope: str | None = None, *, fresh: bool = False
    ) -> tuple[Browser, requests.Response, OAuth2Session, str]:
        """The consent page of a new authorization request, in ``person``'s browser.

        ``fresh``: in a new browser, sent to the sign-in form first and back after it.
        """
        url, oauth, verifier = self.authorization_url(app, scope)
        if fresh:
            browser = Browser(self)
            first = browser.open(url)
            assert first.status_code == 303, first.text
            login = urlsplit(first.headers["location"])
            assert (login.netloc, login.path) == ("", "/oauth/login")  # relative: no Host trust
            next_url = parse_qs(login.query)["next"][0]
            signed_in = browser.sign_in(person, next_url)
            assert signed_in.status_code == 303, signed_in.text
            page = browser.open(self.url(signed_in.headers["location"]))
        else:
            browser = self.browser_for(person)
            page = browser.open(url)
        assert page.status_code == 200, page.text
        return browser, page, oauth, verifier

    def authorize(self, app: App, person: Person, scope: str | None = None) -> Authorization:
        browser, page, oauth, verifier = self.consent_page(app, person, scope)
        answer = browser.decide(page, "allow")
        assert answer.status_code == 303, answer.text
        return Authorization(answer.headers["location"], verifier, oauth.state, oauth)

    def tokens(self, app: App, person: Person, scope: str | None = None) -> dict[str, Any]:
        """An access and refresh token through the whole authorization-code flow."""
        granted = self.authorize(app, person, scope)
        return granted.oauth.fetch_token(
            self.token_url, authorization_response=granted.location, code_verifier=granted.verifier
        )

    def refresh(self, app: App, refresh_token: str, **kwargs: Any) -> dict[str, Any]:
        return self.oauth(app).refresh_token(self.token_url, refresh_token=refresh_token, **kwargs)

    # The API, and what the database holds.

    def api_status(self, access_token: str) -> int:
        response = requests.post(
            self.url("/graphql"),
            json={"query": COUNT_CUSTOMERS},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return response.status_code

    def codes_of(self, app: App) -> list[AuthorizationCode]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AuthorizationCode).where(AuthorizationCode.client_id == app.client_id)
                )
            )

    def token_count(self, app: App) -> int:
        with self.sessions() as session:
            return session.scalar(
                select(func.count())
                .select_from(OAuthToken)
                .where(OAuthToken.client_id == app.client_id)
            )


BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def running_hub(
    tmp_path_factory: pytest.TempPathFactory, database_url: str | None = None, **settings: Any
) -> Iterator[LiveHub]:
    """A hub served by uvicorn on ``database_url`` (migrated here), or on a new SQLite file."""
    url = database_url or f"sqlite:///{tmp_path_factory.mktemp('oauth') / 'crmhub.db'}"
    auth = {"issuer": ISSUER, "allow_insecure_transport": True, **settings.pop("auth", {})}
    configured = Settings(
        database_url=url, secret_keys=[Fernet.generate_key().decode()], auth=auth, **settings
    )
    engine = create_sync_engine(configured)
    upgrade(engine)
    app = create_app(configured)
    try:
        with serve(app) as base_url:
            yield LiveHub(base_url, configured, sync_session_factory(engine))
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[LiveHub]:
    with (
        empty_database(request, request.param) as url,
        running_hub(tmp_path_factory, url) as hub,
    ):
        yield hub


@pytest.fixture
def web_app(live: LiveHub) -> App:
    return live.register_app()


@pytest.fixture(scope="session")
def person(live: LiveHub) -> Person:
    return live.add_person()
