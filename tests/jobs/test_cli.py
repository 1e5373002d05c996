"""`crmhub sync`, `crmhub connections …`, and `crmhub worker` without a broker, via CliRunner."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.cli import app
from hub.models import Connection, DeadLetter, SyncRun
from hub.models.enums import ConnectionStatus
from hub.settings import get_settings
from tests.jobs.conftest import API_KEY, add_connection, serve_example

cli = CliRunner()


@pytest.fixture
def hub_env(database_url, monkeypatch):
    """The CLI reads its settings from the environment, as it does for a user."""
    monkeypatch.setenv("CRMHUB_DATABASE_URL", database_url)
    monkeypatch.delenv("CRMHUB_JOBS__BROKER_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_sync_shows_progress_per_stream_and_a_summary(hub_env, engine, api, ns):
    _, url = serve_example(api, ns, contacts=5, notes=2, page_cap=2)
    add_connection(engine, ns, url)

    result = cli.invoke(app, ["sync", f"example-{ns}"])

    assert result.exit_code == 0, result.output
    # Progress (stderr): one bar per stream with its records and elapsed time.
    assert "contacts" in result.stderr and "5 records" in result.stderr
    assert "notes" in result.stderr and "2 records" in result.stderr
    assert "0:00:0" in result.stderr
    # The summary (stdout): one row per stream run with its counts.
    assert f"sync of example-{ns}" in result.stdout
    rows = {cells[0]: cells[1:8] for cells in map(str.split, result.stdout.splitlines())
            if len(cells) == 9}
    # Status, read, created, updated, unchanged, deleted, failed.
    assert rows["contacts"] == ["SUCCEEDED", "5", "5", "0", "0", "0", "0"]
    assert rows["notes"] == ["SUCCEEDED", "2", "2", "0", "0", "0", "0"]

    again = cli.invoke(app, ["sync", f"example-{ns}", "--stream", "notes", "--full-refresh"])
    assert again.exit_code == 0, again.output
    assert f"full refresh of example-{ns}" in again.stdout
    assert "notes" in again.stdout and "contacts" not in again.stdout


def test_sync_fails_with_a_clear_message_and_new_credentials_fix_it(hub_env, engine, api, ns):
    _, url = serve_example(api, ns)
    add_connection(engine, ns, url, api_key="ex_live_stale_key_55555")

    result = cli.invoke(app, ["sync", f"example-{ns}"])

    assert result.exit_code == 1
    assert "FAILED" in result.stdout
    assert "error: Example CRM refused the credentials" in " ".join(result.stderr.split())
    assert "ex_live_stale_key_55555" not in result.output

    # New credentials clear NEEDS_REAUTH, and the next sync goes through.
    updated = cli.invoke(app, ["connections", "update", f"example-{ns}",
                               "--credential", f"api_key={API_KEY}"])
    assert updated.exit_code == 0, updated.output
    assert "credentials (stored encrypted)" in updated.stdout and API_KEY not in updated.output
    with Session(engine) as session:
        row = session.scalar(select(Connection).where(Connection.name == f"example-{ns}"))
        assert (row.status, row.status_message) == (ConnectionStatus.ACTIVE, None)
    assert cli.invoke(app, ["sync", f"example-{ns}"]).exit_code == 0

    paused = cli.invoke(app, ["connections", "update", f"example-{ns}", "--pause",
                              "--schedule", "@hourly", "--config", "api_url=http://127.0.0.1:9"])
    assert paused.exit_code == 0, paused.output
    with Session(engine) as session:
        row = session.scalar(select(Connection).where(Connection.name == f"example-{ns}"))
        assert (row.status, row.schedule, row.config) == (
            ConnectionStatus.PAUSED, "@hourly", {"api_url": "http://127.0.0.1:9"})
    nothing = cli.invoke(app, ["connections", "update", f"example-{ns}"])
    assert nothing.exit_code == 1 and "nothing to change" in nothing.stderr

    missing = cli.invoke(app, ["sync", f"nothing-{ns}"])
    assert missing.exit_code == 1 and "no connection named" in missing.stderr
    unknown = cli.invoke(app, ["sync", f"example-{ns}", "--stream", "deals"])
    assert unknown.exit_code == 1 and "has no stream 'deals'" in unknown.stderr


def test_connections_add_list_show_test_remove(hub_env, engine, api, ns):
    data, url = serve_example(api, ns, contacts=3, notes=0)
    name = f"cli-{ns}"

    added = cli.invoke(app, [
        "connections", "add", "--connector", "example", "--name", name,
        "--config", f"api_url={url}", "--credential", f"api_key={API_KEY}",
        "--schedule", "*/30 * * * *"])

    assert added.exit_code == 0, added.output
    assert f"added connection {name}" in added.stdout and "stored encrypted" in added.stdout
    with Session(engine) as session:
        row = session.scalar(select(Connection).where(Connection.name == name))
        assert row.config == {"api_url": url} and row.schedule == "*/30 * * * *"
        assert API_KEY.encode() not in row.credentials
        connection_id = row.id

    duplicate = cli.invoke(app, ["connections", "add", "--connector", "example", "--name", name,
                                 "--credential", f"api_key={API_KEY}"])
    assert duplicate.exit_code == 1 and "exists already" in duplicate.stderr

    listed = cli.invoke(app, ["connections", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {"name": name, "connector": "example", "status": "ACTIVE", "status_message": None,
            "schedule": "*/30 * * * *", "last_run_at": None, "id": str(connection_id)
            } in json.loads(listed.stdout)
    assert name in cli.invoke(app, ["connections", "list"]).stdout

    tested = cli.invoke(app, ["connections", "test", name])
    assert tested.exit_code == 0, tested.output
    assert "the first page of contacts has 3 record(s)" in tested.stdout

    assert cli.invoke(app, ["sync", name]).exit_code == 0
    with Session(engine) as session, session.begin():
        run = session.scalars(select(SyncRun).where(SyncRun.connection_id == connection_id)).first()
        session.add(DeadLetter(connection_id=connection_id, sync_run_id=run.id,
                               stream="contacts", payload={"id": "x"}, error="ValueError: bad"))
    shown = cli.invoke(app, ["connections", "show", name])
    assert shown.exit_code == 0, shown.output
    for fact in ("example", "ACTIVE", '"api_url"', "stored, encrypted", "1 unresolved",
                 "*/30 * * * *", "updated_at", "2026-03-01T00:02:00+00:00", "Recent runs"):
        assert fact in shown.stdout, fact

    data.api_key = "rotated-at-the-platform"
    refused = cli.invoke(app, ["connections", "test", name])
    assert refused.exit_code == 1 and "refused the credentials" in refused.stderr

    for command in (added, listed, tested, shown, refused):
        assert API_KEY not in command.output

    kept = cli.invoke(app, ["connections", "remove", name], input="n\n")
    assert kept.exit_code == 1
    removed = cli.invoke(app, ["connections", "remove", name, "--yes"])
    assert removed.exit_code == 0 and f"removed connection {name}" in removed.stdout
    with Session(engine) as session:
        assert session.get(Connection, connection_id) is None


def test_connections_add_validates_without_echoing_secrets(hub_env, ns):
    wrong = cli.invoke(app, ["connections", "add", "--connector", "nosuch", "--name", ns])
    assert wrong.exit_code == 1 and "installed: " in wrong.stderr and "example" in wrong.stderr

    no_secret = cli.invoke(app, ["connections", "add", "--connector", "example", "--name", ns,
                                 "--credential", "apikey=sk_typo_999"])
    assert no_secret.exit_code == 1
    assert "credentials are invalid: api_key" in no_secret.stderr
    assert "sk_typo_999" not in no_secret.output

    bad_schedule = cli.invoke(app, ["connections", "add", "--connector", "example", "--name", ns,
                                    "--schedule", "every 15m"])
    assert bad_schedule.exit_code == 2 and "not a cron expression" in bad_schedule.output


def test_credentials_file(hub_env, engine, tmp_path, ns):
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"api_key": API_KEY}))
    added = cli.invoke(app, ["connections", "add", "--connector", "example", "--name", ns,
                             "--credentials-file", str(path)])
    assert added.exit_code == 0, added.output
    with Session(engine) as session:
        row = session.scalar(select(Connection).where(Connection.name == ns))
    from connectors.base.credentials import decrypt

    assert decrypt(row.credentials) == {"api_key": API_KEY}
    assert row.status == ConnectionStatus.ACTIVE


def test_worker_and_scheduler_need_a_broker(hub_env):
    for command in ("worker", "scheduler"):
        result = cli.invoke(app, [command])
        assert result.exit_code == 1
        assert "needs a broker, and none is configured" in result.stderr
        assert "CRMHUB_JOBS__BROKER_URL" in " ".join(result.stderr.split())
