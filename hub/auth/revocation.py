"""Revoking tokens so that the very next request is refused.

The database is the record: a revoked token's row has ``revoked_at``, and the
bearer check of an opaque token or a JWT (by its ``jti``) reads that row. A hub
with ``redis_url`` also lists each revoked JWT id in Redis until the token
would have expired anyway, and the bearer check of a JWT asks Redis instead.
Redis is written before the database commits, so a failure leaves the token
refused rather than usable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from hub.models.access import OAuthToken
from hub.models.base import utcnow

REDIS_PREFIX = "crmhub:revoked-jti:"


def redis_key(jti: str) -> str:
    return REDIS_PREFIX + jti


class RevocationList:
    """Revokes token rows, and lists their JWT ids in Redis when the hub has one."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis: Any = None
        if redis_url:
            import redis

            self.redis = redis.Redis.from_url(redis_url)

    def revoke_family(self, session: Session, family_id: uuid.UUID) -> int:
        """Revoke every token of one authorization: its code's, and every refresh since."""
        return self._revoke(session, OAuthToken.family_id == family_id)

    def revoke_token(self, session: Session, token_id: uuid.UUID) -> int:
        return self._revoke(session, OAuthToken.id == token_id)

    def _revoke(self, session: Session, condition: ColumnElement[bool]) -> int:
        now = utcnow()
        rows = session.execute(
            select(OAuthToken.id, OAuthToken.jti, OAuthToken.expires_at).where(
                condition, OAuthToken.revoked_at.is_(None)
            )
        ).all()
        if not rows:
            return 0
        self._list_in_redis([(row.jti, row.expires_at) for row in rows if row.jti], now)
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.id.in_([row.id for row in rows]))
            .values(revoked_at=now)
        )
        return len(rows)

    def _list_in_redis(self, entries: list[tuple[str, datetime]], now: datetime) -> None:
        if self.redis is None:
            return
        with self.redis.pipeline(transaction=False) as pipe:
            for jti, expires_at in entries:
                if expires_at > now:
                    # Listed until the token expires; after that exp alone refuses it.
                    pipe.set(redis_key(jti), b"1", exat=int(expires_at.timestamp()) + 1)
            pipe.execute()
