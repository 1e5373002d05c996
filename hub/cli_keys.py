"""`crmhub keys …`: the keys that sign JWT access tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

keys_app = typer.Typer(help="Keys that sign JWT access tokens.", no_args_is_help=True)

out = Console()


@keys_app.callback()
def keys() -> None:
    """Keys that sign JWT access tokens."""


@keys_app.command("rotate")
def keys_rotate(
    alg: Annotated[
        str | None, typer.Option(help="RS256 or Ed25519; default: settings `auth.signing_alg`.")
    ] = None,
) -> None:
    """Sign with a new key from now on; older keys verify until their tokens expire, then go."""
    from hub.auth.keys import ALGORITHMS, rotate
    from hub.db import create_sync_engine, sync_session_factory
    from hub.settings import get_settings

    if alg is not None and alg not in ALGORITHMS:
        raise typer.BadParameter(f"use one of {', '.join(ALGORITHMS)}", param_hint="--alg")
    settings = get_settings()
    engine = create_sync_engine(settings)
    try:
        with sync_session_factory(engine).begin() as session:
            rotation = rotate(session, settings, alg)
    finally:
        engine.dispose()
    out.print(f"signing with {rotation.new_kid}")
    for kid in rotation.retired:
        out.print(f"retired {kid}: verifies until its tokens expire")
    for kid in rotation.deleted:
        out.print(f"deleted {kid}: its tokens have all expired")


@keys_app.command("list")
def keys_list() -> None:
    """Every stored key: which one signs, and until when retired ones verify."""
    from sqlalchemy import select

    from hub.auth.keys import current_key
    from hub.db import create_sync_engine, sync_session_factory
    from hub.models.access import SigningKey

    engine = create_sync_engine()
    try:
        with sync_session_factory(engine)() as session:
            current = current_key(session)
            rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())).all()
    finally:
        engine.dispose()
    table = Table("kid", "alg", "created", "state")
    for row in rows:
        if current is not None and row.kid == current.kid:
            status = "signing"
        elif row.retired_at is None:
            status = "not signing (a newer key is current)"
        else:
            status = f"verifies until {row.expires_at:%Y-%m-%d %H:%M} UTC"
        table.add_row(row.kid, row.alg, f"{row.created_at:%Y-%m-%d %H:%M}", status)
    out.print(table)
