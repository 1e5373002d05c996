"""sync_connection end to end against the example API on 127.0.0.1, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base.credentials import decrypt, encrypt
from connectors.example import ExampleConnector
from hub.models import Connection, StreamState
from hub.models.enums import ConnectionStatus, SyncRunStatus
from hub.sync import runner
from hub.sync.runner import SyncNotStarted, sync_connection
from tests.jobs.conftest import API_KEY, counts, runs_of


def _connection(engine, connection_id) -> Connection:
    with Session(engine) as session:
        return session.get_one(Connection, connection_id)


def _bookmarks(engine, connection_id) -> dict[str, dict | None]:
    with Session(engine) as session:
        return {s.stream: s.bookmark for s in session.scalars(
            select(StreamState).where(StreamState.connection_id == connection_id))}


def test_a_sync_stores_every_stream_then_resumes_from_the_bookmarks(engine, example, api):
    data, connection_id = example(contacts=7, notes=5, page_cap=3)
    seen: list[tuple[str, int]] = []

    runs = sync_connection(engine, connection_id, progress=lambda s, n: seen.append((s, n)))

    assert [(r.stream, r.status) for r in runs] == [
        ("contacts", SyncRunStatus.SUCCEEDED), ("notes", SyncRunStatus.SUCCEEDED)]
    assert [(r.records_read, r.records_created) for r in runs] == [(7, 7), (5, 5)]
    assert counts(engine, connection_id) == {
        "records": 12, "distinct": 12, "customers": 7, "notes": 5}
    # Progress: a 0 when each stream starts, then one call per committed page.
    assert seen == [("contacts", 0), ("contacts", 3), ("contacts", 3), ("contacts", 1),
                    ("notes", 0), ("notes", 3), ("notes", 2)]
    assert _bookmarks(engine, connection_id) == {"contacts": {"updated_at": "2026-03-01T00:06:00+00:00"}}
    row = _connection(engine, connection_id)
    assert (row.status, row.status_message) == (ConnectionStatus.ACTIVE, None)

    data.add_contacts(2)
    api.seen.clear()
    again = sync_connection(engine, connection_id, streams=["contacts"])

    assert api.seen[0].query["updated_since"] == "2026-03-01T00:06:00+00:00"
    (run,) = again
    # The bookmark's own record comes back (>=) unchanged; only the two new ones are created.
    assert (run.records_read, run.records_created, run.records_unchanged) == (3, 2, 1)
    assert counts(engine, connection_id)["customers"] == 9
    assert _bookmarks(engine, connection_id)["contacts"] == {
        "updated_at": "2026-03-01T00:08:00+00:00"}


def test_a_full_refresh_reads_everything_again(engine, example, api):
    _, connection_id = example(contacts=4, notes=0)
    sync_connection(engine, connection_id, streams=["contacts"])
    api.seen.clear()
    (run,) = sync_connection(engine, connection_id, streams=["contacts"], full_refresh=True)
    assert "updated_since" not in api.seen[0].query
    assert (run.full_refresh, run.records_read, run.records_unchanged) == (True, 4, 4)


def test_refused_credentials_need_reauthorisation_and_stop_the_sync(engine, example, api):
    stored = "ex_live_revoked_9f8e7d6c5b"
    _, connection_id = example(api_key=stored)

    runs = sync_connection(engine, connection_id)

    # The first stream's refusal stops the sync: the next stream would be refused too.
    assert [(r.stream, r.status) for r in runs] == [("contacts", SyncRunStatus.FAILED)]
    assert [s.path.rsplit("/", 1)[-1] for s in api.seen] == ["contacts"]
    row = _connection(engine, connection_id)
    assert row.status == ConnectionStatus.NEEDS_REAUTH
    assert "Example CRM refused the credentials" in row.status_message
    assert "authorise the connection again" in row.status_message
    assert "401" in row.status_message
    assert stored not in row.status_message and stored not in (runs[0].error or "")
    assert API_KEY not in row.status_message


def test_other_failures_mark_the_connection_failing_and_the_other_streams_still_run(
        engine, example):
    data, connection_id = example(contacts=2, notes=2, failing={"notes": 404})

    runs = sync_connection(engine, connection_id, streams=["notes", "contacts"])

    assert [(r.stream, r.status) for r in runs] == [
        ("notes", SyncRunStatus.FAILED), ("contacts", SyncRunStatus.SUCCEEDED)]
    row = _connection(engine, connection_id)
    assert row.status == ConnectionStatus.FAILING
    assert row.status_message.startswith("notes: NotFound")

    data.failing.clear()
    sync_connection(engine, connection_id)
    row = _connection(engine, connection_id)
    assert (row.status, row.status_message) == (ConnectionStatus.ACTIVE, None)


def test_refreshed_credentials_are_stored_sealed(engine, example, monkeypatch):
    _, connection_id = example(contacts=1, notes=0)

    class Refreshing(ExampleConnector):
        def auth(self, config, credentials, on_credentials_change):
            # What an OAuth connector does after a refresh: hand over the new token.
            on_credentials_change({"access_token": "at-2", "refresh_token": "rt-2"})
            return super().auth(config, credentials, on_credentials_change)

    monkeypatch.setattr(runner, "get_connector", lambda name: Refreshing)
    sync_connection(engine, connection_id, streams=["contacts"])

    sealed = _connection(engine, connection_id).credentials
    assert b"rt-2" not in sealed
    assert decrypt(sealed) == {"api_key": API_KEY, "access_token": "at-2", "refresh_token": "rt-2"}


def test_a_sync_that_cannot_start_says_why(engine, example, ns):
    _, connection_id = example()
    with pytest.raises(SyncNotStarted, match="has no stream 'deals'; its streams: contacts, notes"):
        sync_connection(engine, connection_id, streams=["deals"])
    with pytest.raises(SyncNotStarted, match="no connection with id"):
        sync_connection(engine, "00000000-0000-0000-0000-000000000000")

    with Session(engine) as session, session.begin():
        session.get_one(Connection, connection_id).credentials = encrypt(
            {"api_key": "x"}, ["3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="])
    with pytest.raises(SyncNotStarted, match="no configured secret key opens"):
        sync_connection(engine, connection_id)
    assert _connection(engine, connection_id).status == ConnectionStatus.FAILING

    with Session(engine) as session, session.begin():
        session.get_one(Connection, connection_id).credentials = encrypt({"token": "x"})
    with pytest.raises(SyncNotStarted, match="credentials are invalid: api_key"):
        sync_connection(engine, connection_id)
    assert _connection(engine, connection_id).status == ConnectionStatus.NEEDS_REAUTH
    assert runs_of(engine, connection_id) == []


def test_a_paused_connection_synced_by_hand_stays_paused(engine, example):
    _, connection_id = example(contacts=1, notes=0)
    with Session(engine) as session, session.begin():
        session.get_one(Connection, connection_id).status = ConnectionStatus.PAUSED
    (run,) = sync_connection(engine, connection_id, streams=["contacts"])
    assert run.status == SyncRunStatus.SUCCEEDED
    assert _connection(engine, connection_id).status == ConnectionStatus.PAUSED
