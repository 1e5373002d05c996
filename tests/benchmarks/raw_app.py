"""The LIMIT the hub is measured against: the same JSON, from hand-written SQL, with no GraphQL.

Two endpoints, each answering exactly what the GraphQL ``data`` of an operation
in ``graphql/operations`` holds (same fields, order, page sizes, ids, cursors,
money and timestamp formats), checked by the benchmark before it measures:

- ``GET /raw/customer360/{id}``  -> ``{"data": {"customer": ...}}``  (Customer360)
- ``GET /raw/customers?after=..`` -> ``{"data": {"customers": ...}}`` (CustomersWithOrders)

It runs on the hub's own async engine (``hub.db.create_async_db_engine``, so the
same drivers, pool and SQLite pragmas) with SQLAlchemy Core ``text()``
statements on one connection per request: no ORM, no DataLoaders, no schema.
It does no authentication (the hub looks the bearer token up on every request).

Serve it with ``uvicorn --factory tests.benchmarks.raw_app:app_from_env``
(``CRMHUB_DATABASE_URL`` names the database).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.db import create_async_db_engine, is_sqlite
from hub.settings import Settings

ORDERS_PAGE = 20
INTERACTIONS_PAGE = 50
CASES_PAGE = 20
FEEDBACK_PAGE = 20
CUSTOMERS_PAGE = 50
ORDERS_PER_CUSTOMER = 10


# -- statements ------------------------------------------------------------------------------
# Counts ride along the page as a window over the whole partition (COUNT(*) OVER ()), so a
# connection with totalCount is one statement. Orderings match the hub's (ties broken by id).

CUSTOMER = text(
    "SELECT id, kind, display_name, given_name, family_name, organization_name, birth_date,"
    " locale, lifecycle_stage, status, attributes, created_at, updated_at, version,"
    " merged_into_id FROM customers WHERE id = :id"
)
MERGED_INTO = text("SELECT id, display_name FROM customers WHERE id = :id")
TAGS = text("SELECT tag FROM customer_tags WHERE customer_id = :id ORDER BY tag")
CONTACT_POINTS = text(
    "SELECT kind, raw_value, normalised_value, label, is_primary FROM contact_points"
    " WHERE customer_id = :id ORDER BY kind, is_primary DESC, created_at"
)
ADDRESSES = text(
    "SELECT label, line1, line2, city, region, postal_code, country, is_primary FROM addresses"
    " WHERE customer_id = :id ORDER BY is_primary DESC, created_at"
)
SOURCES = text(
    "SELECT c.name, c.connector, s.object_type, s.external_id, s.source_updated_at,"
    " s.first_seen_at, s.last_seen_at, s.deleted_at"
    " FROM source_records s JOIN connections c ON c.id = s.connection_id"
    " WHERE s.customer_id = :id ORDER BY s.first_seen_at"
)
CONSENTS = text(
    "SELECT purpose, status, source, recorded_at, evidence FROM consents"
    " WHERE customer_id = :id ORDER BY purpose, recorded_at DESC"
)
ORDERS = text(
    "SELECT id, number, status, financial_status, fulfillment_status, currency, subtotal,"
    " discount_total, tax_total, shipping_total, total, placed_at, cancelled_at,"
    " COUNT(*) OVER () AS n FROM orders WHERE customer_id = :id"
    " ORDER BY placed_at DESC, id DESC LIMIT :limit"
)
LINES = text(
    "SELECT order_id, sku, title, quantity, unit_price, total FROM order_lines"
    " WHERE order_id IN :ids ORDER BY order_id, position"
).bindparams(bindparam("ids", expanding=True))
INTERACTIONS = text(
    "SELECT id, channel, kind, direction, occurred_at, subject, body, link,"
    " COUNT(*) OVER () AS n FROM interactions WHERE customer_id = :id"
    " ORDER BY occurred_at DESC, id DESC LIMIT :limit"
)
CASES = text(
    "SELECT id, number, subject, status, priority, category, channel, first_response_due_at,"
    " resolution_due_at, first_responded_at, resolved_at, closed_at, created_at,"
    " COUNT(*) OVER () AS n FROM cases WHERE customer_id = :id"
    " ORDER BY created_at DESC, id DESC LIMIT :limit"
)
COMMENTS = text(
    "SELECT case_id, id, body, visibility, created_at FROM case_comments"
    " WHERE case_id IN :ids ORDER BY case_id, created_at, id"
).bindparams(bindparam("ids", expanding=True))
FEEDBACK = text(
    "SELECT id, kind, score, scale_max, comment, channel, occurred_at, case_id, order_id,"
    " COUNT(*) OVER () AS n FROM feedback WHERE customer_id = :id"
    " ORDER BY occurred_at DESC, id DESC LIMIT :limit"
)

CUSTOMERS_FIRST = text(
    "SELECT id, display_name, lifecycle_stage, created_at FROM customers"
    " WHERE status = 'ACTIVE' ORDER BY created_at DESC, id DESC LIMIT :limit"
)
CUSTOMERS_AFTER = text(
    "SELECT id, display_name, lifecycle_stage, created_at FROM customers"
    " WHERE status = 'ACTIVE' AND (created_at < :key OR (created_at = :key AND id < :after_id))"
    " ORDER BY created_at DESC, id DESC LIMIT :limit"
)
CUSTOMERS_COUNT = text("SELECT COUNT(*) FROM customers WHERE status = 'ACTIVE'")
LATEST_ORDERS = text(
    "SELECT customer_id, id, number, status, currency, total, placed_at, n FROM ("
    " SELECT customer_id, id, number, status, currency, total, placed_at,"
    " ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY placed_at DESC, id DESC) AS position,"
    " COUNT(*) OVER (PARTITION BY customer_id) AS n"
    " FROM orders WHERE customer_id IN :ids) ranked"
    " WHERE position <= :limit ORDER BY customer_id, position"
).bindparams(bindparam("ids", expanding=True))


# -- values as the GraphQL scalars print them ------------------------------------------------


class Codec:
    """Column values of one backend to the JSON the hub's scalars produce.

    SQLite keeps uuids as 32 hex characters, timestamps as naive UTC text,
    money as integer 1/10,000ths, booleans as 0/1 and JSON as text;
    PostgreSQL hands back the Python types themselves.
    """

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite

    def hex(self, value: Any) -> str:
        return value if self.sqlite else value.hex

    def param_id(self, hex_: str) -> Any:
        return hex_ if self.sqlite else uuid.UUID(hex=hex_)

    def ts(self, value: Any) -> str | None:
        if value is None:
            return None
        if self.sqlite:
            return datetime.fromisoformat(value).isoformat() + "+00:00"
        return value.astimezone(UTC).isoformat()

    def param_ts(self, iso: str) -> Any:
        moment = datetime.fromisoformat(iso).astimezone(UTC)
        if self.sqlite:
            return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

    def money(self, value: Any) -> str:
        if self.sqlite:
            sign = "-" if value < 0 else ""
            whole, frac = divmod(abs(int(value)), 10_000)
            return f"{sign}{whole}.{f'{frac:04d}'.rstrip('0').ljust(2, '0')}"
        text_ = format(Decimal(value), "f")
        if "." in text_:
            whole, frac = text_.split(".")
            return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"
        return f"{text_}.00"

    def json(self, value: Any) -> Any:
        return orjson.loads(value) if self.sqlite and value is not None else value

    def date(self, value: Any) -> str | None:
        if value is None:
            return None
        return value if self.sqlite and isinstance(value, str) else date.isoformat(value)


def global_id(type_name: str, hex_: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{hex_}".encode()).decode().rstrip("=")


def cursor(ordering: str, iso: str, hex_: str) -> str:
    raw = orjson.dumps([ordering, {"t": iso}, hex_])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode((value + "=" * (-len(value) % 4)).encode("ascii"))


def parse_global_id(value: str, type_name: str) -> str | None:
    try:
        kind, _, hex_ = _unb64(value).decode("ascii").partition(":")
        return uuid.UUID(hex=hex_).hex if kind == type_name else None
    except (ValueError, UnicodeError, binascii.Error):
        return None


def parse_cursor(value: str, ordering: str) -> tuple[str, str] | None:
    try:
        name, key, hex_ = orjson.loads(_unb64(value))
        return (key["t"], uuid.UUID(hex=hex_).hex) if name == ordering else None
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
        return None


# -- the two documents ------------------------------------------------------------------------


async def _rows(conn: AsyncConnection, statement: Any, **params: Any) -> Sequence[Any]:
    return (await conn.execute(statement, params)).all()


async def customer360(conn: AsyncConnection, c: Codec, hex_: str) -> dict[str, Any] | None:
    cid = c.param_id(hex_)
    row = (await conn.execute(CUSTOMER, {"id": cid})).first()
    if row is None:
        return None
    tags = [r[0] for r in await _rows(conn, TAGS, id=cid)]
    merged_into = None
    if row.merged_into_id is not None:
        m = (await conn.execute(MERGED_INTO, {"id": row.merged_into_id})).first()
        if m is not None:
            merged_into = {"id": global_id("Customer", c.hex(m.id)), "displayName": m.display_name}
    contact_points = [
        {
            "kind": r.kind,
            "value": r.raw_value,
            "normalisedValue": r.normalised_value,
            "label": r.label,
            "isPrimary": bool(r.is_primary),
        }
        for r in await _rows(conn, CONTACT_POINTS, id=cid)
    ]
    addresses = [
        {
            "label": r.label,
            "line1": r.line1,
            "line2": r.line2,
            "city": r.city,
            "region": r.region,
            "postalCode": r.postal_code,
            "country": r.country,
            "isPrimary": bool(r.is_primary),
        }
        for r in await _rows(conn, ADDRESSES, id=cid)
    ]
    sources = [
        {
            "connection": r.name,
            "connector": r.connector,
            "objectType": r.object_type,
            "externalId": r.external_id,
            "sourceUpdatedAt": c.ts(r.source_updated_at),
            "firstSeenAt": c.ts(r.first_seen_at),
            "lastSeenAt": c.ts(r.last_seen_at),
            "deletedAt": c.ts(r.deleted_at),
        }
        for r in await _rows(conn, SOURCES, id=cid)
    ]
    consents = [
        {
            "purpose": r.purpose,
            "status": r.status,
            "source": r.source,
            "recordedAt": c.ts(r.recorded_at),
            "evidence": c.json(r.evidence),
        }
        for r in await _rows(conn, CONSENTS, id=cid)
    ]

    order_rows = await _rows(conn, ORDERS, id=cid, limit=ORDERS_PAGE + 1)
    order_page = order_rows[:ORDERS_PAGE]
    lines: dict[Any, list[dict[str, Any]]] = {r.id: [] for r in order_page}
    if order_page:
        for r in await _rows(conn, LINES, ids=[r.id for r in order_page]):
            lines[r.order_id].append(
                {
                    "sku": r.sku,
                    "title": r.title,
                    "quantity": r.quantity,
                    "unitPrice": c.money(r.unit_price),
                    "total": c.money(r.total),
                }
            )
    orders = {
        "totalCount": order_rows[0].n if order_rows else 0,
        "pageInfo": _page_info(c, order_rows, ORDERS_PAGE, "PLACED_AT_DESC", "placed_at"),
        "edges": [
            {
                "node": {
                    "id": global_id("Order", c.hex(r.id)),
                    "number": r.number,
                    "status": r.status,
                    "financialStatus": r.financial_status,
                    "fulfillmentStatus": r.fulfillment_status,
                    "currency": r.currency,
                    "subtotal": c.money(r.subtotal),
                    "discountTotal": c.money(r.discount_total),
                    "taxTotal": c.money(r.tax_total),
                    "shippingTotal": c.money(r.shipping_total),
                    "total": c.money(r.total),
                    "placedAt": c.ts(r.placed_at),
                    "cancelledAt": c.ts(r.cancelled_at),
                    "lines": lines[r.id],
                }
            }
            for r in order_page
        ],
    }

    interaction_rows = await _rows(conn, INTERACTIONS, id=cid, limit=INTERACTIONS_PAGE + 1)
    interactions = {
        "totalCount": interaction_rows[0].n if interaction_rows else 0,
        "pageInfo": _page_info(
            c, interaction_rows, INTERACTIONS_PAGE, "OCCURRED_AT_DESC", "occurred_at"
        ),
        "edges": [
            {
                "node": {
                    "id": global_id("Interaction", c.hex(r.id)),
                    "channel": r.channel,
                    "kind": r.kind,
                    "direction": r.direction,
                    "occurredAt": c.ts(r.occurred_at),
                    "subject": r.subject,
                    "body": r.body,
                    "link": r.link,
                }
            }
            for r in interaction_rows[:INTERACTIONS_PAGE]
        ],
    }

    case_rows = await _rows(conn, CASES, id=cid, limit=CASES_PAGE)
    comments: dict[Any, list[dict[str, Any]]] = {r.id: [] for r in case_rows}
    if case_rows:
        for r in await _rows(conn, COMMENTS, ids=[r.id for r in case_rows]):
            comments[r.case_id].append(
                {
                    "id": c.hex(r.id),
                    "body": r.body,
                    "visibility": r.visibility,
                    "createdAt": c.ts(r.created_at),
                }
            )
    cases = {
        "totalCount": case_rows[0].n if case_rows else 0,
        "edges": [
            {
                "node": {
                    "id": global_id("Case", c.hex(r.id)),
                    "number": r.number,
                    "subject": r.subject,
                    "status": r.status,
                    "priority": r.priority,
                    "category": r.category,
                    "channel": r.channel,
                    "firstResponseDueAt": c.ts(r.first_response_due_at),
                    "resolutionDueAt": c.ts(r.resolution_due_at),
                    "firstRespondedAt": c.ts(r.first_responded_at),
                    "resolvedAt": c.ts(r.resolved_at),
                    "closedAt": c.ts(r.closed_at),
                    "createdAt": c.ts(r.created_at),
                    "comments": comments[r.id],
                }
            }
            for r in case_rows
        ],
    }

    feedback_rows = await _rows(conn, FEEDBACK, id=cid, limit=FEEDBACK_PAGE)
    feedback = {
        "totalCount": feedback_rows[0].n if feedback_rows else 0,
        "edges": [
            {
                "node": {
                    "id": global_id("Feedback", c.hex(r.id)),
                    "kind": r.kind,
                    "score": r.score,
                    "scaleMax": r.scale_max,
                    "comment": r.comment,
                    "channel": r.channel,
                    "occurredAt": c.ts(r.occurred_at),
                    "caseId": global_id("Case", c.hex(r.case_id)) if r.case_id else None,
                    "orderId": global_id("Order", c.hex(r.order_id)) if r.order_id else None,
                }
            }
            for r in feedback_rows
        ],
    }

    return {
        "id": global_id("Customer", c.hex(row.id)),
        "kind": row.kind,
        "displayName": row.display_name,
        "givenName": row.given_name,
        "familyName": row.family_name,
        "organizationName": row.organization_name,
        "birthDate": c.date(row.birth_date),
        "locale": row.locale,
        "lifecycleStage": row.lifecycle_stage,
        "status": row.status,
        "tags": tags,
        "attributes": c.json(row.attributes),
        "createdAt": c.ts(row.created_at),
        "updatedAt": c.ts(row.updated_at),
        "version": row.version,
        "mergedInto": merged_into,
        "contactPoints": contact_points,
        "addresses": addresses,
        "sources": sources,
        "consents": consents,
        "orders": orders,
        "interactions": interactions,
        "cases": cases,
        "feedback": feedback,
    }


def _page_info(c: Codec, rows: Sequence[Any], size: int, ordering: str, key: str) -> dict[str, Any]:
    last = rows[min(len(rows), size) - 1] if rows else None
    return {
        "hasNextPage": len(rows) > size,
        "endCursor": cursor(ordering, c.ts(getattr(last, key)), c.hex(last.id)) if last else None,
    }


async def customers_with_orders(
    conn: AsyncConnection, c: Codec, after: tuple[str, str] | None
) -> dict[str, Any]:
    if after is None:
        rows = await _rows(conn, CUSTOMERS_FIRST, limit=CUSTOMERS_PAGE + 1)
    else:
        rows = await _rows(
            conn,
            CUSTOMERS_AFTER,
            key=c.param_ts(after[0]),
            after_id=c.param_id(after[1]),
            limit=CUSTOMERS_PAGE + 1,
        )
    total = (await conn.execute(CUSTOMERS_COUNT)).scalar()
    page = rows[:CUSTOMERS_PAGE]
    orders: dict[Any, list[Any]] = {r.id: [] for r in page}
    counts: dict[Any, int] = {}
    if page:
        for r in await _rows(
            conn, LATEST_ORDERS, ids=[r.id for r in page], limit=ORDERS_PER_CUSTOMER
        ):
            orders[r.customer_id].append(r)
            counts[r.customer_id] = r.n
    lines: dict[Any, list[dict[str, Any]]] = {o.id: [] for os_ in orders.values() for o in os_}
    if lines:
        for r in await _rows(conn, LINES, ids=list(lines)):
            lines[r.order_id].append(
                {
                    "sku": r.sku,
                    "title": r.title,
                    "quantity": r.quantity,
                    "unitPrice": c.money(r.unit_price),
                    "total": c.money(r.total),
                }
            )
    last = page[-1] if page else None
    return {
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": len(rows) > CUSTOMERS_PAGE,
            "endCursor": (
                cursor("CREATED_AT_DESC", c.ts(last.created_at), c.hex(last.id)) if last else None
            ),
        },
        "edges": [
            {
                "node": {
                    "id": global_id("Customer", c.hex(r.id)),
                    "displayName": r.display_name,
                    "lifecycleStage": r.lifecycle_stage,
                    "orders": {
                        "totalCount": counts.get(r.id, 0),
                        "edges": [
                            {
                                "node": {
                                    "id": global_id("Order", c.hex(o.id)),
                                    "number": o.number,
                                    "status": o.status,
                                    "currency": o.currency,
                                    "total": c.money(o.total),
                                    "placedAt": c.ts(o.placed_at),
                                    "lines": lines[o.id],
                                }
                            }
                            for o in orders[r.id]
                        ],
                    },
                }
            }
            for r in page
        ],
    }


# -- the app ------------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def create_raw_app(database_url: str) -> Starlette:
    settings = Settings(database_url=database_url)
    engine = create_async_db_engine(settings)
    codec = Codec(is_sqlite(database_url))

    async def customer_endpoint(request: Request) -> Response:
        hex_ = parse_global_id(request.path_params["id"], "Customer")
        if hex_ is None:
            return _json({"data": {"customer": None}})
        async with engine.connect() as conn:
            return _json({"data": {"customer": await customer360(conn, codec, hex_)}})

    async def customers_endpoint(request: Request) -> Response:
        after_text = request.query_params.get("after")
        after = None
        if after_text:
            after = parse_cursor(after_text, "CREATED_AT_DESC")
            if after is None:
                return _json({"errors": [{"message": "bad cursor"}]}, 400)
        async with engine.connect() as conn:
            return _json({"data": {"customers": await customers_with_orders(conn, codec, after)}})

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    return Starlette(
        routes=[
            Route("/raw/customer360/{id}", customer_endpoint, methods=["GET"]),
            Route("/raw/customers", customers_endpoint, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    return create_raw_app(os.environ["CRMHUB_DATABASE_URL"])
