"""SLA clocks: when a case's first response and resolution are due, and whether they were late.

A policy (``[[sla.policies]]``) gives the two targets for a priority and/or
category; its clock runs around the clock or only in business hours
(``[sla.business_hours]``: weekdays, start to end in one time zone, holidays
off). Business time is walked day by day in local time and every instant is
kept in UTC, so nights, weekends and daylight-saving changes come out right.

While a case is PENDING its resolution clock stands still (``pause_while_pending``):
``pending_since`` is set, a PENDING case is judged by that moment, and leaving
PENDING pushes the resolution due time back by the paused (business) time.
Breaches are worked out from the stored columns alone, so the flags on a case
and the ``breached`` filter in SQL always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, literal, or_

from hub.models.base import UTCDateTime
from hub.models.enums import CaseCategory, CasePriority
from hub.settings import BusinessHoursSettings, SlaPolicySettings, SlaSettings

# Business hours this far apart are a configuration mistake (every day a holiday), not a wait.
MAX_DAYS_SEARCHED = 3 * 366


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    weekdays: frozenset[int]
    start_minute: int
    end_minute: int
    holidays: frozenset[date]

    @classmethod
    def from_settings(cls, hours: BusinessHoursSettings) -> BusinessCalendar:
        return cls(
            ZoneInfo(hours.time_zone),
            hours.weekday_numbers,
            hours.start_minute,
            hours.end_minute,
            frozenset(hours.holidays),
        )

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The business hours of one local day, in UTC; None on a day off."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return None
        return self._instant(day, self.start_minute), self._instant(day, self.end_minute)

    def _instant(self, day: date, minute: int) -> datetime:
        # Wall-clock time of that day (24:00 is the next midnight), then the zone's offset on it.
        wall = datetime.combine(day, time()) + timedelta(minutes=minute)
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def _days_from(self, moment: datetime) -> Any:
        day = moment.astimezone(self.zone).date()
        for _ in range(MAX_DAYS_SEARCHED):
            yield day
            day += timedelta(days=1)
        raise ValueError(
            f"no business hours within {MAX_DAYS_SEARCHED} days of {moment.isoformat()}"
        )

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The instant ``duration`` of business time after ``moment``."""
        if duration <= timedelta(0):
            return moment
        remaining = duration
        for day in self._days_from(moment):
            window = self.window(day)
            if window is None:
                continue
            begin, end = max(moment, window[0]), window[1]
            if begin >= end:
                continue
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end`` (zero when end is not later)."""
        total = timedelta(0)
        if end <= start:
            return total
        for day in self._days_from(start):
            window = self.window(day)
            if window is not None:
                overlap = min(end, window[1]) - max(start, window[0])
                if overlap > timedelta(0):
                    total += overlap
            if self._instant(day, 24 * 60) >= end:
                return total
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class DueTimes:
    first_response: datetime | None
    resolution: datetime | None


class SlaClock:
    """The configured policies and calendar, and the arithmetic on them."""

    def __init__(self, settings: SlaSettings) -> None:
        self.settings = settings
        self.calendar = BusinessCalendar.from_settings(settings.business_hours)
        self.pause_while_pending = settings.pause_while_pending

    def policy(
        self, priority: CasePriority | str, category: CaseCategory | str
    ) -> SlaPolicySettings | None:
        """The most specific policy: priority and category, then priority, category, neither."""
        priority, category = CasePriority(priority), CaseCategory(category)
        best: SlaPolicySettings | None = None
        for policy in self.settings.policies:
            if policy.priority not in (None, priority) or policy.category not in (None, category):
                continue
            if best is None or policy.specificity > best.specificity:
                best = policy
        return best

    def add(self, policy: SlaPolicySettings, moment: datetime, duration: timedelta) -> datetime:
        return self.calendar.add(moment, duration) if policy.business_hours else moment + duration

    def elapsed(
        self, policy: SlaPolicySettings | None, start: datetime, end: datetime
    ) -> timedelta:
        """Time on the policy's clock between two instants."""
        if policy is not None and policy.business_hours:
            return self.calendar.between(start, end)
        return max(end - start, timedelta(0))

    def due_times(
        self,
        started_at: datetime,
        priority: CasePriority | str,
        category: CaseCategory | str,
        paused_seconds: int = 0,
    ) -> DueTimes:
        policy = self.policy(priority, category)
        if policy is None:
            return DueTimes(None, None)
        first = self.add(policy, started_at, timedelta(hours=policy.first_response_hours))
        resolution = self.add(
            policy, started_at, timedelta(hours=policy.resolution_hours, seconds=paused_seconds)
        )
        return DueTimes(first, resolution)


# -- breaches ------------------------------------------------------------------------------------


def first_response_breached(case: Any, now: datetime) -> bool:
    due = case.first_response_due_at
    return due is not None and (case.first_responded_at or now) > due


def resolution_breached(case: Any, now: datetime) -> bool:
    """``pending_since`` is set only while the clock stands still (``pause_while_pending``)."""
    due = case.resolution_due_at
    return due is not None and (case.resolved_at or case.pending_since or now) > due


def first_response_breached_sql(cases: Any, now: datetime) -> ColumnElement[bool]:
    """The same test as ``first_response_breached``, as a condition on the cases table."""
    at = func.coalesce(cases.c.first_responded_at, literal(now, UTCDateTime()))
    return and_(cases.c.first_response_due_at.is_not(None), at > cases.c.first_response_due_at)


def resolution_breached_sql(cases: Any, now: datetime) -> ColumnElement[bool]:
    at = func.coalesce(cases.c.resolved_at, cases.c.pending_since, literal(now, UTCDateTime()))
    return and_(cases.c.resolution_due_at.is_not(None), at > cases.c.resolution_due_at)


def breached_sql(cases: Any, now: datetime) -> ColumnElement[bool]:
    return or_(first_response_breached_sql(cases, now), resolution_breached_sql(cases, now))
