"""Live hubs (uvicorn) with small rate limits, their buckets in memory or in Redis, and real httpx clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update

from hub.app import create_app
from hub.auth.clients import create_client
from hub.auth.secrets import new_token, token_digest
from hub.db import create_sync_engine, sync_session_factory
from hub.migrate import upgrade
from hub.models import OAuthClient, OAuthToken, utcnow
from hub.models.enums import ClientKind
from hub.settings import Settings
from tests.auth.conftest import BACKENDS, empty_database
from tests.live import serve

REDIS_URL = os.environ.get("CRMHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
COUNT = "{ customers(first: 1) { totalCount } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def redis_or_skip() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"no Redis server at {REDIS_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session", params=BACKENDS)
def hub_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of each backend: the client's limits are read with its token."""
    with empty_database(request, request.param) as url:
        engine = create_sync_engine(Settings(database_url=url))
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Where buckets live: this process, or Redis under a prefix of this test's own."""
    if request.param == "memory":
        return {}
    return {"redis_url": redis_or_skip(), "prefix": f"crmhub:test:{uuid.uuid4().hex}:"}


class Caller:
    """One OAuth client speaking to a live hub over real HTTP."""

    def __init__(self, base_url: str, token: str, client_id: str) -> None:
        self.client_id = client_id
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": GRAPHQL_RESPONSE},
            timeout=30,
        )

    def post(self, query: str = COUNT, **variables: Any) -> httpx.Response:
        return self.http.post("/graphql", json={"query": query, "variables": variables or None})

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def live_hub(hub_database: str, secret_key: str, store: dict[str, Any]):
    """``live_hub(capacity=…, refill_per_second=…)`` -> (base URL, caller factory), on a running server."""
    engine = create_sync_engine(Settings(database_url=hub_database))
    sessions = sync_session_factory(engine)
    callers: list[Caller] = []

    def caller(base_url: str, client_settings: dict[str, Any] | None = None) -> Caller:
        with sessions.begin() as session:
            client, _ = create_client(
                session, name=f"rl-{uuid.uuid4().hex[:8]}", kind=ClientKind.INTERNAL,
                scopes="customers:read",
            )
            token = new_token()
            session.add(OAuthToken(
                access_token_hash=token_digest(token), client_id=client.client_id,
                scope="customers:read", expires_at=utcnow() + timedelta(hours=1),
            ))
            client_id = client.client_id
        if client_settings is not None:
            set_client_settings(client_id, client_settings)
        made = Caller(base_url, token, client_id)
        callers.append(made)
        return made

    def set_client_settings(client_id: str, value: dict[str, Any]) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(OAuthClient).where(OAuthClient.client_id == client_id).values(settings=value)
            )

    @contextmanager
    def running(**limits: Any) -> Iterator[tuple[str, Callable[..., Caller]]]:
        settings = Settings(
            database_url=hub_database,
            secret_keys=[secret_key],
            auth={"allow_insecure_transport": True},
            redis_url=store.get("redis_url"),
            rate_limit={
                **({"redis_prefix": store["prefix"]} if "prefix" in store else {}),
                **limits,
            },
        )
        with serve(create_app(settings)) as base_url:
            yield base_url, lambda **kw: caller(base_url, **kw)

    running.store = store  # type: ignore[attr-defined]
    running.set_client_settings = set_client_settings  # type: ignore[attr-defined]
    yield running
    for made in callers:
        made.close()
    engine.dispose()
