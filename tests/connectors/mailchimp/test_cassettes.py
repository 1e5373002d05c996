"""The cassettes hold no credential: not the key, not an Authorization header."""

from __future__ import annotations

import base64

import yaml

from tests.connectors.mailchimp.conftest import API_KEY, CASSETTES


def test_no_api_key_in_any_cassette():
    basic = base64.b64encode(f"crmhub:{API_KEY}".encode()).decode()
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) == 11
    for path in files:
        text = path.read_text()
        for secret in (API_KEY, API_KEY.split("-")[0], basic, "Authorization", "Basic "):
            assert secret not in text, f"{path.name} holds {secret[:12]}…"
        for interaction in yaml.safe_load(text)["interactions"]:
            assert interaction["request"]["headers"] == {}
