"""Shared fixtures: a real database per backend (SQLite always, PostgreSQL when a server answers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.db import create_sync_engine, sync_session_factory
from hub.migrate import upgrade
from hub.models import OAuthToken, utcnow
from hub.models.enums import ClientKind
from hub.settings import Settings

POSTGRES_URL = os.environ.get(
    "CRMHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ON_CI = bool(os.environ.get("CI"))


def _postgres_or_skip() -> str:
    """The admin URL of a PostgreSQL server; skip (or fail on CI) when none answers."""
    try:
        engine = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001
        message = f"no PostgreSQL server at {make_url(POSTGRES_URL).render_as_string()}: {error}"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    return _postgres_or_skip()


def create_postgres_database(admin_url: str) -> tuple[str, callable]:
    name = f"crmhub_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


@contextmanager
def empty_database(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """The URL of a new, empty database of ``backend``, dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        tmp = request.getfixturevalue("tmp_path_factory").mktemp("db")
        yield f"sqlite:///{tmp / 'crmhub.db'}"
        return
    url, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database of each backend, for the whole run."""
    with empty_database(request, request.param) as url:
        engine = create_sync_engine(Settings(database_url=url))
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, auth={"allow_insecure_transport": True})


@pytest.fixture(scope="session")
def sync_engine(settings: Settings):
    engine = create_sync_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def mint_token(sync_engine):
    """Make an internal (or given-kind) client with these scopes and return a bearer token for it."""

    from hub.auth.clients import create_client
    from hub.auth.secrets import new_token, token_digest

    def mint(scopes: str, kind: ClientKind = ClientKind.INTERNAL, **client_args) -> str:
        with sync_session_factory(sync_engine).begin() as session:
            client, _ = create_client(
                session, name=f"test-{uuid.uuid4().hex[:8]}", kind=kind, scopes=scopes, **client_args
            )
            token = new_token()
            session.add(
                OAuthToken(
                    access_token_hash=token_digest(token),
                    client_id=client.client_id,
                    scope=scopes,
                    expires_at=utcnow() + timedelta(hours=1),
                )
            )
        return token

    return mint


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``postgres`` or ``sqlite`` (what it checks exists on that database
    alone) is left out of the other database's run rather than skipped there."""
    other = {"postgres": "sqlite", "sqlite": "postgresql"}
    left_out = [item for item in items for marker, database in other.items()
                if item.get_closest_marker(marker)
                and getattr(item, "callspec", None) is not None
                and item.callspec.params.get("database_url") == database]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        dropped = set(left_out)
        items[:] = [item for item in items if item not in dropped]
