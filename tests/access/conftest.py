"""Partners, grants and partner tokens on the shared seeded database (both backends).

Every test makes its own partners (unique names) and grants, so tests never see
each other's sharing; the demo customers are shared by all and left as they are,
except for consent rows a test adds and removes itself. The API fixtures are those
of tests/api (the same app on the same seeded database).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from hub.access.segments import parse_cli, parse_rule
from hub.access.sharing import GrantRequest, create_grant, create_partner, revoke_grant
from hub.api.core.ids import to_global_id
from hub.models import Consent, Customer, Partner, SharingGrant, new_id, utcnow
from hub.models.enums import (
    ClientKind,
    ConsentPurpose,
    ConsentStatus,
    CustomerStatus,
    PartnerKind,
)
from tests.api.conftest import Api, app, as_scopes, http, internal, seeded  # noqa: F401

READ_ALL = (
    "customers:read customers:read_pii orders:read interactions:read cases:read feedback:read"
)


@dataclass
class Sharing:
    """Makes partners, grants, consents and partner API clients for one test."""

    engine: Any
    http: Any
    mint_token: Any

    def partner(self, kind: PartnerKind = PartnerKind.SUPPLIER) -> uuid.UUID:
        with self.engine.begin() as conn:
            return create_partner(conn, f"partner-{uuid.uuid4().hex[:10]}", kind)

    def grant(
        self,
        partner_id: uuid.UUID,
        scopes: str = READ_ALL,
        *,
        customers: Iterable[uuid.UUID] | None = None,
        segment: str | dict | None = None,
        expires_at: datetime | None = None,
    ) -> uuid.UUID:
        """A grant; an ``expires_at`` in the past is written after creation (the API refuses it)."""
        rule = None
        if segment is not None:
            rule = parse_cli(segment) if isinstance(segment, str) else parse_rule(segment)
        past = expires_at is not None and expires_at <= utcnow()
        with self.engine.begin() as conn:
            grant_id = create_grant(
                conn,
                GrantRequest(
                    partner_id=partner_id,
                    scopes=scopes,
                    customer_ids=list(customers) if customers is not None else None,
                    segment=rule,
                    expires_at=None if past else expires_at,
                ),
            )
            if past:
                conn.execute(
                    update(SharingGrant)
                    .where(SharingGrant.id == grant_id)
                    .values(expires_at=expires_at)
                )
        return grant_id

    def revoke(self, grant_id: uuid.UUID) -> None:
        with self.engine.begin() as conn:
            revoke_grant(conn, grant_id)

    def api(self, partner_id: uuid.UUID, scopes: str = READ_ALL) -> Api:
        return Api(
            self.http, self.mint_token(scopes, kind=ClientKind.PARTNER, partner_id=partner_id)
        )

    def consent(
        self, customer_id: uuid.UUID, status: ConsentStatus, at: datetime | None = None
    ) -> uuid.UUID:
        """Record a PARTNER_SHARING decision, newer than any so far unless ``at`` says otherwise."""
        consent_id = new_id()
        with self.engine.begin() as conn:
            conn.execute(
                Consent.__table__.insert().values(
                    id=consent_id,
                    customer_id=customer_id,
                    purpose=ConsentPurpose.PARTNER_SHARING,
                    status=status,
                    source="test",
                    recorded_at=at or utcnow() + timedelta(days=3650),
                    evidence={},
                )
            )
        self.consents.append(consent_id)
        return consent_id

    def forget_consents(self) -> None:
        if self.consents:
            with self.engine.begin() as conn:
                conn.execute(delete(Consent).where(Consent.id.in_(self.consents)))
            self.consents.clear()

    def drop_partners(self, ids: Iterable[uuid.UUID]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(Partner).where(Partner.id.in_(list(ids))))

    def __post_init__(self) -> None:
        self.consents: list[uuid.UUID] = []


@pytest.fixture
def sharing(sync_engine, http, mint_token, seeded) -> Iterator[Sharing]:  # noqa: F811
    helper = Sharing(sync_engine, http, mint_token)
    yield helper
    helper.forget_consents()


def shareable_customers(engine: Any) -> list[uuid.UUID]:
    """Active customers whose newest PARTNER_SHARING decision (if any) is not a withdrawal, by id."""
    newest: dict[uuid.UUID, tuple[Any, ConsentStatus]] = {}
    with engine.connect() as conn:
        for cid, status, at, id_ in conn.execute(
            select(Consent.customer_id, Consent.status, Consent.recorded_at, Consent.id).where(
                Consent.purpose == ConsentPurpose.PARTNER_SHARING
            )
        ):
            if cid not in newest or (at, id_) > newest[cid][0]:
                newest[cid] = ((at, id_), status)
        active = conn.execute(
            select(Customer.id)
            .where(Customer.status == CustomerStatus.ACTIVE)
            .order_by(Customer.id)
        ).scalars()
        return [c for c in active if newest.get(c, (None, None))[1] != ConsentStatus.WITHDRAWN]


def gid(type_name: str, id_: uuid.UUID) -> str:
    return to_global_id(type_name, id_)


def one(engine: Any, statement: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(statement).first()


def column(engine: Any, statement: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(statement).scalars())
