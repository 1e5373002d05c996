"""Plugins by entry point, and `crmhub connectors list`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from connectors.base import Connector, UnknownConnector, discover, get_connector
from connectors.example import ExampleConnector
from hub.cli_connectors import connectors_app


def test_the_example_connector_is_installed():
    assert discover()["example"] is ExampleConnector
    assert get_connector("example") is ExampleConnector
    assert issubclass(ExampleConnector, Connector)
    with pytest.raises(UnknownConnector):
        get_connector("no-such-platform")


def test_connectors_list_as_json():
    result = CliRunner().invoke(connectors_app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    example = next(c for c in json.loads(result.output) if c["name"] == "example")
    assert [s["name"] for s in example["streams"]] == ["contacts", "notes"]
    assert example["streams"][0]["cursor_field"] == "updated_at"
    assert example["config_schema"]["properties"]["api_url"]["type"] == "string"
    assert example["credentials_schema"]["required"] == ["api_key"]
    assert example["write_actions"] == ["add_note"]


def test_connectors_list_as_a_table():
    result = CliRunner().invoke(connectors_app, ["list"])
    assert result.exit_code == 0, result.output
    assert "example" in result.output and "contacts" in result.output
