"""Connections and what syncing them left behind, one statement per relation per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader
from hub.models import Connection, DeadLetter, StreamState, SyncRun

connections = Connection.__table__
stream_states = StreamState.__table__
sync_runs = SyncRun.__table__
dead_letters = DeadLetter.__table__

# The sealed credentials never leave the database through the API, not even into a loaded row.
CONNECTION_COLUMNS = tuple(c for c in connections.c if c.name != "credentials")


class ConnectionByIdLoader(ByIdLoader):
    table = connections

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        return select(*CONNECTION_COLUMNS).where(connections.c.id.in_(keys))


class SyncRunByIdLoader(ByIdLoader):
    table = sync_runs


class StreamStatesByConnectionLoader(ListByKeyLoader):
    table = stream_states
    key = "connection_id"
    order = ("stream",)
