"""With ``redis_url`` set, revoked JWT ids are listed in Redis and the bearer check asks Redis."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator

import pytest
import requests
from authlib.integrations.requests_client import OAuthError
from sqlalchemy import update

from hub.auth.revocation import redis_key
from hub.models.access import OAuthToken
from tests.auth.conftest import BACKENDS, LiveHub, empty_database, running_hub

REDIS_URL = os.environ.get("CRMHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"no Redis server at {REDIS_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(scope="module", params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path_factory, redis_client) -> Iterator[LiveHub]:
    with (
        empty_database(request, request.param) as url,
        running_hub(tmp_path_factory, url, redis_url=REDIS_URL) as hub,
    ):
        yield hub


def jti_of(token: str) -> str:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["jti"]


def test_revocation_is_listed_in_redis_and_enforced_from_there(hub: LiveHub, redis_client) -> None:
    machine = hub.register_app(redirect_uris=())
    with hub.oauth(machine) as oauth:
        token = oauth.fetch_token(hub.token_url, grant_type="client_credentials")
    access = token["access_token"]
    assert hub.api_status(access) == 200

    revoked = requests.post(
        hub.url("/oauth/revoke"), data={"token": access}, auth=(machine.client_id, machine.secret)
    )

    assert revoked.status_code == 200
    key = redis_key(jti_of(access))
    assert redis_client.exists(key)
    # Listed until the token would have expired anyway.
    assert 0 < redis_client.ttl(key) <= token["expires_in"] + 1
    assert hub.api_status(access) == 401
    # Redis is what the check reads: the database row alone no longer decides.
    with hub.sessions.begin() as session:
        session.execute(
            update(OAuthToken).where(OAuthToken.jti == jti_of(access)).values(revoked_at=None)
        )
    assert hub.api_status(access) == 401


def test_an_id_listed_in_redis_is_refused(hub: LiveHub, redis_client) -> None:
    machine = hub.register_app(redirect_uris=())
    with hub.oauth(machine) as oauth:
        access = oauth.fetch_token(hub.token_url, grant_type="client_credentials")["access_token"]
    assert hub.api_status(access) == 200

    redis_client.set(redis_key(jti_of(access)), b"1", exat=int(time.time()) + 60)

    assert hub.api_status(access) == 401


def test_refresh_reuse_lists_the_whole_family(hub: LiveHub, redis_client) -> None:
    web_app = hub.register_app()
    person = hub.add_person()
    first = hub.tokens(web_app, person)
    second = hub.refresh(web_app, first["refresh_token"])

    with pytest.raises(OAuthError):
        hub.refresh(web_app, first["refresh_token"])

    assert redis_client.exists(redis_key(jti_of(first["access_token"])))
    assert redis_client.exists(redis_key(jti_of(second["access_token"])))
    assert hub.api_status(second["access_token"]) == 401
