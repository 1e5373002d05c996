"""The token endpoint, driven by a real OAuth 2 client against a live server, and bearer lookup."""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import uvicorn
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.routing import Mount

from hub.access.scopes import UnknownScopeError
from hub.auth.bearer import principal_from_bearer
from hub.auth.clients import create_client
from hub.auth.routes import oauth_routes
from hub.auth.secrets import token_digest, verify_secret
from hub.auth.server import AuthState
from hub.db import create_async_db_engine, create_sync_engine, sync_session_factory
from hub.migrate import upgrade
from hub.models import OAuthClient, OAuthToken, Partner, utcnow
from hub.models.enums import ClientKind, PartnerKind
from hub.settings import Settings
from tests.auth.conftest import BACKENDS, empty_database


@dataclass
class Hub:
    settings: Settings
    sessions: sessionmaker[Session]
    token_url: str


@dataclass
class Registered:
    client_id: str
    secret: str
    partner_id: uuid.UUID | None


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    with empty_database(request, request.param) as url:
        yield url


@pytest.fixture(scope="module")
def hub(database: str) -> Iterator[Hub]:
    """A migrated hub (each backend) serving only the OAuth routes, live on a free loopback port."""
    settings = Settings(database_url=database, auth={"access_token_ttl_seconds": 900})
    engine = create_sync_engine(settings)
    upgrade(engine)
    sessions = sync_session_factory(engine)
    # The same hub again under /lenient, for a deployment that allows plain http.
    lenient = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"allow_insecure_transport": True})}
    )
    app = Starlette(
        routes=[
            *oauth_routes(AuthState(settings, sessions)),
            Mount("/lenient", routes=oauth_routes(AuthState(lenient, sessions))),
        ]
    )

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Hub(settings, sessions, f"http://127.0.0.1:{port}/oauth/token")
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def register(hub: Hub, scopes: str, kind: ClientKind = ClientKind.INTERNAL) -> Registered:
    with hub.sessions.begin() as session:
        partner_id = None
        if kind is ClientKind.PARTNER:
            partner = Partner(name=f"partner-{uuid.uuid4().hex[:8]}", kind=next(iter(PartnerKind)))
            session.add(partner)
            session.flush()
            partner_id = partner.id
        client, secret = create_client(
            session, name=f"test-{uuid.uuid4().hex[:8]}", kind=kind, scopes=scopes,
            partner_id=partner_id,
        )
        return Registered(client.client_id, secret, partner_id)


def oauth_client(registered: Registered, secret: str | None = None, **kwargs) -> OAuth2Session:
    return OAuth2Session(
        registered.client_id,
        registered.secret if secret is None else secret,
        token_endpoint_auth_method="client_secret_basic",
        **kwargs,
    )


def fetch(hub: Hub, registered: Registered, **kwargs) -> dict:
    with oauth_client(registered) as client:
        return client.fetch_token(hub.token_url, grant_type="client_credentials", **kwargs)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def principal(hub: Hub, access_token: str, scheme: str = "Bearer"):
    engine = create_async_db_engine(hub.settings)
    try:
        async with engine.connect() as conn:
            return await principal_from_bearer(conn, f"{scheme} {access_token}")
    finally:
        await engine.dispose()


def assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert response.headers["cache-control"] == "no-store"


# -- issuing ------------------------------------------------------------------------------------


async def test_client_credentials_token_works_as_bearer(hub: Hub) -> None:
    registered = register(hub, "customers:read orders:read", ClientKind.PARTNER)

    token = fetch(hub, registered)

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    assert token["scope"] == "customers:read orders:read"
    found = await principal(hub, token["access_token"])
    assert found is not None
    assert found.client_id == registered.client_id
    assert found.kind is ClientKind.PARTNER
    assert found.scopes == {"customers:read", "orders:read"}
    assert found.partner_id == registered.partner_id
    assert found.user_id is None
    # The scheme is case-insensitive (RFC 7235 §2.1).
    assert await principal(hub, token["access_token"], scheme="bEaReR") == found


async def test_requested_scope_narrows_the_token(hub: Hub) -> None:
    registered = register(hub, "customers:read orders:read")

    token = fetch(hub, registered, scope="orders:read")

    assert token["scope"] == "orders:read"
    assert (await principal(hub, token["access_token"])).scopes == {"orders:read"}


def test_token_response_is_not_cached(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    response = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials"},
        headers=basic(registered.client_id, registered.secret),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"


def test_database_holds_no_plain_token_or_secret(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    token = fetch(hub, registered)["access_token"]

    with hub.sessions() as session:
        dump = " ".join(
            repr(tuple(row))
            for table in ("oauth_clients", "oauth_tokens")
            for row in session.execute(text(f"SELECT * FROM {table}"))
        )
        stored = session.scalars(
            select(OAuthToken).where(OAuthToken.client_id == registered.client_id)
        ).one()
        client = session.get(OAuthClient, registered.client_id)
    assert token not in dump
    assert registered.secret not in dump
    assert stored.access_token_hash == token_digest(token)
    assert verify_secret(client.secret_hash, registered.secret)
    assert client.grant_types == ["client_credentials"]
    assert client.token_endpoint_auth_method == "client_secret_basic"


# -- refusing -----------------------------------------------------------------------------------


def test_wrong_secret_is_invalid_client(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    response = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials"},
        headers=basic(registered.client_id, "not-" + registered.secret),
    )
    assert_invalid_client(response)
    assert registered.secret not in response.text

    with oauth_client(registered, secret="wrong") as client, pytest.raises(OAuthError) as raised:
        client.fetch_token(hub.token_url, grant_type="client_credentials")
    assert raised.value.error == "invalid_client"


def test_unknown_client_looks_like_wrong_secret(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    wrong_secret = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials"},
        headers=basic(registered.client_id, "wrong"),
    )
    unknown = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials"},
        headers=basic("crm_doesnotexist", "wrong"),
    )
    assert_invalid_client(unknown)
    assert unknown.json() == wrong_secret.json()


def test_disabled_client_is_refused(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    assert fetch(hub, registered)["access_token"]
    with hub.sessions.begin() as session:
        session.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == registered.client_id)
            .values(disabled_at=utcnow())
        )

    response = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials"},
        headers=basic(registered.client_id, registered.secret),
    )
    assert_invalid_client(response)


