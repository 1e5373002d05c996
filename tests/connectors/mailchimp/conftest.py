"""Mailchimp replayed from cassettes made of recorded responses (see cassettes/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml

from connectors.mailchimp import MailchimpConnector

CASSETTES = Path(__file__).parent / "cassettes"
# A made-up key in Mailchimp's shape: 32 hex digits, then the data centre of the recordings.
API_KEY = "8f14e45fceea167a5a36dedd4bea2543-us3"

replay = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    filter_headers=["Authorization"],
    match_on=["method", "scheme", "host", "port", "path", "query", "body"],
)


def recorded_body(cassette: str, index: int = 0) -> Any:
    """The JSON body of one recorded response, for mapping tests."""
    interactions = yaml.safe_load((CASSETTES / f"{cassette}.yaml").read_text())["interactions"]
    return json.loads(interactions[index]["response"]["body"]["string"])


@pytest.fixture
def connector() -> MailchimpConnector:
    return MailchimpConnector()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def session(connector, sleeps):
    with connector.session({}, {"api_key": API_KEY}, sleep=sleeps.append) as session:
        yield session
