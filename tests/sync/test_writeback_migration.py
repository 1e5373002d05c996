"""Migration 0009 (write_backs) goes down and up again on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from hub.db import create_sync_engine
from hub.migrate import alembic_config, upgrade
from hub.settings import Settings
from tests.conftest import create_postgres_database


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


def _downgrade(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_write_backs_go_down_and_up(fresh_engine) -> None:
    upgrade(fresh_engine)
    inspector = inspect(fresh_engine)
    assert "write_backs" in inspector.get_table_names()
    assert {u["name"] for u in inspector.get_unique_constraints("write_backs")} == {
        "uq_write_backs_connection_id_idempotency_key"}

    _downgrade(fresh_engine, "0008")
    assert "write_backs" not in inspect(fresh_engine).get_table_names()

    upgrade(fresh_engine)
    assert "write_backs" in inspect(fresh_engine).get_table_names()
