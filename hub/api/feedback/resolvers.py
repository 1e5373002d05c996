"""Root resolvers of the feedback domain: the satisfaction report, aggregated in SQL.

Both backends run the same statement but for the period of a row: PostgreSQL
truncates ``occurred_at`` in UTC with ``date_trunc``, SQLite (which stores UTC
text) with ``date()`` modifiers. Constants are spliced as SQL literals, not
bound, so that PostgreSQL sees the same expression in SELECT and GROUP BY.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import graphene
from sqlalchemy import Date, Float, case, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.rows import visible_rows
from hub.api.core.ids import expect_global_id, to_global_id
from hub.models import Feedback
from hub.models.enums import FeedbackKind

feedback = Feedback.__table__
PROMOTER, DETRACTOR = 9, 6  # NPS: 9-10 promote, 0-6 detract
SATISFIED = 4  # CSAT: 4 and 5 are satisfied


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _percent(part: Any, whole: Any) -> Any:
    return cast(part, Float) * 100 / func.nullif(whole, 0)


def _measures() -> list[Any]:
    nps = feedback.c.kind == FeedbackKind.NPS
    csat = feedback.c.kind == FeedbackKind.CSAT
    score = feedback.c.score
    nps_n, csat_n = _count_if(nps), _count_if(csat)
    promoters, detractors = (
        _count_if(nps & (score >= PROMOTER)),
        _count_if(nps & (score <= DETRACTOR)),
    )
    satisfied = _count_if(csat & (score >= SATISFIED))
    return [
        nps_n.label("nps_responses"),
        promoters.label("promoters"),
        detractors.label("detractors"),
        _percent(promoters - detractors, nps_n).label("nps_score"),
        csat_n.label("csat_responses"),
        satisfied.label("satisfied"),
        _percent(satisfied, csat_n).label("csat_score"),
        func.avg(case((csat, cast(score, Float)), else_=None)).label("csat_average"),
    ]


def _group_key(group_by: str, dialect: str) -> Any:
    occurred = feedback.c.occurred_at
    if group_by == "PARTNER":
        return feedback.c.partner_id
    if dialect == "postgresql":
        unit = literal_column("'month'" if group_by == "MONTH" else "'week'")
        return cast(func.date_trunc(unit, func.timezone(literal_column("'UTC'"), occurred)), Date)
    if group_by == "MONTH":
        return func.date(occurred, literal_column("'start of month'"))
    # The Sunday ending the week (the day itself when it is one), then back to its Monday.
    return func.date(occurred, literal_column("'weekday 0'"), literal_column("'-6 days'"))


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _group(row: Any, group_by: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "nps": {
            "responses": row.nps_responses,
            "promoters": row.promoters,
            "detractors": row.detractors,
            "passives": row.nps_responses - row.promoters - row.detractors,
            "score": _round(row.nps_score),
        },
        "csat": {
            "responses": row.csat_responses,
            "satisfied": row.satisfied,
            "score": _round(row.csat_score),
            "average": _round(row.csat_average),
        },
        "period_start": None,
        "partner_id": None,
    }
    if group_by == "PARTNER":
        out["partner_id"] = to_global_id("Partner", row.key) if row.key is not None else None
    elif group_by is not None:
        out["period_start"] = row.key if isinstance(row.key, date) else date.fromisoformat(row.key)
    return out


async def _report(conn: AsyncConnection, where: list[Any], group_by: str | None) -> dict[str, Any]:
    total = (await conn.execute(select(*_measures()).where(*where))).one()
    groups = []
    if group_by is not None:
        key = _group_key(group_by, conn.dialect.name).label("key")
        rows = await conn.execute(
            select(key, *_measures()).where(*where).group_by(key).order_by(key)
        )
        groups = [_group(row, group_by) for row in rows]
    return {"total": _group(total), "groups": groups}


async def resolve_satisfaction(
    root: Any, info: graphene.ResolveInfo, filter: Any = None, group_by: Any = None
) -> dict[str, Any]:
    ctx = info.context
    f = filter or {}
    where = [
        *visible_rows(ctx.principal, feedback),
        feedback.c.kind.in_([FeedbackKind.NPS, FeedbackKind.CSAT]),
    ]
    if f.get("customer_id"):
        where.append(feedback.c.customer_id == expect_global_id(f["customer_id"], "Customer"))
    if f.get("partner_id"):
        where.append(feedback.c.partner_id == expect_global_id(f["partner_id"], "Partner"))
    if f.get("from_") is not None:
        where.append(feedback.c.occurred_at >= f["from_"])
    if f.get("to") is not None:
        where.append(feedback.c.occurred_at < f["to"])
    return await ctx.db.using(_report, where, getattr(group_by, "value", group_by))