async def test_disabled_client_token_gives_no_principal(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    token = fetch(hub, registered)["access_token"]
    assert await principal(hub, token) is not None
    with hub.sessions.begin() as session:
        session.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == registered.client_id)
            .values(disabled_at=utcnow())
        )
    assert await principal(hub, token) is None


def test_unsupported_grant_type(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    response = httpx.post(
        hub.token_url,
        data={"grant_type": "password", "username": "a", "password": "b"},
        headers=basic(registered.client_id, registered.secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("scope", ["customers:write", "customers:read customers:write", "nope"])
def test_scope_beyond_the_client_is_invalid_scope(hub: Hub, scope: str) -> None:
    registered = register(hub, "customers:read")
    response = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials", "scope": scope},
        headers=basic(registered.client_id, registered.secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    with hub.sessions() as session:
        assert session.scalar(
            select(OAuthToken).where(OAuthToken.client_id == registered.client_id)
        ) is None


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),  # not UTF-8
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":").decode(),
        "Bearer abc",
        "garbage",
    ],
)
def test_malformed_authorization_is_401_not_500(hub: Hub, authorization: str) -> None:
    response = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": authorization},
    )
    assert_invalid_client(response)


def test_secret_in_body_as_well_as_header_is_refused(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    response = httpx.post(
        hub.token_url,
        data={"grant_type": "client_credentials", "client_secret": registered.secret},
        headers=basic(registered.client_id, registered.secret),
    )
    assert_invalid_client(response)


def test_repeated_parameter_is_invalid_request(hub: Hub) -> None:
    registered = register(hub, "customers:read orders:read")
    response = httpx.post(
        hub.token_url,
        content=b"grant_type=client_credentials&scope=orders:read&scope=customers:read",
        headers={
            **basic(registered.client_id, registered.secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_body_must_be_a_form(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    response = httpx.post(
        hub.token_url,
        json={"grant_type": "client_credentials"},
        headers=basic(registered.client_id, registered.secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_oversized_body_is_refused(hub: Hub) -> None:
    response = httpx.post(
        hub.token_url, data={"grant_type": "client_credentials", "pad": "x" * 20_000}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(hub: Hub, method: str) -> None:
    response = httpx.request(method, hub.token_url)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# -- bearer lookup ------------------------------------------------------------------------------


async def test_expired_token_gives_no_principal(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    token = fetch(hub, registered)["access_token"]
    with hub.sessions.begin() as session:
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == token_digest(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await principal(hub, token) is None


async def test_revoked_token_gives_no_principal(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    token = fetch(hub, registered)["access_token"]
    with hub.sessions.begin() as session:
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == token_digest(token))
            .values(revoked_at=utcnow())
        )
    assert await principal(hub, token) is None


async def test_scope_taken_from_client_leaves_its_tokens_at_once(hub: Hub) -> None:
    registered = register(hub, "customers:read orders:read")
    token = fetch(hub, registered)["access_token"]
    with hub.sessions.begin() as session:
        session.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == registered.client_id)
            .values(scope="orders:read")
        )
    assert (await principal(hub, token)).scopes == {"orders:read"}


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "Bearer " + "a" * 600]
)
async def test_no_principal_without_a_good_bearer_header(hub: Hub, header: str | None) -> None:
    engine = create_async_db_engine(hub.settings)
    try:
        async with engine.connect() as conn:
            assert await principal_from_bearer(conn, header) is None
    finally:
        await engine.dispose()


async def test_unknown_token_gives_no_principal(hub: Hub) -> None:
    assert await principal(hub, "never-issued") is None


# -- registration and transport -----------------------------------------------------------------


def test_create_client_refuses_unknown_scopes(hub: Hub) -> None:
    with hub.sessions() as session, pytest.raises(UnknownScopeError, match="customers:delete"):
        create_client(
            session, name="x", kind=ClientKind.INTERNAL, scopes="customers:read customers:delete"
        )


def test_plain_http_is_refused_unless_the_setting_allows_it(hub: Hub) -> None:
    registered = register(hub, "customers:read")
    # Plain http to a name that is not loopback, as behind a TLS-less proxy.
    headers = {**basic(registered.client_id, registered.secret), "Host": "crm.example"}
    data = {"grant_type": "client_credentials"}

    refused = httpx.post(hub.token_url, data=data, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"] == "insecure_transport"

    lenient_url = hub.token_url.replace("/oauth/token", "/lenient/oauth/token")
    allowed = httpx.post(lenient_url, data=data, headers=headers)
    assert allowed.status_code == 200, allowed.text
    # Handled per server, never by switching authlib's check off for the whole process.
    assert "AUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_logs_hold_no_token_secret_or_hash(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    registered = register(hub, "customers:read")
    with caplog.at_level("DEBUG"):
        token = fetch(hub, registered)["access_token"]
    with hub.sessions() as session:
        secret_hash = session.get(OAuthClient, registered.client_id).secret_hash
    assert "Validate token request" in caplog.text  # authlib's debug logging did run
    for value in (token, registered.secret, secret_hash, token_digest(token)):
        assert value not in caplog.text
