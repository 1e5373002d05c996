"""Sync fixtures: the shared database of each backend, a fresh connection and namespace per test."""

from __future__ import annotations

import uuid

import pytest
from alembic import command

from hub.db import create_sync_engine
from hub.demo import has_data, seed
from hub.migrate import alembic_config
from hub.settings import Settings
from tests.conftest import empty_database
from tests.connectors.base.conftest import _server, api  # noqa: F401 - the local HTTP API
from tests.jobs.conftest import (  # noqa: F401 - real brokers and workers
    broker_url,
    crmhub_process,
    queue,
    start_worker,
)
from tests.sync.factory import new_connection


@pytest.fixture(scope="session")
def engine(sync_engine):
    # The database is shared with the API tests, which seed the demo population only into an
    # empty hub: seed it first (as they would) so that running tests/sync first changes nothing.
    if not has_data(sync_engine):
        from tests.api.conftest import SEEDED_CUSTOMERS

        seed(sync_engine, SEEDED_CUSTOMERS)
    return sync_engine


@pytest.fixture
def ns() -> str:
    return f"ns{uuid.uuid4().hex[:10]}"


@pytest.fixture
def connection(engine) -> uuid.UUID:
    return new_connection(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request):
    """An empty database of its own on each backend, for migrations to go up and down."""
    with empty_database(request, request.param) as url:
        engine = create_sync_engine(Settings(database_url=url))
        yield engine
        engine.dispose()


def downgrade(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
