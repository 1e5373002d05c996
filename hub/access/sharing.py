"""Partners and their sharing grants: creating, revoking, and loading the ones in force.

The command line and the GraphQL mutations share these functions: they take a
synchronous SQLAlchemy ``Connection`` (an ``AsyncConnection`` runs them with
``run_sync``) and raise ``SharingError`` with a code, the input at fault and a
message for anything a caller can fix.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.principal import ActiveGrant, Principal
from hub.access.scopes import Scope, UnknownScopeError, parse_scopes
from hub.access.segments import Rule, canonical, to_json
from hub.models import Customer, Partner, SharingGrant, SharingGrantCustomer, new_id, utcnow
from hub.models.enums import PartnerKind

# What a grant can share: everything a partner can be allowed to do with one customer.
GRANTABLE: frozenset[str] = frozenset(
    s.value
    for s in (
        Scope.CUSTOMERS_READ,
        Scope.CUSTOMERS_READ_PII,
        Scope.CUSTOMERS_WRITE,
        Scope.ORDERS_READ,
        Scope.INTERACTIONS_READ,
        Scope.CASES_READ,
        Scope.CASES_WRITE,
        Scope.FEEDBACK_READ,
        Scope.FEEDBACK_WRITE,
    )
)
# Scopes over the whole hub rather than over shared customers: never a partner's.
INTERNAL_ONLY: frozenset[str] = frozenset(
    s.value for s in (Scope.PARTNERS_ADMIN, Scope.CONNECTIONS_ADMIN, Scope.PRIVACY_ADMIN,
                      Scope.CUSTOMERS_MERGE)
)
MAX_GRANT_CUSTOMERS = 10_000
MAX_NAME = 200


class SharingErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"


class SharingError(ValueError):
    def __init__(self, code: SharingErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# -- the grants of a request --------------------------------------------------------------------


def grants_in_force(partner_id: Any, now: Any) -> tuple[Any, Any, list[Any]]:
    """What to outer-join to a partner's client for its grants in force: the table, the
    condition, and the columns ``with_grant_rows`` reads (the token lookup selects them, so
    that a partner's request costs no extra statement)."""
    grants = SharingGrant.__table__
    condition = and_(
        grants.c.partner_id == partner_id,
        grants.c.revoked_at.is_(None),
        or_(grants.c.expires_at.is_(None), grants.c.expires_at > now),
    )
    columns = [
        grants.c.id.label("grant_id"),
        grants.c.scope.label("grant_scope"),
        grants.c.segment.label("grant_segment"),
    ]
    return grants, condition, columns


def with_grant_rows(principal: Principal, rows: Iterable[Any]) -> Principal:
    """The principal with the grants of these rows (``grants_in_force`` columns; null ones are
    none), scopes narrowed to the token's. Internal principals come back unchanged; a
    partner's also loses the hub-wide admin scopes, whatever its client was given."""
    if not principal.is_partner:
        return principal
    scopes = principal.scopes - INTERNAL_ONLY
    active = []
    if principal.partner_id is not None:
        for row in sorted((r for r in rows if r.grant_id is not None), key=lambda r: r.grant_id):
            held = frozenset(row.grant_scope.split()) & scopes
            if held:
                segment = canonical(row.grant_segment) if row.grant_segment is not None else None
                active.append(ActiveGrant(row.grant_id, held, segment))
    return replace(principal, scopes=scopes, grants=tuple(active))


async def with_grants(conn: AsyncConnection, principal: Principal) -> Principal:
    """The principal with its partner's grants in force now (one statement): ``with_grant_rows``."""
    if not principal.is_partner or principal.partner_id is None:
        return with_grant_rows(principal, ())
    rows = await conn.execute(_IN_FORCE, {"partner_id": principal.partner_id, "now": utcnow()})
    return with_grant_rows(principal, rows)


def _in_force_statement() -> Any:
    partner_id = bindparam("partner_id", type_=SharingGrant.__table__.c.partner_id.type)
    now = bindparam("now", type_=SharingGrant.__table__.c.expires_at.type)
    _, condition, columns = grants_in_force(partner_id, now)
    return select(*columns).where(condition)


# Built once: it runs on every request of a partner whose token did not bring its grants.
_IN_FORCE = _in_force_statement()


# -- partners -----------------------------------------------------------------------------------


def create_partner(conn: Connection, name: str, kind: PartnerKind | str) -> uuid.UUID:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise SharingError(
            SharingErrorCode.INVALID, f"A partner's name is 1 to {MAX_NAME} characters.", "name"
        )
    try:
        kind = PartnerKind(getattr(kind, "value", kind))
    except ValueError:
        raise SharingError(
            SharingErrorCode.INVALID,
            f"{kind!r} is not a partner kind; one of {', '.join(PartnerKind)}.",
            "kind",
        ) from None
    partners = Partner.__table__
    if conn.scalar(select(partners.c.id).where(partners.c.name == name)) is not None:
        raise SharingError(SharingErrorCode.DUPLICATE, f"A partner named {name!r} exists.", "name")
    partner_id = new_id()
    conn.execute(insert(partners).values(id=partner_id, name=name, kind=kind, created_at=utcnow()))
    return partner_id


def partner_by_name(conn: Connection, name: str) -> uuid.UUID:
    found = conn.scalar(
        select(Partner.__table__.c.id).where(Partner.__table__.c.name == name.strip())
    )
    if found is None:
        raise SharingError(SharingErrorCode.NOT_FOUND, f"No partner named {name!r}.", "partner")
    return found


def require_partner(conn: Connection, partner_id: uuid.UUID) -> None:
    partners = Partner.__table__
    if conn.scalar(select(partners.c.id).where(partners.c.id == partner_id)) is None:
        raise SharingError(SharingErrorCode.NOT_FOUND, "No such partner.", "partner")


def partner_client_scopes(text: str) -> str:
    """Check the scopes of a new partner client; returns them, or raises SharingError."""
    try:
        scopes = parse_scopes(text)
    except UnknownScopeError as error:
        raise SharingError(SharingErrorCode.INVALID, str(error), "scopes") from None
    refused = sorted(scopes & INTERNAL_ONLY)
    if refused:
        raise SharingError(
            SharingErrorCode.INVALID,
            f"{', '.join(refused)} cannot be given to a partner's client.",
            "scopes",
        )
    return " ".join(sorted(scopes))


# -- grants -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRequest:
    partner_id: uuid.UUID
    scopes: str
    customer_ids: Sequence[uuid.UUID] | None = None
    segment: Rule | None = None
    expires_at: datetime | None = None


def grant_scopes(text: str | Iterable[str]) -> frozenset[str]:
    try:
        scopes = parse_scopes(text if isinstance(text, str) else " ".join(text))
    except UnknownScopeError as error:
        raise SharingError(SharingErrorCode.INVALID, str(error), "scopes") from None
    if not scopes:
        raise SharingError(SharingErrorCode.INVALID, "A grant needs scopes.", "scopes")
    other = sorted(scopes - GRANTABLE)
    if other:
        raise SharingError(
            SharingErrorCode.INVALID,
            f"{', '.join(other)} cannot be granted per customer; grantable: "
            f"{', '.join(sorted(GRANTABLE))}.",
            "scopes",
        )
    if Scope.CUSTOMERS_READ not in scopes:
        raise SharingError(
            SharingErrorCode.INVALID,
            "A grant shares customers: its scopes must include customers:read.",
            "scopes",
        )
    return scopes


def create_grant(conn: Connection, request: GrantRequest) -> uuid.UUID:
    """Add a sharing grant after checking every input; returns its id."""
    scopes = grant_scopes(request.scopes)
    if (request.customer_ids is None) == (request.segment is None):
        raise SharingError(
            SharingErrorCode.INVALID,
            "Give either customers or a segment rule (exactly one of the two).",
            "customers",
        )
    now = utcnow()
    if request.expires_at is not None:
        if request.expires_at.tzinfo is None:
            raise SharingError(
                SharingErrorCode.INVALID, "The expiry needs a time zone.", "expiresAt"
            )
        if request.expires_at <= now:
            raise SharingError(SharingErrorCode.INVALID, "The expiry is in the past.", "expiresAt")
    require_partner(conn, request.partner_id)
    customer_ids: list[uuid.UUID] = []
    if request.customer_ids is not None:
        customer_ids = list(dict.fromkeys(request.customer_ids))
        if not customer_ids:
            raise SharingError(
                SharingErrorCode.INVALID, "The list of customers is empty.", "customers"
            )
        if len(customer_ids) > MAX_GRANT_CUSTOMERS:
            raise SharingError(
                SharingErrorCode.INVALID,
                f"A grant lists at most {MAX_GRANT_CUSTOMERS} customers; use a segment rule.",
                "customers",
            )
        customers = Customer.__table__
        known: set[uuid.UUID] = set()
        for start in range(0, len(customer_ids), 500):
            chunk = customer_ids[start : start + 500]
            known |= set(conn.scalars(select(customers.c.id).where(customers.c.id.in_(chunk))))
        unknown = [c for c in customer_ids if c not in known]
        if unknown:
            shown = ", ".join(str(c) for c in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise SharingError(
                SharingErrorCode.NOT_FOUND, f"No such customer(s): {shown}{more}.", "customers"
            )
    grant_id = new_id()
    conn.execute(
        insert(SharingGrant.__table__).values(
            id=grant_id,
            partner_id=request.partner_id,
            segment=to_json(request.segment) if request.segment is not None else None,
            scope=" ".join(sorted(scopes)),
            expires_at=request.expires_at,
            created_at=now,
            revoked_at=None,
        )
    )
    if customer_ids:
        conn.execute(
            insert(SharingGrantCustomer.__table__),
            [{"grant_id": grant_id, "customer_id": c} for c in customer_ids],
        )
    return grant_id


def revoke_grant(conn: Connection, grant_id: uuid.UUID) -> datetime:
    """Revoke a grant from now on; revoking it again keeps the first revocation. Returns when."""
    grants = SharingGrant.__table__
    row = conn.execute(select(grants.c.revoked_at).where(grants.c.id == grant_id)).first()
    if row is None:
        raise SharingError(SharingErrorCode.NOT_FOUND, "No such grant.", "id")
    if row.revoked_at is not None:
        return row.revoked_at
    now = utcnow()
    conn.execute(update(grants).where(grants.c.id == grant_id).values(revoked_at=now))
    return now


def grant_state(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    if revoked_at is not None:
        return "REVOKED"
    if expires_at is not None and expires_at <= now:
        return "EXPIRED"
    return "ACTIVE"
