"""API fixtures: the app on a seeded database of each backend, and an HTTP client per role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.app import create_app
from hub.demo import has_data, seed

OPERATIONS = Path(__file__).resolve().parents[2] / "graphql" / "operations"
SEEDED_CUSTOMERS = 120
READ_ALL = (
    "customers:read customers:read_pii orders:read interactions:read cases:read feedback:read"
)


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


@pytest.fixture(scope="session")
def seeded(sync_engine) -> int:
    if not has_data(sync_engine):
        seed(sync_engine, SEEDED_CUSTOMERS)
    return SEEDED_CUSTOMERS


@pytest.fixture(scope="session")
async def app(settings, seeded):
    app = create_app(settings)
    yield app
    await app.state.engine.dispose()
    app.state.sync_engine.dispose()


class Api:
    """A GraphQL client speaking as one caller."""

    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.headers["Accept"] = "application/graphql-response+json"

    async def post(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/graphql", json=body, headers=self.headers, **kw)

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query that must succeed fully; returns `data`."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture(scope="session")
async def http(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture(scope="session")
def internal(http, mint_token) -> Api:
    """An internal app with every read scope."""
    return Api(http, mint_token(READ_ALL))


@pytest.fixture(scope="session")
def as_scopes(http, mint_token):
    def make(scopes: str) -> Api:
        return Api(http, mint_token(scopes))

    return make
