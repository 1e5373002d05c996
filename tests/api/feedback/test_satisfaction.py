"""satisfaction: NPS and CSAT computed in SQL, checked against the numbers worked out in Python."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from hub.models import Feedback, new_id
from hub.models.enums import FeedbackKind
from tests.api.cases.people import STAFF_SCOPES, gid, grant, new_customer, new_partner, partner_api
from tests.api.conftest import Api

REPORT = """
query($filter: SatisfactionFilter, $groupBy: SatisfactionGroupBy) {
  satisfaction(filter: $filter, groupBy: $groupBy) {
    total { ...group }
    groups { ...group }
  }
}
fragment group on SatisfactionGroup {
  periodStart partnerId
  nps { responses promoters passives detractors score }
  csat { responses satisfied score average }
}
"""
# Sunday 2 March 2025 23:59 and Monday 3 March 00:00 fall in different weeks (and the same month);
# 31 March and 1 April in different months.
MOMENTS = [
    datetime(2025, 3, 2, 23, 59, tzinfo=UTC),
    datetime(2025, 3, 3, 0, 0, tzinfo=UTC),
    datetime(2025, 3, 12, 9, 30, tzinfo=UTC),
    datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2025, 4, 1, 0, 0, tzinfo=UTC),
    datetime(2025, 4, 20, 18, 0, tzinfo=UTC),
]


@pytest.fixture(scope="module")
def staff(http, mint_token) -> Api:
    return Api(http, mint_token(STAFF_SCOPES))


def add_feedback(sync_engine, customer, rows: Iterable[tuple[str, int, datetime, Any]]) -> None:
    """(kind, score, occurred_at, partner id or None) for one customer."""
    with sync_engine.begin() as conn:
        conn.execute(
            insert(Feedback.__table__),
            [
                {
                    "id": new_id(),
                    "customer_id": customer,
                    "kind": kind,
                    "score": score,
                    "scale_max": {"NPS": 10, "CSAT": 5}.get(kind, 5),
                    "comment": None,
                    "channel": "EMAIL",
                    "case_id": None,
                    "order_id": None,
                    "partner_id": partner,
                    "source_record_id": None,
                    "occurred_at": at,
                }
                for kind, score, at, partner in rows
            ],
        )


def expected(rows: Iterable[Any]) -> dict[str, Any]:
    """The report's numbers for these feedback rows, in plain Python."""
    nps = [r.score for r in rows if r.kind == FeedbackKind.NPS]
    csat = [r.score for r in rows if r.kind == FeedbackKind.CSAT]
    promoters = sum(s >= 9 for s in nps)
    detractors = sum(s <= 6 for s in nps)
    satisfied = sum(s >= 4 for s in csat)
    return {
        "nps": {
            "responses": len(nps),
            "promoters": promoters,
            "detractors": detractors,
            "passives": len(nps) - promoters - detractors,
            "score": round(100 * (promoters - detractors) / len(nps), 2) if nps else None,
        },
        "csat": {
            "responses": len(csat),
            "satisfied": satisfied,
            "score": round(100 * satisfied / len(csat), 2) if csat else None,
            "average": round(sum(csat) / len(csat), 2) if csat else None,
        },
    }


def grouped(rows: list[Any], key: Callable[[Any], Any]) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {k: expected(v) for k, v in groups.items()}


def rows_of(sync_engine, *where: Any) -> list[Any]:
    table = Feedback.__table__
    with sync_engine.connect() as conn:
        return conn.execute(
            select(table).where(table.c.kind.in_([FeedbackKind.NPS, FeedbackKind.CSAT]), *where)
        ).all()


def without_keys(group: dict[str, Any]) -> dict[str, Any]:
    return {"nps": group["nps"], "csat": group["csat"]}


def monday(moment: datetime) -> str:
    day = moment.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


