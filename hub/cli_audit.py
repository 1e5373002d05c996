"""`crmhub audit`: read the audit log, newest first."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

audit_app = typer.Typer(
    help="The audit log: partners' reads of PII and every write.",
    # A command of its own (`crmhub audit --partner P`), with no subcommands to show.
    subcommand_metavar="",
)

out = Console()
err = Console(stderr=True)

_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@audit_app.callback(invoke_without_command=True)
def audit(
    partner: Annotated[str | None, typer.Option(help="A partner, by name or id.")] = None,
    client: Annotated[str | None, typer.Option(help="An OAuth client, by client id or name.")] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(help='An action, e.g. customer.read_pii, or "customer.*"; repeatable.'),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="ISO 8601 time (UTC if no offset), or an age: 30m, 24h, 7d.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many events.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List audit events, newest first."""
    from sqlalchemy import select

    from hub.access.audit import AuditQuery
    from hub.db import create_sync_engine
    from hub.models import AuditEvent, OAuthClient, Partner, utcnow

    try:
        since_at = _since(since, utcnow()) if since else None
    except ValueError as error:
        _fail(str(error))
    engine = create_sync_engine()
    try:
        with engine.connect() as conn:
            partner_ids = (_partner_id(conn, Partner, partner),) if partner else ()
            client_ids = (_client_id(conn, OAuthClient, client),) if client else ()
            query = AuditQuery(
                client_ids=client_ids,
                partner_ids=partner_ids,
                actions=tuple(action or ()),
                since=since_at,
            )
            table = AuditEvent.__table__
            rows = conn.execute(
                select(table)
                .where(*query.clauses())
                .order_by(table.c.occurred_at.desc(), table.c.id.desc())
                .limit(limit)
            ).all()
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([_jsonable(row) for row in rows], indent=2))
        return
    if not rows:
        out.print("no audit events match")
        return
    view = Table("when (UTC)", "actor", "partner", "action", "record", "fields")
    for row in rows:
        view.add_row(
            row.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            _actor(row),
            str(row.partner_id or ""),
            row.action,
            f"{row.record_type} {row.record_id or ''}".strip(),
            ", ".join(row.fields or ()),
        )
    out.print(view)


def _since(text: str, now: datetime) -> datetime:
    text = text.strip()
    match = _RELATIVE.fullmatch(text)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give an ISO 8601 time (2026-11-23T09:00) or an age (30m, 24h, 7d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)


def _partner_id(conn: Any, model: Any, given: str) -> uuid.UUID:
    from sqlalchemy import select

    table = model.__table__
    found = conn.scalar(select(table.c.id).where(table.c.name == given))
    if found is None:
        try:
            found = conn.scalar(select(table.c.id).where(table.c.id == uuid.UUID(given)))
        except ValueError:
            found = None
    if found is None:
        _fail(f"no partner named or numbered {given!r}")
    return found


def _client_id(conn: Any, model: Any, given: str) -> str:
    from sqlalchemy import or_, select

    table = model.__table__
    found = conn.execute(
        select(table.c.client_id).where(or_(table.c.client_id == given, table.c.name == given))
    ).scalars().all()
    if not found:
        _fail(f"no client with the id or name {given!r}")
    if len(found) > 1:
        _fail(f"{len(found)} clients are named {given!r}; give the client id")
    return found[0]


def _actor(row: Any) -> str:
    if row.user_id is not None:
        return f"user {row.user_id} via {row.client_id}"
    if row.client_id is not None:
        return f"client {row.client_id}"
    return row.actor_kind.lower() if isinstance(row.actor_kind, str) else str(row.actor_kind)


def _jsonable(row: Any) -> dict[str, Any]:
    out = {}
    for key, value in row._mapping.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID):
            value = str(value)
        elif hasattr(value, "value"):
            value = value.value
        out[key] = value
    return out


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)
