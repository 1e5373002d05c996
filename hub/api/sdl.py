"""The schema as SDL, the form committed in graphql/schema.graphql."""

from __future__ import annotations

from graphql import print_schema


def schema_sdl() -> str:
    from hub.api.schema import schema

    return print_schema(schema.graphql_schema) + "\n"
