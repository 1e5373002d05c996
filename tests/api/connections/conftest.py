"""Connections of this test's own (unique names and connector labels), with runs and dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.api.core.ids import to_global_id
from hub.models import Connection, Customer, DeadLetter, SourceRecord, StreamState, SyncRun
from hub.models.enums import ConnectionStatus, SyncRunStatus
from tests.connectors.base.conftest import _server, api  # noqa: F401 - the example API

ADMIN = "connections:admin"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def gid(type_name: str, id_: uuid.UUID) -> str:
    return to_global_id(type_name, id_)


@pytest.fixture
def ns() -> str:
    return f"api-conn-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(as_scopes):
    return as_scopes(ADMIN)


@pytest.fixture
def add_connection(sync_engine, ns) -> Iterator[Callable[..., uuid.UUID]]:
    """``add_connection("a", connector=…, status=…)``: a connection named ``<ns>-a``.

    Removed after the test with everything it synced (its customers too): the API tests
    share one database, and some of them count what a page of customers costs.
    """
    made: list[uuid.UUID] = []

    def add(suffix: str, *, connector: str = "shopify", **fields: Any) -> uuid.UUID:
        values: dict[str, Any] = {
            "config": {"shop_domain": f"{ns}.myshopify.com"},
            "credentials": b"sealed-and-never-shown",
            "status": ConnectionStatus.ACTIVE,
            **fields,
        }
        with Session(sync_engine) as session, session.begin():
            row = Connection(name=f"{ns}-{suffix}", connector=connector, **values)
            session.add(row)
            session.flush()
            made.append(row.id)
            return row.id

    yield add
    with Session(sync_engine) as session, session.begin():
        synced = select(SourceRecord.customer_id).where(SourceRecord.connection_id.in_(made))
        session.execute(delete(Customer).where(Customer.id.in_(synced)))
        session.execute(delete(Connection).where(Connection.id.in_(made)))


@pytest.fixture
def add_run(sync_engine) -> Callable[..., uuid.UUID]:
    def add(connection_id: uuid.UUID, minutes: int, **fields: Any) -> uuid.UUID:
        started = fields.pop("started_at", T0 + timedelta(minutes=minutes))
        values: dict[str, Any] = {
            "stream": "customers",
            "status": SyncRunStatus.SUCCEEDED,
            "full_refresh": False,
            "finished_at": started + timedelta(seconds=30),
            **fields,
        }
        with Session(sync_engine) as session, session.begin():
            row = SyncRun(connection_id=connection_id, started_at=started, **values)
            session.add(row)
            session.flush()
            return row.id

    return add


@pytest.fixture
def add_dead_letter(sync_engine) -> Callable[..., uuid.UUID]:
    def add(connection_id: uuid.UUID, run_id: uuid.UUID | None, minutes: int,
            **fields: Any) -> uuid.UUID:
        values: dict[str, Any] = {
            "stream": "customers",
            "external_id": f"x{minutes}",
            "payload": {"id": minutes, "email": f"person{minutes}@example.com"},
            "error": "MappingError: shopify customer: the record has no id",
            **fields,
        }
        with Session(sync_engine) as session, session.begin():
            row = DeadLetter(connection_id=connection_id, sync_run_id=run_id,
                             created_at=T0 + timedelta(minutes=minutes), **values)
            session.add(row)
            session.flush()
            return row.id

    return add


@pytest.fixture
def add_stream_state(sync_engine) -> Callable[..., None]:
    def add(connection_id: uuid.UUID, stream: str, bookmark: dict[str, Any] | None) -> None:
        with Session(sync_engine) as session, session.begin():
            session.add(StreamState(connection_id=connection_id, stream=stream,
                                    bookmark=bookmark, updated_at=T0))

    return add
