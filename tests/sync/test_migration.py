"""The sync migration goes up, down to 0001 and up again on both backends."""

from __future__ import annotations

from sqlalchemy import inspect

from hub.migrate import upgrade
from tests.sync.conftest import downgrade

SYNC_TABLES = {"stream_states", "sync_runs", "dead_letters", "inbound_events"}


def _shape(engine) -> tuple[set[str], set[str]]:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("source_records")}
    return tables, columns


def test_upgrade_downgrade_upgrade(fresh_engine) -> None:
    upgrade(fresh_engine)
    tables, columns = _shape(fresh_engine)
    assert SYNC_TABLES <= tables and "last_seen_run_id" in columns

    downgrade(fresh_engine, "0001")
    tables, columns = _shape(fresh_engine)
    assert not SYNC_TABLES & tables and "last_seen_run_id" not in columns
    assert "source_records" in tables

    upgrade(fresh_engine)
    tables, columns = _shape(fresh_engine)
    assert SYNC_TABLES <= tables and "last_seen_run_id" in columns
