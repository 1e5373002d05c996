"""`crmhub connectors …`: what connectors are installed and what each needs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

connectors_app = typer.Typer(help="Installed connectors.", no_args_is_help=True)

out = Console()


@connectors_app.callback()
def connectors() -> None:
    """Installed connectors."""


def _describe(name: str, connector: Any) -> dict[str, Any]:
    return {
        "name": name,
        "title": connector.title,
        "streams": [
            {
                "name": stream.name,
                "object_type": stream.object_type,
                "primary_key": stream.primary_key,
                "cursor_field": stream.cursor_field,
            }
            for stream in connector.streams
        ],
        "write_actions": [action.name for action in connector.write_actions],
        "config_schema": connector.config_schema(),
        "credentials_schema": connector.credentials_schema(),
    }


def _fields(schema: dict[str, Any] | None) -> str:
    if not schema:
        return "-"
    required = set(schema.get("required", ()))
    return (
        "\n".join(
            f"{field}: {spec.get('type', 'object')}{' (required)' if field in required else ''}"
            for field, spec in schema.get("properties", {}).items()
        )
        or "-"
    )


@connectors_app.command("list")
def list_connectors(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, with full schemas.")] = False,
) -> None:
    """Every installed connector: its streams and the configuration it takes."""
    from connectors.base.registry import discover

    described = [_describe(name, connector) for name, connector in discover().items()]
    if as_json:
        print(json.dumps(described, indent=2))
        return
    table = Table(title="Installed connectors")
    for column in ("Connector", "Title", "Streams", "Config", "Credentials", "Write actions"):
        table.add_column(column, overflow="fold")
    for item in described:
        streams = "\n".join(
            s["name"] + (f" (incremental by {s['cursor_field']})" if s["cursor_field"] else "")
            for s in item["streams"]
        )
        table.add_row(
            item["name"],
            item["title"],
            streams or "-",
            _fields(item["config_schema"]),
            _fields(item["credentials_schema"]),
            "\n".join(item["write_actions"]) or "-",
        )
    out.print(table)