async def test_one_customer_by_month_week_and_partner(staff, sync_engine) -> None:
    customer, partner = new_customer(sync_engine), new_partner(sync_engine)
    scores = [
        ("NPS", 10),
        ("NPS", 9),
        ("NPS", 7),
        ("NPS", 3),
        ("CSAT", 5),
        ("CSAT", 4),
        ("CSAT", 2),
        ("NPS", 6),
        ("CSAT", 3),
        ("NPS", 0),
        ("REVIEW", 5),
        ("CSAT", 5),
    ]
    add_feedback(
        sync_engine,
        customer,
        [
            (kind, score, MOMENTS[i % len(MOMENTS)], partner if i % 3 == 0 else None)
            for i, (kind, score) in enumerate(scores)
        ],
    )
    mine = rows_of(sync_engine, Feedback.__table__.c.customer_id == customer)
    assert len(mine) == 11  # the REVIEW is in neither score
    base = {"customerId": gid("Customer", customer)}

    report = (await staff.query(REPORT, {"filter": base}))["satisfaction"]
    assert without_keys(report["total"]) == expected(mine)
    assert report["groups"] == []
    # By hand: promoters 10 and 9, detractors 3, 6 and 0, of 6 NPS answers.
    assert report["total"]["nps"]["score"] == round(100 * (2 - 3) / 6, 2)

    by_month = (await staff.query(REPORT, {"filter": base, "groupBy": "MONTH"}))["satisfaction"]
    want = grouped(mine, lambda r: r.occurred_at.date().replace(day=1).isoformat())
    assert [g["periodStart"] for g in by_month["groups"]] == sorted(want)
    assert {g["periodStart"]: without_keys(g) for g in by_month["groups"]} == want

    by_week = (await staff.query(REPORT, {"filter": base, "groupBy": "WEEK"}))["satisfaction"]
    want = grouped(mine, lambda r: monday(r.occurred_at))
    assert {g["periodStart"]: without_keys(g) for g in by_week["groups"]} == want
    assert {"2025-02-24", "2025-03-03"} <= set(want)  # Sunday night and Monday morning split

    by_partner = (await staff.query(REPORT, {"filter": base, "groupBy": "PARTNER"}))["satisfaction"]
    want = grouped(mine, lambda r: gid("Partner", r.partner_id) if r.partner_id else None)
    assert {g["partnerId"]: without_keys(g) for g in by_partner["groups"]} == want

    # From (included) and to (excluded), and one partner's share.
    window = {**base, "from": MOMENTS[1].isoformat(), "to": MOMENTS[4].isoformat()}
    report = (await staff.query(REPORT, {"filter": window}))["satisfaction"]
    inside = [r for r in mine if MOMENTS[1] <= r.occurred_at < MOMENTS[4]]
    assert without_keys(report["total"]) == expected(inside)
    theirs = {**base, "partnerId": gid("Partner", partner)}
    report = (await staff.query(REPORT, {"filter": theirs}))["satisfaction"]
    assert without_keys(report["total"]) == expected([r for r in mine if r.partner_id == partner])


async def test_the_whole_hub_by_month(staff, sync_engine) -> None:
    everything = rows_of(sync_engine)
    report = (await staff.query(REPORT, {"groupBy": "MONTH"}))["satisfaction"]
    assert without_keys(report["total"]) == expected(everything)
    want = grouped(everything, lambda r: r.occurred_at.date().replace(day=1).isoformat())
    assert {g["periodStart"]: without_keys(g) for g in report["groups"]} == want


async def test_no_feedback_gives_empty_numbers(staff, sync_engine) -> None:
    customer = gid("Customer", new_customer(sync_engine))
    report = await staff.query(REPORT, {"filter": {"customerId": customer}, "groupBy": "WEEK"})
    total = report["satisfaction"]["total"]
    assert total["nps"] == {
        "responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "score": None,
    }
    assert total["csat"] == {"responses": 0, "satisfied": 0, "score": None, "average": None}
    assert report["satisfaction"]["groups"] == []


async def test_a_partner_counts_what_it_may_see(staff, sync_engine, http, mint_token) -> None:
    customer, partner, other = (
        new_customer(sync_engine),
        new_partner(sync_engine),
        new_partner(sync_engine),
    )
    grant(sync_engine, partner, [customer], "customers:read feedback:read")
    day = datetime(2025, 5, 5, 12, tzinfo=UTC)
    add_feedback(
        sync_engine,
        customer,
        [
            ("NPS", 10, day, partner),
            ("CSAT", 2, day, partner),
            ("NPS", 0, day, other),
            ("NPS", 1, day, None),
        ],
    )
    api = partner_api(http, mint_token, partner, "customers:read feedback:read")
    report = (await api.query(REPORT, {"groupBy": "PARTNER"}))["satisfaction"]
    collected = rows_of(sync_engine, Feedback.__table__.c.partner_id == partner)
    assert without_keys(report["total"]) == expected(collected)
    assert [g["partnerId"] for g in report["groups"]] == [gid("Partner", partner)]
    # Asking for another partner's numbers gives nothing, not theirs.
    theirs = (await api.query(REPORT, {"filter": {"partnerId": gid("Partner", other)}}))[
        "satisfaction"
    ]
    assert theirs["total"]["nps"]["responses"] == 0


async def test_needs_feedback_read(as_scopes) -> None:
    body = (await as_scopes("cases:read").post(REPORT)).json()
    assert body["data"] == {"satisfaction": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_python_side_matches_by_hand() -> None:
    class Row:
        def __init__(self, kind: str, score: int) -> None:
            self.kind, self.score = FeedbackKind(kind), score

    numbers = expected(
        [
            Row("NPS", 10),
            Row("NPS", 8),
            Row("NPS", 2),
            Row("NPS", 9),
            Row("CSAT", 4),
            Row("CSAT", 5),
            Row("CSAT", 1),
        ]
    )
    assert numbers["nps"]["score"] == 25.0  # (2 promoters - 1 detractor) / 4
    assert numbers["csat"] == {"responses": 3, "satisfied": 2, "score": 66.67, "average": 3.33}
    assert date(2025, 3, 2).weekday() == 6  # MOMENTS[0] is a Sunday
