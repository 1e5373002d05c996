"""SLA arithmetic without a database: business hours over nights, weekends, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.cases.sla import BusinessCalendar, SlaClock
from hub.models.enums import CaseCategory, CasePriority
from hub.settings import BusinessHoursSettings, SlaPolicySettings, SlaSettings

UTC_9_TO_5 = BusinessCalendar.from_settings(BusinessHoursSettings())
BERLIN = BusinessCalendar.from_settings(
    BusinessHoursSettings(
        time_zone="Europe/Berlin", start="08:30", end="18:00", holidays=[date(2025, 4, 21)]
    )
)
FRIDAY_3PM = datetime(2025, 3, 7, 15, 0, tzinfo=UTC)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # Inside one day.
        (at(2025, 3, 5, 10), 3, at(2025, 3, 5, 13)),
        # Exactly to the close of business stays on that day.
        (at(2025, 3, 5, 10), 7, at(2025, 3, 5, 17)),
        # Over a night: 2 hours left today, 1 tomorrow from 09:00.
        (at(2025, 3, 5, 15), 3, at(2025, 3, 6, 10)),
        # Over the weekend: Friday 15:00 + 8h = 2h Friday + 6h Monday.
        (FRIDAY_3PM, 8, at(2025, 3, 10, 15)),
        # Raised at night or on a Saturday: the clock starts Monday 09:00.
        (at(2025, 3, 5, 22), 1, at(2025, 3, 6, 10)),
        (at(2025, 3, 8, 11), 4, at(2025, 3, 10, 13)),
        # Before opening: from 09:00 that day.
        (at(2025, 3, 5, 6), 2, at(2025, 3, 5, 11)),
        # A week of business hours: Friday 15:00 + 40h = the next Friday 15:00.
        (FRIDAY_3PM, 40, at(2025, 3, 14, 15)),
    ],
)
def test_business_hours_in_utc(start: datetime, hours: float, due: datetime) -> None:
    assert UTC_9_TO_5.add(start, timedelta(hours=hours)) == due
    assert UTC_9_TO_5.between(start, due) == timedelta(hours=hours)


def test_time_zone_holiday_and_daylight_saving() -> None:
    # Berlin 08:30-18:00 (9.5 h a day). Friday 28 March 2025 17:00 CET is 16:00 UTC; the clocks
    # go forward on Sunday 30 March, so Monday 08:30 CEST is 06:30 UTC.
    start = at(2025, 3, 28, 16)
    assert BERLIN.add(start, timedelta(hours=2)) == at(2025, 3, 31, 7, 30)
    # Easter Monday 21 April 2025 is configured as a holiday: Thursday 17 April 17:00 CEST
    # (15:00 UTC) + 3h = 1h Thursday, Good Friday 18 April is a weekday (not configured) ...
    assert BERLIN.add(at(2025, 4, 17, 15), timedelta(hours=3)) == at(2025, 4, 18, 8, 30)
    # ... and from Friday 17:00 CEST + 2h: 1h Friday, the weekend and Monday off, Tuesday 09:30.
    assert BERLIN.add(at(2025, 4, 18, 15), timedelta(hours=2)) == at(2025, 4, 22, 7, 30)


def test_between_counts_only_business_time() -> None:
    # Friday 16:00 to Monday 10:00: one hour each side of the weekend.
    assert UTC_9_TO_5.between(at(2025, 3, 7, 16), at(2025, 3, 10, 10)) == timedelta(hours=2)
    assert UTC_9_TO_5.between(at(2025, 3, 8, 0), at(2025, 3, 9, 23)) == timedelta(0)
    assert UTC_9_TO_5.between(at(2025, 3, 10, 10), at(2025, 3, 7, 16)) == timedelta(0)


def test_a_calendar_without_business_days_is_an_error_not_a_hang() -> None:
    closed = BusinessCalendar(ZoneInfo("UTC"), frozenset(), 9 * 60, 17 * 60, frozenset())
    with pytest.raises(ValueError, match="no business hours"):
        closed.add(FRIDAY_3PM, timedelta(hours=1))


def test_bad_business_hours_are_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="start"):
        BusinessHoursSettings(start="18:00", end="09:00")
    with pytest.raises(ValueError, match="time zone"):
        BusinessHoursSettings(time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="weekday"):
        BusinessHoursSettings(weekdays=[])
    assert BusinessHoursSettings(start="00:00", end="24:00").end_minute == 24 * 60


def test_most_specific_policy_wins() -> None:
    clock = SlaClock(
        SlaSettings(
            policies=[
                SlaPolicySettings(first_response_hours=48, resolution_hours=96),
                SlaPolicySettings(
                    category=CaseCategory.COMPLAINT, first_response_hours=24, resolution_hours=72
                ),
                SlaPolicySettings(
                    priority=CasePriority.HIGH, first_response_hours=4, resolution_hours=24
                ),
                SlaPolicySettings(
                    priority=CasePriority.HIGH,
                    category=CaseCategory.COMPLAINT,
                    first_response_hours=2,
                    resolution_hours=12,
                ),
            ]
        )
    )
    hours = {
        (p, c): clock.policy(p, c).first_response_hours  # type: ignore[union-attr]
        for p in (CasePriority.HIGH, CasePriority.LOW)
        for c in (CaseCategory.COMPLAINT, CaseCategory.QUESTION)
    }
    assert hours == {
        (CasePriority.HIGH, CaseCategory.COMPLAINT): 2,
        (CasePriority.HIGH, CaseCategory.QUESTION): 4,
        (CasePriority.LOW, CaseCategory.COMPLAINT): 24,
        (CasePriority.LOW, CaseCategory.QUESTION): 48,
    }
    assert (
        SlaClock(SlaSettings(policies=[])).due_times(FRIDAY_3PM, "LOW", "QUESTION").resolution
        is None
    )


def test_due_times_around_the_clock_and_in_business_hours() -> None:
    clock = SlaClock(SlaSettings())  # the defaults, as config/default.toml has them
    urgent = clock.due_times(FRIDAY_3PM, CasePriority.URGENT, CaseCategory.INCIDENT)
    assert (urgent.first_response, urgent.resolution) == (at(2025, 3, 7, 16), at(2025, 3, 7, 23))
    normal = clock.due_times(FRIDAY_3PM, CasePriority.NORMAL, CaseCategory.QUESTION)
    assert (normal.first_response, normal.resolution) == (at(2025, 3, 10, 15), at(2025, 3, 14, 15))
    complaint = clock.due_times(FRIDAY_3PM, CasePriority.NORMAL, CaseCategory.COMPLAINT)
    assert complaint.first_response == at(2025, 3, 10, 11)
    # Business hours spent PENDING push resolution back by as many business hours.
    paused = clock.due_times(FRIDAY_3PM, CasePriority.NORMAL, CaseCategory.QUESTION, 2 * 3600)
    assert paused.resolution == at(2025, 3, 14, 17)
    paused = clock.due_times(FRIDAY_3PM, CasePriority.NORMAL, CaseCategory.QUESTION, 3 * 3600)
    assert paused.resolution == at(2025, 3, 17, 10)


def test_the_shipped_config_matches_the_defaults() -> None:
    from hub.settings import CasesSettings, Settings

    shipped = Settings()
    assert shipped.sla == SlaSettings()
    assert shipped.cases == CasesSettings()
