"""The case workflow: which status may follow which, and what each move stamps on the case.

::

    from       to
    NEW        OPEN
    OPEN       PENDING, RESOLVED
    PENDING    OPEN, RESOLVED
    RESOLVED   CLOSED, OPEN (reopen)
    CLOSED     OPEN (reopen, within cases.reopen_window_days of closing)

A case is worked from OPEN; PENDING means waiting on the customer (OPEN when
they answer); RESOLVED can be reopened until it is CLOSED, and a CLOSED case
only within the configured window after closing. Setting the status a case
already has changes nothing. Any other move is an ``InvalidTransition``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.cases.sla import SlaClock
from hub.models.enums import CaseStatus

NEW, OPEN, PENDING, RESOLVED, CLOSED = (
    CaseStatus.NEW,
    CaseStatus.OPEN,
    CaseStatus.PENDING,
    CaseStatus.RESOLVED,
    CaseStatus.CLOSED,
)

TRANSITIONS: dict[CaseStatus, tuple[CaseStatus, ...]] = {
    NEW: (OPEN,),
    OPEN: (PENDING, RESOLVED),
    PENDING: (OPEN, RESOLVED),
    RESOLVED: (CLOSED, OPEN),
    CLOSED: (OPEN,),
}
REOPENING: frozenset[tuple[CaseStatus, CaseStatus]] = frozenset({(RESOLVED, OPEN), (CLOSED, OPEN)})


class InvalidTransition(Exception):
    """A move the workflow does not allow; the message names both ends and what is allowed."""

    def __init__(
        self,
        current: CaseStatus,
        target: CaseStatus,
        allowed: tuple[CaseStatus, ...],
        reason: str = "",
    ) -> None:
        self.current, self.target, self.allowed = current, target, allowed
        targets = ", ".join(allowed) if allowed else "nothing"
        because = f" {reason}" if reason else ""
        super().__init__(
            f"A case cannot go from {current} to {target}.{because} From {current} it can go to: "
            f"{targets}."
        )


@dataclass(frozen=True)
class Workflow:
    reopen_window: timedelta

    def allowed(self, case: Any, now: datetime) -> tuple[CaseStatus, ...]:
        """The statuses this case may move to now."""
        current = CaseStatus(case.status)
        return tuple(
            t for t in TRANSITIONS[current] if not self._window_passed(case, current, t, now)
        )

    def _window_passed(
        self, case: Any, current: CaseStatus, target: CaseStatus, now: datetime
    ) -> bool:
        if (current, target) != (CLOSED, OPEN):
            return False
        closed_at = case.closed_at
        return closed_at is None or now - closed_at > self.reopen_window

    def check(self, case: Any, target: CaseStatus, now: datetime) -> None:
        current = CaseStatus(case.status)
        if target == current or target in self.allowed(case, now):
            return
        reason = ""
        if self._window_passed(case, current, target, now) and target in TRANSITIONS[current]:
            days = self.reopen_window / timedelta(days=1)
            reason = (
                "Closed cases cannot be reopened."
                if not self.reopen_window
                else f"It was closed more than {days:g} days ago, too long to reopen."
            )
        raise InvalidTransition(current, target, self.allowed(case, now), reason)

    def move(self, case: Any, target: CaseStatus, now: datetime, clock: SlaClock) -> dict[str, Any]:
        """Check the move and return the columns it changes (none when the status stays)."""
        self.check(case, target, now)
        current = CaseStatus(case.status)
        if target == current:
            return {}
        values: dict[str, Any] = {"status": target}
        if current is PENDING:
            values.update(_unpause(case, now, clock))
        if target is PENDING:
            if clock.pause_while_pending:
                values["pending_since"] = now
        elif target is RESOLVED:
            values["resolved_at"] = now
        elif target is CLOSED:
            values["closed_at"] = now
        if (current, target) in REOPENING:
            # Reopened cases are worked again: no longer resolved, and the resolution clock
            # keeps running against the due time it always had.
            values["resolved_at"] = None
            values["closed_at"] = None
        return values


def _unpause(case: Any, now: datetime, clock: SlaClock) -> dict[str, Any]:
    """Leaving PENDING: the resolution due time moves back by the time the clock stood still."""
    values: dict[str, Any] = {"pending_since": None}
    since = case.pending_since
    if since is None:
        return values
    policy = clock.policy(case.priority, case.category)
    # Whole seconds, as the total is kept: recomputing from it gives the same due time.
    paused = timedelta(seconds=int(clock.elapsed(policy, since, now).total_seconds()))
    if policy is not None and case.resolution_due_at is not None and paused > timedelta(0):
        values["resolution_due_at"] = clock.add(policy, case.resolution_due_at, paused)
    values["resolution_paused_seconds"] = (case.resolution_paused_seconds or 0) + int(
        paused.total_seconds()
    )
    return values


def workflow_of(settings: Any) -> Workflow:
    return Workflow(timedelta(days=settings.cases.reopen_window_days))
