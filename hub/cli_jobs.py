"""`crmhub sync`, `crmhub worker`, `crmhub scheduler` and `crmhub connections …`.

Secrets given to `connections add` are sealed at once and never printed; no command
here decrypts credentials except to build a connector session.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, Self

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hub.settings import PROJECT_ROOT, get_settings

connections_app = typer.Typer(help="Configured connections to platforms.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _engine() -> Iterator[Engine]:
    from hub.db import create_sync_engine

    engine = create_sync_engine()
    try:
        yield engine
    finally:
        engine.dispose()


def _find(session: Session, ref: str) -> Any:
    """A connection by name or id."""
    from hub.models import Connection

    try:
        by_id = session.get(Connection, uuid.UUID(ref))
    except ValueError:
        by_id = None
    found = by_id or session.scalar(select(Connection).where(Connection.name == ref))
    if found is None:
        fail(f"no connection named {ref!r} (see `crmhub connections list`)")
    return found


# -- sync ----------------------------------------------------------------------------------


def sync(
    connection: Annotated[str, typer.Argument(help="The connection's name or id.")],
    stream: Annotated[
        list[str] | None, typer.Option("--stream", "-s", help="Only this stream; repeatable.")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Read everything again; tombstone what is gone.")
    ] = False,
) -> None:
    """Sync a connection now, in this process, with a progress bar per stream."""
    from hub.models.enums import ConnectionStatus, SyncRunStatus
    from hub.sync.runner import SyncNotStarted, sync_connection

    with _engine() as engine:
        with Session(engine) as session:
            row = _find(session, connection)
            connection_id, name = row.id, row.name
        try:
            with _StreamBars() as bars:
                runs = sync_connection(engine, connection_id, streams=stream,
                                       full_refresh=full_refresh, progress=bars.report)
        except SyncNotStarted as error:
            fail(str(error))
        with Session(engine) as session:
            row = _find(session, str(connection_id))
            status, message = row.status, row.status_message
    kind = "full refresh" if full_refresh else "sync"
    out.print(_runs_table(f"{kind} of {name}", runs))
    for run in runs:
        if run.error:
            err.print(f"[yellow]{run.stream}:[/yellow] {run.error}", highlight=False)
    if status == ConnectionStatus.NEEDS_REAUTH:
        fail(message or "the platform refused the credentials")
    failed = [run.stream for run in runs if run.status == SyncRunStatus.FAILED]
    if failed:
        fail(f"{len(failed)} stream(s) failed: {', '.join(failed)}")
    dead = sum(run.records_failed for run in runs)
    if dead:
        err.print(f"[yellow]warning:[/yellow] {dead} record(s) went to the dead letters; "
                  f"`crmhub connections show {name}` counts them")


class _StreamBars:
    """One bar per stream: records read so far and the time the stream took."""

    def __init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/green]"),
            TextColumn("{task.description:<20}"),
            BarColumn(),
            TextColumn("{task.completed:>8.0f} records"),
            TimeElapsedColumn(),
            console=err,
        )
        self.tasks: dict[str, TaskID] = {}
        self.current: TaskID | None = None

    def report(self, stream: str, records: int) -> None:
        if stream not in self.tasks:
            self._finish_current()
            self.current = self.tasks[stream] = self.progress.add_task(stream, total=None)
        self.progress.advance(self.tasks[stream], records)

    def _finish_current(self) -> None:
        if self.current is not None:
            done = self.progress.tasks[self.current].completed
            self.progress.update(self.current, total=done, completed=done)

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish_current()
        self.progress.stop()


def _runs_table(title: str, runs: list[Any], *, started: bool = False) -> Table:
    """Counts of each run; ``started`` (for a history) trades the rarer counts for the start."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    counts = ["read", "created", "updated", "unchanged", "deleted", "failed"]
    if started:
        counts = ["read", "created", "updated", "failed"]
    table.add_column("Stream", no_wrap=True)
    if started:
        table.add_column("Started (UTC)", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for column in [*counts, "secs"]:
        table.add_column(column.capitalize(), justify="right", no_wrap=True)
    colours = {"SUCCEEDED": "green", "PARTIAL": "yellow", "FAILED": "red", "RUNNING": "cyan"}
    for run in runs:
        seconds = ((run.finished_at - run.started_at).total_seconds()
                   if run.finished_at else None)
        status = str(run.status)
        table.add_row(
            run.stream or "-",
            *([f"{run.started_at:%Y-%m-%d %H:%M}"] if started else []),
            f"[{colours.get(status, 'white')}]{status}[/]" + (" full" if run.full_refresh and started else ""),
            *(str(getattr(run, f"records_{name}")) for name in counts),
            f"{seconds:.1f}" if seconds is not None else "-",
        )
    return table


# -- worker and scheduler ------------------------------------------------------------------


def _broker_or_fail(command: str) -> str:
    broker = get_settings().jobs.broker_url
    if not broker:
        fail(f"`crmhub {command}` needs a broker, and none is configured: jobs run inside "
             "`crmhub serve` (embedded mode). To use Celery, set CRMHUB_JOBS__BROKER_URL "
             "(redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//) "
             "or [jobs] broker_url in the config file.")
    return broker


def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Processes or threads; default: the CPU count.")
    ] = None,
    pool: Annotated[str, typer.Option(help="prefork, threads or solo.")] = "prefork",
    loglevel: Annotated[str | None, typer.Option(help="Default: settings `log_level`.")] = None,
) -> None:
    """Run jobs from the configured broker (a Celery worker on the hub's queue)."""
    _broker_or_fail("worker")
    if pool not in ("prefork", "threads", "solo"):
        raise typer.BadParameter("use prefork, threads or solo", param_hint="--pool")
    from hub.tasks import app as celery

    settings = get_settings()
    argv = ["worker", f"--loglevel={loglevel or settings.log_level}",
            f"--queues={settings.jobs.queue}", f"--pool={pool}",
            # Mingle and gossip sync revoked ids between workers; the hub never revokes.
            "--without-mingle", "--without-gossip"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    celery.worker_main(argv)


def scheduler(
    schedule_file: Annotated[
        Path, typer.Option(help="Where beat remembers its last runs.")
    ] = PROJECT_ROOT / "var" / "celerybeat-schedule",
    loglevel: Annotated[str | None, typer.Option(help="Default: settings `log_level`.")] = None,
) -> None:
    """Enqueue due syncs every `jobs.schedule_interval_seconds` (Celery beat; run exactly one)."""
    _broker_or_fail("scheduler")
    from hub.tasks import app as celery

    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    celery.start(["beat", f"--loglevel={loglevel or get_settings().log_level}",
                  f"--schedule={schedule_file}"])


# -- connections ---------------------------------------------------------------------------


@connections_app.callback()
def connections() -> None:
    """Configured connections to platforms."""


def _pairs(values: list[str] | None, option: str) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            # Never echo the item: for --credential it is a secret.
            raise typer.BadParameter("expected key=value", param_hint=option)
        # A JSON list or object stays structured; everything else is a string.
        if value.strip().startswith(("[", "{")):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        pairs[key.strip()] = value
    return pairs


def _credentials_input(connector: Any, given: dict[str, Any],
                       credentials_file: Path | None) -> dict[str, Any] | None:
    if credentials_file is not None:
        text = sys.stdin.read() if str(credentials_file) == "-" else credentials_file.read_text()
        try:
            from_file = json.loads(text)
        except ValueError:
            fail(f"{credentials_file} is not JSON")  # no excerpt: it holds secrets
        if not isinstance(from_file, dict):
            fail(f"{credentials_file} must hold a JSON object")
        given = {**from_file, **given}
    schema = connector.credentials_schema()
    if given or schema is None:
        return given or None
    if not sys.stdin.isatty():
        fields = ", ".join(schema.get("required", ())) or "none"
        fail(f"{connector.name} needs credentials ({fields}): pass --credential key=value "
             "or --credentials-file PATH")
    return {field: typer.prompt(field, hide_input=True)
            for field in schema.get("required", ())}


@connections_app.command("add")
def connections_add(
    connector: Annotated[str, typer.Option(help="An installed connector (`crmhub connectors list`).")],
    name: Annotated[str, typer.Option(help="A unique name, e.g. shop-eu.")],
    config: Annotated[
        list[str] | None, typer.Option("--config", help="key=value; repeatable.")
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", help="key=value; repeatable (shell history keeps it: "
                                          "prefer --credentials-file or the prompt)."),
    ] = None,
    credentials_file: Annotated[
        Path | None, typer.Option(help="A JSON object of credentials; - reads standard input.")
    ] = None,
    schedule: Annotated[
        str | None, typer.Option(help='A cron expression in UTC, e.g. "*/15 * * * *".')
    ] = None,
) -> None:
    """Add a connection; credentials are stored encrypted and never shown again."""
    from pydantic import ValidationError
    from sqlalchemy.exc import IntegrityError

    from connectors.base.credentials import encrypt
    from connectors.base.errors import CredentialsError
    from connectors.base.registry import UnknownConnector, discover, get_connector
    from hub.models import Connection
    from hub.tasks import valid_schedule

    try:
        plugin = get_connector(connector)()
    except UnknownConnector:
        fail(f"no connector named {connector!r}; installed: {', '.join(discover()) or 'none'}")
    if schedule is not None and not valid_schedule(schedule):
        raise typer.BadParameter(f"{schedule!r} is not a cron expression", param_hint="--schedule")
    try:
        parsed_config = plugin.parse_config(_pairs(config, "--config"))
    except ValidationError as error:
        fail(f"invalid --config for {connector}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))
    raw = _credentials_input(plugin, _pairs(credential, "--credential"), credentials_file)
    try:
        parsed = plugin.parse_credentials(raw)
    except CredentialsError as error:
        fail(str(error))  # names the fields, never their values
    sealed = None
    if raw is not None:
        # What was given and the model knows; defaults stay defaults.
        sealed = encrypt(parsed.model_dump(exclude_unset=True) if hasattr(parsed, "model_dump")
                         else raw)
    with _engine() as engine:
        try:
            with Session(engine) as session, session.begin():
                row = Connection(name=name, connector=connector, schedule=schedule,
                                 config=parsed_config.model_dump(mode="json"), credentials=sealed)
                session.add(row)
                session.flush()
                connection_id = row.id
        except IntegrityError:
            fail(f"a connection named {name!r} exists already")
    stored = "credentials stored encrypted" if sealed else "no credentials"
    out.print(f"added connection {name} ({connection_id}): {connector}, {stored}", highlight=False)


@connections_app.command("update")
def connections_update(
    connection: Annotated[str, typer.Argument(help="The connection's name or id.")],
    config: Annotated[
        list[str] | None, typer.Option("--config", help="key=value, merged in; repeatable.")
    ] = None,
    credential: Annotated[
        list[str] | None, typer.Option("--credential", help="key=value; replaces all credentials.")
    ] = None,
    credentials_file: Annotated[
        Path | None, typer.Option(help="A JSON object; replaces all credentials; - reads stdin.")
    ] = None,
    schedule: Annotated[
        str | None, typer.Option(help='A cron expression in UTC; "" for manual syncs only.')
    ] = None,
    pause: Annotated[
        bool | None, typer.Option("--pause/--resume", help="Stop or restart scheduled syncs.")
    ] = None,
) -> None:
    """Change a connection; new credentials clear a NEEDS_REAUTH status."""
    from pydantic import ValidationError

    from connectors.base.credentials import encrypt
    from connectors.base.errors import CredentialsError
    from connectors.base.registry import UnknownConnector, get_connector
    from hub.models import utcnow
    from hub.models.enums import ConnectionStatus
    from hub.tasks import valid_schedule

    if schedule and not valid_schedule(schedule):
        raise typer.BadParameter(f"{schedule!r} is not a cron expression", param_hint="--schedule")
    with _engine() as engine, Session(engine) as session, session.begin():
        row = _find(session, connection)
        try:
            plugin = get_connector(row.connector)()
        except UnknownConnector as error:
            fail(str(error))
        changed = []
        if config:
            try:
                merged = plugin.parse_config({**row.config, **_pairs(config, "--config")})
            except ValidationError as error:
                fail(f"invalid --config for {row.connector}: " + "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))
            row.config = merged.model_dump(mode="json")
            changed.append("config")
        if credential or credentials_file is not None:
            raw = _credentials_input(plugin, _pairs(credential, "--credential"), credentials_file)
            try:
                parsed = plugin.parse_credentials(raw)
            except CredentialsError as error:
                fail(str(error))
            row.credentials = encrypt(parsed.model_dump(exclude_unset=True)
                                      if hasattr(parsed, "model_dump") else raw or {})
            if row.status == ConnectionStatus.NEEDS_REAUTH:
                row.status, row.status_message = ConnectionStatus.ACTIVE, None
            changed.append("credentials (stored encrypted)")
        if schedule is not None:
            row.schedule = schedule or None
            changed.append("schedule")
        if pause is not None:
            row.status = ConnectionStatus.PAUSED if pause else ConnectionStatus.ACTIVE
            row.status_message = None
            changed.append("paused" if pause else "resumed")
        if not changed:
            fail("nothing to change: give --config, --credential, --credentials-file, "
                 "--schedule, --pause or --resume")
        row.updated_at = utcnow()
        name = row.name
    out.print(f"updated connection {name}: {', '.join(changed)}", highlight=False)


@connections_app.command("list")
def connections_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every connection: connector, status, schedule, last run (`show` tells more)."""
    from hub.models import Connection, SyncRun

    with _engine() as engine, Session(engine) as session:
        last = (select(SyncRun.connection_id, func.max(SyncRun.started_at).label("at"))
                .group_by(SyncRun.connection_id).subquery())
        rows = session.execute(select(Connection, last.c.at).outerjoin(
            last, last.c.connection_id == Connection.id).order_by(Connection.name)).all()
    if as_json:
        print(json.dumps([{
            "id": str(row.id), "name": row.name, "connector": row.connector,
            "status": str(row.status), "status_message": row.status_message,
            "schedule": row.schedule, "last_run_at": at.isoformat() if at else None,
        } for row, at in rows], indent=2))
        return
    table = Table(title="Connections", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Name", no_wrap=True)
    table.add_column("Connector", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Schedule", overflow="fold")
    table.add_column("Last run (UTC)", no_wrap=True)
    for row, at in rows:  # the status message is in `show`
        table.add_row(row.name, row.connector, str(row.status), row.schedule or "-",
                      f"{at:%Y-%m-%d %H:%M}" if at else "never")
    out.print(table)


@connections_app.command("show")
def connections_show(
    connection: Annotated[str, typer.Argument(help="The connection's name or id.")],
    runs: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 10,
) -> None:
    """A connection's config, status, stream bookmarks, recent runs and dead letters."""
    from hub.models import DeadLetter, StreamState, SyncRun, utcnow
    from hub.tasks import next_due, valid_schedule

    with _engine() as engine, Session(engine) as session:
        row = _find(session, connection)
        states = session.scalars(select(StreamState).where(
            StreamState.connection_id == row.id).order_by(StreamState.stream)).all()
        recent = session.scalars(select(SyncRun).where(SyncRun.connection_id == row.id)
                                 .order_by(SyncRun.started_at.desc()).limit(runs)).all()
        dead = session.scalar(select(func.count()).select_from(DeadLetter).where(
            DeadLetter.connection_id == row.id, DeadLetter.resolved_at.is_(None)))
    facts = Table.grid(padding=(0, 2))
    facts.add_row("name", row.name)
    facts.add_row("id", str(row.id))
    facts.add_row("connector", row.connector)
    facts.add_row("status", str(row.status) + (f": {row.status_message}"
                                               if row.status_message else ""))
    schedule = row.schedule or "none (manual syncs only)"
    if row.schedule and valid_schedule(row.schedule):
        due = next_due(row.schedule, recent[0].started_at if recent else row.created_at)
        schedule += " (due now)" if due <= utcnow() else f" (next due {due:%Y-%m-%d %H:%M} UTC)"
    facts.add_row("schedule", schedule)
    facts.add_row("config", json.dumps(row.config, indent=2, sort_keys=True))
    facts.add_row("credentials", "stored, encrypted" if row.credentials else "none")
    facts.add_row("dead letters", f"{dead} unresolved")
    out.print(facts, highlight=False)
    bookmarks = Table(title="Streams")
    bookmarks.add_column("Stream")
    bookmarks.add_column("Bookmark", overflow="fold")
    bookmarks.add_column("Updated")
    for state in states:
        bookmarks.add_row(state.stream, json.dumps(state.bookmark),
                          state.updated_at.strftime("%Y-%m-%d %H:%M:%S"))
    out.print(bookmarks if states else "no stream has a bookmark yet")
    out.print(_runs_table("Recent runs", list(recent), started=True) if recent else "no runs yet")


@connections_app.command("test")
def connections_test(
    connection: Annotated[str, typer.Argument(help="The connection's name or id.")],
) -> None:
    """Check the connection works: build its session and read one page of its first stream."""
    from connectors.base.errors import AuthExpired, ConnectorError
    from hub.sync.engine import describe
    from hub.sync.runner import SyncNotStarted, connector_session

    with _engine() as engine:
        with Session(engine) as session:
            connection_id = _find(session, connection).id
        try:
            connector, config, http = connector_session(engine, connection_id)
        except SyncNotStarted as error:
            fail(str(error))
        if not connector.streams:
            fail(f"{connector.name} declares no streams to read")
        name = connector.streams[0].name
        stream = connector.stream(name, config)
        try:
            page = next(iter(stream.pages(http, None)), None)
        except AuthExpired as error:
            fail(f"{connector.title} refused the credentials: {describe(error)}")
        except ConnectorError as error:
            fail(f"reading {name} failed: {describe(error)}")
    count = len(page.records) if page is not None else 0
    out.print(f"ok: {connector.title} answered; the first page of {name} has {count} record(s)")


@connections_app.command("remove")
def connections_remove(
    connection: Annotated[str, typer.Argument(help="The connection's name or id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove a connection with its bookmarks, runs, dead letters and source records."""
    from hub.models import Connection, SourceRecord

    with _engine() as engine:
        with Session(engine) as session:
            row = _find(session, connection)
            connection_id, name = row.id, row.name
            records = session.scalar(select(func.count()).select_from(SourceRecord).where(
                SourceRecord.connection_id == connection_id))
        if not yes:
            typer.confirm(
                f"Remove {name} with its sync state, runs, dead letters and {records} source "
                "record(s)? Customers stay, without this provenance.", abort=True)
        with Session(engine) as session, session.begin():
            row = session.get(Connection, connection_id)
            if row is not None:
                session.delete(row)
    out.print(f"removed connection {name}", highlight=False)
