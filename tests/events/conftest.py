"""Outbound webhook fixtures: the shared database of each backend, and a real receiver.

The receiver is a small Starlette app served by uvicorn (``tests.live.serve``) that
checks every message with the ``standardwebhooks`` library, as a partner's endpoint
would, and answers what the test scripts. Each test starts with every subscription
left by earlier tests disabled and every earlier event fanned out, so the tests
sharing a database never receive each other's events.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from connectors.base.credentials import Secret
from hub.demo import has_data, seed
from hub.events.delivery import fan_out
from hub.events.secrets import seal
from hub.models import WebhookSubscription
from hub.settings import Settings
from tests.live import serve

KEYS = [Fernet.generate_key().decode()]


def hook_settings_for(database_url: str, **webhooks: Any) -> Settings:
    options = {"allow_http": True, "allowed_networks": ["127.0.0.1/32"],
               "backoff_base_seconds": 10, "backoff_factor": 2, **webhooks}
    return Settings(database_url=database_url, secret_keys=KEYS, webhooks=options,
                    auth={"allow_insecure_transport": True})


@pytest.fixture(scope="session")
def hook_settings(database_url: str) -> Settings:
    return hook_settings_for(database_url)


@pytest.fixture(scope="session")
def engine(sync_engine: Engine) -> Engine:
    # Shared with the API tests, which seed demo customers only into an empty hub.
    if not has_data(sync_engine):
        from tests.api.conftest import SEEDED_CUSTOMERS

        seed(sync_engine, SEEDED_CUSTOMERS)
    return sync_engine


@pytest.fixture
def quiet(engine: Engine, hook_settings: Settings) -> Engine:
    """No subscription from an earlier test is enabled, and no earlier event is left to fan out."""
    with engine.begin() as conn:
        conn.execute(update(WebhookSubscription).values(enabled=False, disabled_reason="earlier test"))
    fan_out(engine, hook_settings.webhooks)
    return engine


@dataclass
class Message:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any = None


@dataclass
class Receiver:
    """Records what arrives and answers the scripted status codes (then 200)."""

    base_url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    script: dict[str, list[int]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # bodies instead of "status N"
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.path == path]

    async def endpoint(self, request: Request) -> PlainTextResponse:
        path = request.url.path
        body = await request.body()
        headers = dict(request.headers)
        verified, payload = False, None
        try:
            payload = Webhook(self.secrets[path]).verify(body, headers)
            verified = True
        except (KeyError, WebhookVerificationError):
            pass
        with self.lock:
            self.messages.append(Message(path, headers, body, verified, payload))
            planned = self.script.get(path) or []
            status = planned.pop(0) if planned else 200
        if not verified:
            status = 401
        answer = self.answers.get(path, f"status {status}")
        return PlainTextResponse(answer, status_code=status)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.endpoint, methods=["POST"])])
    with serve(app) as base_url:
        receiver.base_url = base_url
        yield receiver


def subscribe(engine: Engine, settings: Settings, receiver: Receiver, path: str,
              event_types: list[str], secret: Secret | None = None) -> WebhookSubscription:
    """A subscription straight in the database (the API's own tests make theirs through it)."""
    from sqlalchemy.orm import Session

    from hub.events.secrets import new_secret

    secret = secret or new_secret()
    receiver.secrets[path] = secret.reveal()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = WebhookSubscription(url=f"{receiver.base_url}{path}", event_types=event_types,
                                  secret_encrypted=seal(secret, settings))
        session.add(row)
    return row


@pytest.fixture(scope="session")
async def hub_http(hook_settings: Settings, engine: Engine):
    """The hub's app with these settings (allow-listed loopback receiver), over ASGI."""
    import httpx

    from hub.app import create_app

    app = create_app(hook_settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://hub.test") as client:
        yield client
    await app.state.engine.dispose()
    app.state.sync_engine.dispose()


@pytest.fixture(scope="session")
def api_as(hub_http, mint_token):
    """An API client for a fresh internal (or given-kind) client with these scopes."""
    from tests.api.conftest import Api

    def make(scopes: str, **client_args: Any) -> Any:
        return Api(hub_http, mint_token(scopes, **client_args))

    return make
