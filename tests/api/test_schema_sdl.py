"""The committed SDL is the live schema: regenerate it with `crmhub schema export`."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, parse, validate
from hub.api.sdl import schema_sdl

GRAPHQL = Path(__file__).resolve().parents[2] / "graphql"


def test_committed_schema_matches_the_live_one():
    committed = (GRAPHQL / "schema.graphql").read_text()
    assert committed == schema_sdl(), "graphql/schema.graphql is stale: run `crmhub schema export`"


def test_named_operations_are_valid_against_the_committed_schema():
    schema = build_schema((GRAPHQL / "schema.graphql").read_text())
    operations = sorted((GRAPHQL / "operations").glob("*.graphql"))
    assert operations
    for path in operations:
        assert validate(schema, parse(path.read_text())) == [], path.name


def test_no_python_in_graphql_folder():
    assert not list(GRAPHQL.rglob("*.py"))
