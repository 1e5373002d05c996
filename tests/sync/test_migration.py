"""The sync migration goes up, down to 0001 and up again on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from hub.db import create_sync_engine
from hub.migrate import alembic_config, upgrade
from hub.settings import Settings
from tests.conftest import create_postgres_database

SYNC_TABLES = {"stream_states", "sync_runs", "dead_letters", "inbound_events"}


def _downgrade(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _shape(engine) -> tuple[set[str], set[str]]:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("source_records")}
    return tables, columns


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path):
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'migrate.db'}", None
    else:
        url, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    engine = create_sync_engine(Settings(database_url=url))
    yield engine
    engine.dispose()
    if drop:
        drop()


def test_upgrade_downgrade_upgrade(fresh_engine) -> None:
    upgrade(fresh_engine)
    tables, columns = _shape(fresh_engine)
    assert SYNC_TABLES <= tables and "last_seen_run_id" in columns

    _downgrade(fresh_engine, "0001")
    tables, columns = _shape(fresh_engine)
    assert not SYNC_TABLES & tables and "last_seen_run_id" not in columns
    assert "source_records" in tables

    upgrade(fresh_engine)
    tables, columns = _shape(fresh_engine)
    assert SYNC_TABLES <= tables and "last_seen_run_id" in columns
