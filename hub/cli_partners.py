"""`crmhub partners …` and `crmhub grants …`: who we share customers with, and which customers."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.models.enums import PartnerKind

partners_app = typer.Typer(help="Partners we share customers with.", no_args_is_help=True)
grants_app = typer.Typer(
    help="Sharing grants: which customers a partner sees, with which scopes.", no_args_is_help=True
)

# Ids are printed whole, never wrapped: people copy them into other commands.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def _columns(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Aligned plain columns, never wrapped, so that ids can be copied whole."""
    cells = [headers, *[tuple(str(v) for v in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _engine() -> Any:
    from hub.db import create_sync_engine

    return create_sync_engine()


def _write(fn: Any, *args: Any) -> Any:
    """Run ``fn(connection, *args)`` in one transaction; a SharingError becomes a clean exit."""
    from hub.access.sharing import SharingError

    engine = _engine()
    try:
        with engine.begin() as conn:
            return fn(conn, *args)
    except SharingError as error:
        _fail(error.message)
    finally:
        engine.dispose()


def global_or_uuid(text: str, type_name: str) -> uuid.UUID:
    """A row id given as the API's global id or as a plain UUID."""
    from hub.api.core.errors import ApiError
    from hub.api.core.ids import from_global_id

    text = text.strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    try:
        kind, id_ = from_global_id(text)
    except ApiError:
        raise ValueError(f"{text!r} is neither a {type_name} id nor a UUID") from None
    if kind != type_name:
        raise ValueError(f"{text!r} is the id of a {kind}, not of a {type_name}")
    return id_


def parse_expiry(text: str) -> dt.datetime:
    """``YYYY-MM-DD`` (shared through that day, UTC) or ISO 8601 (UTC when without offset)."""
    text = text.strip()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (2027-01-31) or an ISO 8601 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# -- partners -----------------------------------------------------------------------------------


@partners_app.command("create")
def partners_create(
    name: Annotated[str, typer.Argument(help="Unique; what the other commands call it.")],
    kind: Annotated[PartnerKind, typer.Option(case_sensitive=False, help="What the partner does.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Add a partner. It sees nothing until a grant shares customers with it."""
    from hub.access.sharing import create_partner
    from hub.api.core.ids import to_global_id

    partner_id = _write(create_partner, name, kind)
    global_id = to_global_id("Partner", partner_id)
    if as_json:
        print(json.dumps({"id": global_id, "name": name.strip(), "kind": kind.value}))
    else:
        out.print(f"partner {name.strip()!r} ({kind.value}) created: {global_id}")


@partners_app.command("list")
def partners_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Every partner, with its active grants and clients."""
    from sqlalchemy import func, select

    from hub.api.core.ids import to_global_id
    from hub.models import OAuthClient, Partner, SharingGrant, utcnow

    now = utcnow()
    grants = (
        select(SharingGrant.partner_id, func.count().label("n"))
        .where(
            SharingGrant.revoked_at.is_(None),
            (SharingGrant.expires_at.is_(None)) | (SharingGrant.expires_at > now),
        )
        .group_by(SharingGrant.partner_id)
        .subquery()
    )
    clients = (
        select(OAuthClient.partner_id, func.count().label("n"))
        .where(OAuthClient.disabled_at.is_(None))
        .group_by(OAuthClient.partner_id)
        .subquery()
    )
    engine = _engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    Partner.id,
                    Partner.name,
                    Partner.kind,
                    Partner.created_at,
                    func.coalesce(grants.c.n, 0).label("grants"),
                    func.coalesce(clients.c.n, 0).label("clients"),
                )
                .outerjoin(grants, grants.c.partner_id == Partner.id)
                .outerjoin(clients, clients.c.partner_id == Partner.id)
                .order_by(Partner.name)
            ).all()
    finally:
        engine.dispose()
    listed = [
        {
            "id": to_global_id("Partner", r.id),
            "name": r.name,
            "kind": r.kind.value,
            "created_at": r.created_at.isoformat(),
            "active_grants": r.grants,
            "clients": r.clients,
        }
        for r in rows
    ]
    if as_json:
        print(json.dumps(listed))
        return
    if not listed:
        out.print("no partners yet: crmhub partners create NAME --kind SUPPLIER")
        return
    _columns(
        ("NAME", "KIND", "ACTIVE GRANTS", "CLIENTS", "CREATED", "ID"),
        [
            (p["name"], p["kind"], p["active_grants"], p["clients"], p["created_at"][:10], p["id"])
            for p in listed
        ],
    )


# -- grants -------------------------------------------------------------------------------------


@grants_app.command("create")
def grants_create(
    partner: Annotated[str, typer.Option(help="The partner's name.")],
    scopes: Annotated[
        str,
        typer.Option(
            help='Space-separated, must include customers:read, e.g. "customers:read orders:read".'
        ),
    ],
    customer: Annotated[
        list[str] | None,
        typer.Option("--customer", help="A customer (global id or UUID); repeatable."),
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option(
            help="A segment rule, e.g. "
            "tag=wholesale,lifecycle_stage=CUSTOMER|REPEAT_CUSTOMER,country=DE "
            "(or JSON); see docs/access.md."
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD (shared through that day, UTC) or an ISO 8601 timestamp."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Share customers with a partner: a list (--customer ...) or a segment rule (--segment)."""
    from hub.access.segments import SegmentError, describe, parse_cli
    from hub.access.sharing import GrantRequest, create_grant, partner_by_name
    from hub.api.core.ids import to_global_id

    if bool(customer) == (segment is not None):
        _fail("give either --customer (one or more) or --segment, not both")
    try:
        customer_ids = [global_or_uuid(c, "Customer") for c in customer] if customer else None
        rule = parse_cli(segment) if segment is not None else None
        expires_at = parse_expiry(expires) if expires is not None else None
    except SegmentError as error:
        _fail(f"--segment: {error}")
    except ValueError as error:
        _fail(str(error))

    def create(conn: Any) -> uuid.UUID:
        partner_id = partner_by_name(conn, partner)
        return create_grant(
            conn,
            GrantRequest(
                partner_id=partner_id,
                scopes=scopes,
                customer_ids=customer_ids,
                segment=rule,
                expires_at=expires_at,
            ),
        )

    grant_id = _write(create)
    global_id = to_global_id("SharingGrant", grant_id)
    covers = describe(rule) if rule is not None else f"{len(set(customer_ids or ()))} customer(s)"
    if as_json:
        print(json.dumps({"id": global_id, "partner": partner, "covers": covers}))
        return
    until = f" until {expires_at.isoformat()}" if expires_at else ""
    out.print(f"grant {global_id} shares {covers} with {partner!r}{until}")


@grants_app.command("list")
def grants_list(
    partner: Annotated[str | None, typer.Option(help="Only this partner's grants.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Sharing grants, active, expired and revoked, oldest first."""
    from sqlalchemy import func, select

    from hub.access.segments import describe, parse_rule
    from hub.access.sharing import SharingError, grant_state, partner_by_name
    from hub.api.core.ids import to_global_id
    from hub.models import Partner, SharingGrant, SharingGrantCustomer, utcnow

    listed = (
        select(SharingGrantCustomer.grant_id, func.count().label("n"))
        .group_by(SharingGrantCustomer.grant_id)
        .subquery()
    )
    query = (
        select(SharingGrant, Partner.name, listed.c.n)
        .join(Partner, Partner.id == SharingGrant.partner_id)
        .outerjoin(listed, listed.c.grant_id == SharingGrant.id)
        .order_by(SharingGrant.created_at, SharingGrant.id)
    )
    engine = _engine()
    try:
        with engine.connect() as conn:
            if partner is not None:
                try:
                    query = query.where(SharingGrant.partner_id == partner_by_name(conn, partner))
                except SharingError as error:
                    _fail(error.message)
            rows = conn.execute(query).all()
    finally:
        engine.dispose()
    now = utcnow()
    grants = [
        {
            "id": to_global_id("SharingGrant", r.id),
            "partner": r.name,
            "covers": describe(parse_rule(r.segment))
            if r.segment is not None
            else f"{r.n or 0} customer(s)",
            "scopes": r.scope,
            "state": grant_state(r.revoked_at, r.expires_at, now),
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]
    if as_json:
        print(json.dumps(grants))
        return
    if not grants:
        out.print("no grants")
        return
    _columns(
        ("ID", "PARTNER", "STATE", "EXPIRES", "SCOPES", "COVERS"),
        [
            (
                g["id"],
                g["partner"],
                g["state"],
                (g["expires_at"] or "never")[:16],
                g["scopes"],
                g["covers"],
            )
            for g in grants
        ],
    )


@grants_app.command("revoke")
def grants_revoke(
    grant: Annotated[str, typer.Argument(help="The grant's id, as `grants list` shows it.")],
) -> None:
    """Stop sharing what a grant shares, from the partner's next request on."""
    from hub.access.sharing import revoke_grant

    try:
        grant_id = global_or_uuid(grant, "SharingGrant")
    except ValueError as error:
        _fail(str(error))
    revoked_at = _write(revoke_grant, grant_id)
    out.print(f"grant {grant} revoked (as of {revoked_at.isoformat()})")
