"""Merge suggestions: pairs in the review band, with their evidence, waiting for a person.

A pair has at most one suggestion (the smaller id left). It is OPEN until
someone merges the two (MERGED, with the merge) or dismisses it (DISMISSED).
A dismissed pair, and a pair whose merge was undone (``unmerge`` records it
as DISMISSED), is never merged or suggested again by resolution.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, insert, or_, select, update

from hub.identity.decide import Evidence
from hub.models import MergeSuggestion, MergeSuggestionStatus, new_id

suggestions = MergeSuggestion.__table__


class SuggestionErrorCode(enum.StrEnum):
    NOT_FOUND = "NOT_FOUND"
    NOT_OPEN = "NOT_OPEN"


class SuggestionError(Exception):
    def __init__(self, code: SuggestionErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if str(a) < str(b) else (b, a)


def _of_pair(a: uuid.UUID, b: uuid.UUID) -> object:
    left, right = ordered(a, b)
    return and_(suggestions.c.left_customer_id == left, suggestions.c.right_customer_id == right)


def suggest(db: Connection, a: uuid.UUID, b: uuid.UUID, probability: float, weight: float,
            evidence: Sequence[Evidence], now: datetime) -> bool:
    """Record (or refresh, while OPEN) a suggestion; False when the pair was decided already."""
    found = db.execute(select(suggestions.c.id, suggestions.c.status).where(_of_pair(a, b))).first()
    values = {"probability": float(probability), "weight": float(weight),
              "evidence": [{"field": e.field, "level": e.level, "weight": round(float(e.weight), 3)}
                           for e in evidence]}
    if found is None:
        left, right = ordered(a, b)
        db.execute(insert(suggestions), [{
            "id": new_id(), "left_customer_id": left, "right_customer_id": right,
            "status": MergeSuggestionStatus.OPEN, "created_at": now, **values}])
        return True
    if found.status is not MergeSuggestionStatus.OPEN:
        return False
    db.execute(update(suggestions).where(suggestions.c.id == found.id).values(**values))
    return True


def decide_pair(db: Connection, a: uuid.UUID, b: uuid.UUID, status: MergeSuggestionStatus,
                by: str, now: datetime, merge_id: uuid.UUID | None = None) -> None:
    """Close the pair's suggestion as MERGED or DISMISSED; a dismissal is kept even without one."""
    decided = {"status": status, "decided_at": now, "decided_by": by}
    if merge_id is not None:
        decided["merge_id"] = merge_id
    changed = db.execute(update(suggestions).where(_of_pair(a, b)).values(**decided)).rowcount
    if not changed and status is MergeSuggestionStatus.DISMISSED:
        left, right = ordered(a, b)
        db.execute(insert(suggestions), [{
            "id": new_id(), "left_customer_id": left, "right_customer_id": right,
            "probability": 0.0, "weight": 0.0, "evidence": [], "created_at": now, **decided}])


def dismiss(db: Connection, suggestion_id: uuid.UUID, by: str, now: datetime) -> None:
    row = db.execute(select(suggestions.c.status).where(suggestions.c.id == suggestion_id)
                     .with_for_update()).first()
    if row is None:
        raise SuggestionError(SuggestionErrorCode.NOT_FOUND, "No such merge suggestion.", "id")
    if row.status is not MergeSuggestionStatus.OPEN:
        raise SuggestionError(SuggestionErrorCode.NOT_OPEN,
                              f"This suggestion is {row.status.value}, not OPEN.", "id")
    db.execute(update(suggestions).where(suggestions.c.id == suggestion_id).values(
        status=MergeSuggestionStatus.DISMISSED, decided_at=now, decided_by=by))


def dismissed_pairs(db: Connection, ids: Iterable[uuid.UUID] | None = None
                    ) -> set[frozenset[uuid.UUID]]:
    """Pairs a person said are different people (all of them, or those touching ``ids``)."""
    query = select(suggestions.c.left_customer_id, suggestions.c.right_customer_id).where(
        suggestions.c.status == MergeSuggestionStatus.DISMISSED)
    if ids is not None:
        wanted = list(ids)
        query = query.where(or_(suggestions.c.left_customer_id.in_(wanted),
                                suggestions.c.right_customer_id.in_(wanted)))
    return {frozenset(pair) for pair in db.execute(query)}
