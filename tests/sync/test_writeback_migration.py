"""Migration 0009 (write_backs) goes down and up again on both backends."""

from __future__ import annotations

from sqlalchemy import inspect

from hub.migrate import upgrade
from tests.sync.conftest import downgrade


def test_write_backs_go_down_and_up(fresh_engine) -> None:
    upgrade(fresh_engine)
    inspector = inspect(fresh_engine)
    assert "write_backs" in inspector.get_table_names()
    assert {u["name"] for u in inspector.get_unique_constraints("write_backs")} == {
        "uq_write_backs_connection_id_idempotency_key"}

    downgrade(fresh_engine, "0008")
    assert "write_backs" not in inspect(fresh_engine).get_table_names()

    upgrade(fresh_engine)
    assert "write_backs" in inspect(fresh_engine).get_table_names()
