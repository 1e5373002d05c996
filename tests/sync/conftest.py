"""Sync fixtures: the shared database of each backend, a fresh connection and namespace per test."""

from __future__ import annotations

import uuid

import pytest

from hub.demo import has_data, seed
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
