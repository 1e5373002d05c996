"""Signing keys: sealed at rest, rotated without breaking tokens in flight, dropped once useless."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from hub.auth.keys import CLOCK_SKEW, rotate
from hub.models.access import SigningKey
from hub.models.base import utcnow
from tests.auth.conftest import BACKENDS, App, LiveHub, empty_database, running_hub


@pytest.fixture(scope="module", params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[LiveHub]:
    # A hub of its own: these tests retire and expire keys.
    with (
        empty_database(request, request.param) as url,
        running_hub(tmp_path_factory, url, auth={"access_token_ttl_seconds": 600}) as hub,
    ):
        yield hub


@pytest.fixture(scope="module")
def machine(hub: LiveHub) -> App:
    return hub.register_app(redirect_uris=())


def token_for(hub: LiveHub, machine: App) -> str:
    with hub.oauth(machine) as oauth:
        return oauth.fetch_token(hub.token_url, grant_type="client_credentials")["access_token"]


def kid_of(token: str) -> str:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["kid"]


def published(hub: LiveHub) -> set[str]:
    return {key["kid"] for key in requests.get(hub.url("/oauth/jwks.json")).json()["keys"]}


def test_the_first_token_makes_the_first_key_sealed_at_rest(hub: LiveHub, machine: App) -> None:
    token = token_for(hub, machine)

    with hub.sessions() as session:
        [row] = session.scalars(select(SigningKey)).all()
    assert row.kid == kid_of(token) and row.retired_at is None and row.expires_at is None
    assert b"PRIVATE KEY" not in row.private_key_encrypted
    pem = Fernet(hub.settings.secret_keys[0]).decrypt(row.private_key_encrypted)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert "d" not in row.public_jwk
    assert published(hub) == {row.kid}


def test_rotation_keeps_old_tokens_valid_until_they_expire(hub: LiveHub, machine: App) -> None:
    old_token = token_for(hub, machine)
    old_kid = kid_of(old_token)

    with hub.sessions.begin() as session:
        rotation = rotate(session, hub.settings)
    new_token = token_for(hub, machine)

    assert rotation.retired == [old_kid]
    assert kid_of(new_token) == rotation.new_kid != old_kid
    assert hub.api_status(old_token) == 200
    assert hub.api_status(new_token) == 200
    assert published(hub) == {old_kid, rotation.new_kid}
    with hub.sessions() as session:
        retired = session.get(SigningKey, old_kid)
    # The retired key outlives every token it signed.
    assert retired.expires_at >= utcnow() + timedelta(seconds=600) + CLOCK_SKEW - timedelta(
        seconds=5
    )

    # Later: every token of the old key has expired, and so has the key.
    with hub.sessions.begin() as session:
        session.execute(
            update(SigningKey)
            .where(SigningKey.kid == old_kid)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert hub.api_status(old_token) == 401
    assert hub.api_status(new_token) == 200
    assert published(hub) == {rotation.new_kid}

    with hub.sessions.begin() as session:
        again = rotate(session, hub.settings, alg="Ed25519")
    assert again.deleted == [old_kid]
    assert again.retired == [rotation.new_kid]
    ed_token = token_for(hub, machine)
    assert kid_of(ed_token) == again.new_kid
    assert hub.api_status(ed_token) == 200
    assert hub.api_status(new_token) == 200
