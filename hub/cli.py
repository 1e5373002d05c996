"""The `crmhub` command."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.cli_audit import audit_app
from hub.cli_connectors import connectors_app
from hub.cli_identity import identity_app
from hub.cli_jobs import connections_app, scheduler, sync, worker
from hub.cli_keys import keys_app
from hub.cli_partners import grants_app, partners_app
from hub.cli_users import users_app
from hub.settings import PROJECT_ROOT, get_settings

app = typer.Typer(help="crmhub: one customer model, one GraphQL endpoint.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data for trying crmhub out.", no_args_is_help=True)
clients_app = typer.Typer(help="OAuth 2 clients.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(clients_app, name="clients")
app.add_typer(schema_app, name="schema")
app.add_typer(connectors_app, name="connectors")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(partners_app, name="partners")
app.add_typer(grants_app, name="grants")
app.add_typer(connections_app, name="connections")
app.add_typer(identity_app, name="identity")

out = Console()
err = Console(stderr=True)

DEMO_SCOPES = (
    "customers:read customers:read_pii orders:read interactions:read cases:read feedback:read"
)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply database migrations (creates the database on SQLite)."""
    from hub.db import create_sync_engine
    from hub.migrate import pending, upgrade

    engine = create_sync_engine()
    todo = pending(engine)
    upgrade(engine)
    engine.dispose()
    out.print(f"database is up to date ({len(todo)} migration(s) applied)")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: settings `host`.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: settings `port`.")] = None,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve the API (GraphQL at /graphql, OAuth at /oauth/token)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "hub.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        # Access lines carry query strings, and some webhook URLs carry their secret there.
        access_log=False,
        proxy_headers=True,
    )


@demo_app.command("seed")
def demo_seed(
    customers: Annotated[
        int | None, typer.Option(min=0, help="How many customers (default: [demo] customers).")
    ] = None,
    if_empty: Annotated[bool, typer.Option(help="Do nothing when data exists.")] = False,
) -> None:
    """Fill the database with deterministic, realistic demo data."""
    from hub.db import create_sync_engine
    from hub.demo import has_data, seed

    engine = create_sync_engine()
    if has_data(engine):
        if if_empty:
            out.print("database already has customers; demo data not added")
            return
        fail("the database already has customers; seed an empty database")
    customers = get_settings().demo.customers if customers is None else customers
    with _progress() as progress:
        task = progress.add_task("seeding customers", total=customers)
        summary = seed(engine, customers, progress=lambda n: progress.advance(task, n))
    engine.dispose()
    out.print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in vars(summary).items()))


@demo_app.command("token")
def demo_token(
    ttl_hours: Annotated[int, typer.Option(min=1, help="Hours the token lives.")] = 12,
) -> None:
    """Print a bearer token of the internal demo client, for GraphiQL or curl."""
    from sqlalchemy import select

    from hub.auth.clients import create_client
    from hub.auth.secrets import new_token, token_digest
    from hub.db import create_sync_engine, sync_session_factory
    from hub.models import OAuthClient, OAuthToken, utcnow
    from hub.models.enums import ClientKind

    settings = get_settings()
    engine = create_sync_engine()
    with sync_session_factory(engine).begin() as session:
        client = session.scalar(
            select(OAuthClient).where(OAuthClient.name == settings.demo.client_name)
        )
        if client is None:
            client, _secret = create_client(
                session, name=settings.demo.client_name, kind=ClientKind.INTERNAL, scopes=DEMO_SCOPES
            )
        token = new_token()
        session.add(
            OAuthToken(
                access_token_hash=token_digest(token),
                client_id=client.client_id,
                scope=client.scope,
                expires_at=utcnow() + timedelta(hours=ttl_hours),
            )
        )
    engine.dispose()
    out.print(f"GraphiQL: http://{settings.host}:{settings.port}/graphql")
    out.print("Headers tab: ", end="")
    print(json.dumps({"Authorization": f"Bearer {token}"}))


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="A name people recognise.")],
    scopes: Annotated[str, typer.Option(help='Space-separated, e.g. "customers:read orders:read".')],
    internal: Annotated[bool, typer.Option("--internal", help="A client of our own apps.")] = False,
    partner: Annotated[
        str | None,
        typer.Option("--partner", help="A client acting for this partner (its name); sees what grants share."),
    ] = None,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--redirect-uri", help="For the authorization-code flow; exact match, repeatable."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Create an OAuth client (--internal or --partner NAME); its secret is shown once and stored only as a hash."""
    from hub.access.scopes import UnknownScopeError
    from hub.access.sharing import SharingError, partner_by_name, partner_client_scopes
    from hub.auth.clients import create_client
    from hub.db import create_sync_engine, sync_session_factory
    from hub.models.enums import ClientKind

    if internal == (partner is not None):
        fail("give either --internal or --partner NAME")
    engine = create_sync_engine()
    try:
        with sync_session_factory(engine).begin() as session:
            partner_id = None
            if partner is not None:
                partner_id = partner_by_name(session.connection(), partner)
                scopes = partner_client_scopes(scopes)
            client, secret = create_client(
                session,
                name=name,
                kind=ClientKind.INTERNAL if internal else ClientKind.PARTNER,
                scopes=scopes,
                partner_id=partner_id,
                redirect_uris=tuple(redirect_uri or ()),
            )
            client_id = client.client_id
    except SharingError as error:
        fail(error.message)
    except (UnknownScopeError, ValueError) as error:
        fail(str(error))
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        out.print(f"client_id:     {client_id}")
        out.print(f"client_secret: {secret}  (shown once)")


@schema_app.command("export")
def schema_export(
    path: Annotated[Path, typer.Argument(help="Where to write the SDL; - for stdout.")] = (
        PROJECT_ROOT / "graphql" / "schema.graphql"
    ),
) -> None:
    """Write the GraphQL schema (SDL) of this version of crmhub."""
    from hub.api.sdl import schema_sdl

    sdl = schema_sdl()
    if str(path) == "-":
        sys.stdout.write(sdl)
        return
    path.write_text(sdl)
    out.print(f"wrote {path}")


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


app.command()(sync)
app.command()(worker)
app.command()(scheduler)


def main() -> None:
    app()
