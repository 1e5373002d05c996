"""`crmhub users …`: the people who sign in to authorize applications."""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer
from rich.console import Console

users_app = typer.Typer(help="People who sign in to authorize applications.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)


@users_app.callback()
def users() -> None:
    """People who sign in to authorize applications."""


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="What the user signs in with.")],
    name: Annotated[str, typer.Option(help="The user's name.")],
    partner: Annotated[
        str | None, typer.Option(help="The partner (name or id) the user works for; none: staff.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; the password is asked for (or read from stdin) and stored as an argon2 hash."""
    from sqlalchemy import select

    from hub.auth.users import create_user
    from hub.db import create_sync_engine, sync_session_factory
    from hub.models.access import Partner

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = create_sync_engine()
    try:
        with sync_session_factory(engine).begin() as session:
            partner_id = None
            if partner is not None:
                found = session.scalar(select(Partner).where(Partner.name == partner))
                if found is None:
                    try:
                        found = session.get(Partner, uuid.UUID(partner))
                    except ValueError:
                        found = None
                if found is None:
                    _fail(f"no partner named or numbered {partner!r}")
                partner_id = found.id
            user = create_user(
                session, email=email, name=name, password=password, partner_id=partner_id
            )
            user_id, stored_email = user.id, user.email
    except ValueError as error:  # includes UserExistsError
        _fail(str(error))
    finally:
        engine.dispose()
    out.print(f"user {stored_email} created (id {user_id})")


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)
