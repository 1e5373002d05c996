"""Webhook fixtures: the shared database of each backend, a hub app, a connection per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from hub import tasks
from hub.app import create_app
from hub.demo import has_data, seed
from hub.settings import Settings
from tests.webhooks.deliveries import new_connection

KEYS = [Fernet.generate_key().decode()]


@pytest.fixture(scope="session")
def hook_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_keys=KEYS,
                    auth={"allow_insecure_transport": True})


@pytest.fixture(scope="session")
def engine(sync_engine):
    # Shared with the API tests, which seed the demo population only into an empty hub.
    if not has_data(sync_engine):
        from tests.api.conftest import SEEDED_CUSTOMERS

        seed(sync_engine, SEEDED_CUSTOMERS)
    return sync_engine


@pytest.fixture
def connection(engine) -> uuid.UUID:
    return new_connection(engine, KEYS)


@pytest.fixture
def ns() -> str:
    return f"wh{uuid.uuid4().hex[:10]}"


@dataclass
class Hub:
    client: httpx.AsyncClient
    enqueued: list[dict[str, Any]] = field(default_factory=list)

    async def post(self, connection_id: Any, content: bytes, headers: dict[str, str],
                   query: str = "") -> httpx.Response:
        # A bound on every answer: a delivery left waiting must fail the test, not hang it.
        return await asyncio.wait_for(self.client.post(
            f"/webhooks/{connection_id}{query}", content=content, headers=headers), 10)

    async def get(self, connection_id: Any, query: str = "") -> httpx.Response:
        return await asyncio.wait_for(self.client.get(f"/webhooks/{connection_id}{query}"), 10)

    async def jobs(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The jobs enqueued once there are ``count`` (they are enqueued after the answer)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.enqueued) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)
        return self.enqueued


@pytest.fixture
async def hub(hook_settings, engine, monkeypatch) -> AsyncIterator[Hub]:
    """The whole app; jobs are recorded instead of run (tests run them when they want)."""
    enqueued: list[dict[str, Any]] = []

    def enqueue(job_name: str, **kwargs: Any) -> str:
        enqueued.append({"job": job_name, **kwargs})
        return uuid.uuid4().hex

    monkeypatch.setattr(tasks, "enqueue", enqueue)
    app = create_app(hook_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://hub.test") as client:
        yield Hub(client, enqueued)
    await app.state.webhooks.close()
    await app.state.engine.dispose()
    app.state.sync_engine.dispose()
