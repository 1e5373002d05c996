"""The golden record: each field picked among a customer's sources by configurable rules.

A pure function over candidates (what each source record says, and when);
``hub.identity.golden`` feeds it from the database and writes its choice.

Fields are picked in groups that must not be mixed: a person's name is one
group (kind, given, family and organisation name), because a source that gives
the whole name as a given name ("Bob Norman") beside another source's family
name ("Norman") would otherwise read "Bob Norman Norman".

The rules of a group run in order; each keeps only the candidates it rates
best, until one is left. The rule that left one is recorded as the winner:

- ``source_priority``: the connector or connection named earliest in
  ``[identity.survivorship] source_priority`` (unnamed sources come last);
- ``most_complete``: the most non-empty parts, then the most characters;
- ``most_recent``: the latest change the source reports (else when the hub saw it).

``most_recent`` then the source's id break any tie left, so the choice is
deterministic. A group with a single candidate is won by ``only_source``.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Rule(enum.StrEnum):
    SOURCE_PRIORITY = "source_priority"
    MOST_COMPLETE = "most_complete"
    MOST_RECENT = "most_recent"


ONLY_SOURCE = "only_source"

# Field group -> the customer columns it sets together.
GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("kind", "given_name", "family_name", "organization_name"),
    "locale": ("locale",),
}
# The parts of a group that count for completeness (kind always has a value).
_PARTS: dict[str, tuple[str, ...]] = {
    "name": ("given_name", "family_name", "organization_name"),
    "locale": ("locale",),
}


class SurvivorshipSettings(BaseModel):
    """``[identity.survivorship]``: how the golden record picks each field group."""

    # Connector names (shopify) or connection names (shopify-eu), most trusted first.
    source_priority: list[str] = []
    name: list[Rule] = [Rule.MOST_COMPLETE, Rule.SOURCE_PRIORITY, Rule.MOST_RECENT]
    locale: list[Rule] = [Rule.SOURCE_PRIORITY, Rule.MOST_RECENT]

    def rules(self, group: str) -> list[Rule]:
        return list(getattr(self, group))


@dataclass(frozen=True, slots=True)
class Candidate:
    """What one source says: ``values`` by column; ``source_record_id`` None for the hub itself."""

    source_record_id: uuid.UUID | None
    connector: str | None
    connection: str | None
    observed_at: datetime
    values: Mapping[str, Any]

    def has(self, group: str) -> bool:
        return any(_filled(self.values.get(part)) for part in _PARTS[group])


@dataclass(frozen=True, slots=True)
class Choice:
    group: str
    candidate: Candidate
    rule: str

    @property
    def values(self) -> dict[str, Any]:
        return {column: self.candidate.values.get(column) for column in GROUPS[self.group]}


def golden(candidates: Sequence[Candidate], settings: SurvivorshipSettings) -> dict[str, Choice]:
    """The winning candidate of each group that any candidate has a value for."""
    chosen = {}
    for group in GROUPS:
        having = [c for c in candidates if c.has(group)]
        if having:
            chosen[group] = choose(group, having, settings)
    return chosen


def choose(group: str, candidates: Sequence[Candidate], settings: SurvivorshipSettings) -> Choice:
    if len(candidates) == 1:
        return Choice(group, candidates[0], ONLY_SOURCE)
    rules = settings.rules(group)
    left = list(candidates)
    for rule in [*rules, Rule.MOST_RECENT]:
        left = _best(left, _SCORES[rule](group, settings))
        if len(left) == 1:
            return Choice(group, left[0], rule.value)
    # Same everything: the oldest source record (ids are time-ordered) keeps it stable.
    left.sort(key=lambda c: str(c.source_record_id))
    return Choice(group, left[0], Rule.MOST_RECENT.value)


Score = Callable[[Candidate], Any]


def _best(candidates: list[Candidate], score: Score) -> list[Candidate]:
    top = max(score(c) for c in candidates)
    return [c for c in candidates if score(c) == top]


def _priority(group: str, settings: SurvivorshipSettings) -> Score:
    order = {name: rank for rank, name in reversed(list(enumerate(settings.source_priority)))}
    unnamed = len(order) + 1

    def score(c: Candidate) -> int:
        ranks = [order[n] for n in (c.connection, c.connector) if n in order]
        return -min(ranks, default=unnamed)

    return score


def _completeness(group: str, settings: SurvivorshipSettings) -> Score:
    def score(c: Candidate) -> tuple[int, int]:
        parts = [str(c.values.get(p)).strip() for p in _PARTS[group] if _filled(c.values.get(p))]
        return len(parts), sum(len(p) for p in parts)

    return score


def _recency(group: str, settings: SurvivorshipSettings) -> Score:
    return lambda c: c.observed_at


_SCORES: dict[Rule, Callable[[str, SurvivorshipSettings], Score]] = {
    Rule.SOURCE_PRIORITY: _priority,
    Rule.MOST_COMPLETE: _completeness,
    Rule.MOST_RECENT: _recency,
}


def _filled(value: Any) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))
