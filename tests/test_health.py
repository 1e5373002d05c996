"""Liveness and readiness probes."""

from __future__ import annotations

import httpx

from hub.app import create_app
from hub.settings import Settings


async def test_healthz_and_readyz(settings):
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok"
    await app.state.engine.dispose()


async def test_readyz_says_when_the_database_is_unreachable(tmp_path):
    # A PostgreSQL URL where nothing listens: the process is up, the hub is not ready.
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
        ready = await c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert "nobody" not in ready.text
    await app.state.engine.dispose()
