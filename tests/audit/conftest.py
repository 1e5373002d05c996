"""Audit fixtures: the API of tests/api (seeded database, each backend) and readers of the log."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from hub.auth.secrets import token_digest
from hub.models import AuditEvent, OAuthToken
from tests.api.conftest import Api, app, as_scopes, http, internal, seeded  # noqa: F401

READ_ALL = "customers:read customers:read_pii orders:read interactions:read"


def events(sync_engine, **where: Any) -> list[Any]:
    """Audit events with these column values, oldest first."""
    table = AuditEvent.__table__
    with sync_engine.connect() as conn:
        return conn.execute(
            select(table)
            .where(*(table.c[k] == v for k, v in where.items()))
            .order_by(table.c.occurred_at, table.c.id)
        ).all()


def client_of(sync_engine, token: str) -> str:
    with sync_engine.connect() as conn:
        return conn.execute(
            select(OAuthToken.client_id).where(OAuthToken.access_token_hash == token_digest(token))
        ).scalar_one()


@pytest.fixture
def caller(http, mint_token, sync_engine):  # noqa: F811 - the fixture imported above
    """A new internal client with these scopes: (Api, its client id)."""

    def make(scopes: str = READ_ALL, **client_args: Any) -> tuple[Api, str]:
        token = mint_token(scopes, **client_args)
        return Api(http, token), client_of(sync_engine, token)

    return make


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
