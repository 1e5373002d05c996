"""Resolving every ACTIVE customer at once (``crmhub identity resolve``).

The customers are read as ``PersonRecord``s (names, birth date, locale, their
e-mails, phones and addresses, and their source identities), resolved by the
pure pipeline (``hub.identity.resolve``), then:

- each cluster merges into its oldest customer (deterministic rules and
  auto-merge probabilities alike), one transaction per cluster, skipping
  anyone a person already said is someone else (a DISMISSED pair);
- each review-band pair between customers that stay apart becomes an OPEN
  ``MergeSuggestion`` with its evidence.

``plan`` only reads; ``apply`` writes what a plan says.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from hub.access.audit import SYSTEM, Actor
from hub.identity.merge import MergeError, merge
from hub.identity.normalise import PersonRecord
from hub.identity.resolve import Progress, Resolution, ResolveSettings, resolve
from hub.identity.suggestions import dismissed_pairs, suggest
from hub.identity.survivorship import SurvivorshipSettings
from hub.models import Address, ContactPoint, Customer, SourceRecord, utcnow
from hub.models.enums import CustomerStatus
from hub.sync.records import AddressData, ContactPointData, PersonData

customers = Customer.__table__
points = ContactPoint.__table__
addresses = Address.__table__
sources = SourceRecord.__table__


@dataclass
class Plan:
    """Who merges into whom, and which pairs go to review."""

    resolution: Resolution
    # survivor -> [(absorbed, rule, probability)], survivors oldest first
    merges: dict[uuid.UUID, list[tuple[uuid.UUID, str, float]]] = field(default_factory=dict)
    suggestions: list[tuple[uuid.UUID, uuid.UUID, int]] = field(default_factory=list)

    @property
    def merge_count(self) -> int:
        return sum(len(absorbed) for absorbed in self.merges.values())


@dataclass
class Applied:
    merged: int = 0
    # Merges left out (a customer changed since the plan) and suggestions already decided.
    skipped: int = 0
    suggested: int = 0


def load_records(engine: Engine) -> tuple[list[PersonRecord], list[uuid.UUID]]:
    """Every ACTIVE customer as a PersonRecord; and their ids oldest first."""
    with engine.connect() as db:
        rows = db.execute(select(customers).where(customers.c.status == CustomerStatus.ACTIVE)
                          .order_by(customers.c.created_at, customers.c.id)).all()
        active = select(customers.c.id).where(customers.c.status == CustomerStatus.ACTIVE)
        reach: dict[uuid.UUID, list[ContactPointData]] = defaultdict(list)
        for p in db.execute(select(points).where(points.c.customer_id.in_(active))):
            reach[p.customer_id].append(ContactPointData(p.kind, p.raw_value, p.label, p.is_primary))
        places: dict[uuid.UUID, list[AddressData]] = defaultdict(list)
        for a in db.execute(select(addresses).where(addresses.c.customer_id.in_(active))):
            places[a.customer_id].append(AddressData(a.line1, a.line2, a.city, a.region,
                                                     a.postal_code, a.country, a.label,
                                                     a.is_primary))
        known: dict[uuid.UUID, list[str]] = defaultdict(list)
        for s in db.execute(select(sources.c.customer_id, sources.c.connection_id,
                                   sources.c.object_type, sources.c.external_id)
                            .where(sources.c.customer_id.in_(active))):
            known[s.customer_id].append(f"{s.connection_id}:{s.object_type}:{s.external_id}")
    records = [
        PersonRecord(
            key=row.id,
            person=PersonData(kind=row.kind, given_name=row.given_name,
                              family_name=row.family_name,
                              organization_name=row.organization_name, locale=row.locale,
                              contact_points=tuple(reach[row.id]),
                              addresses=tuple(places[row.id])),
            birth_date=row.birth_date,
            identities=tuple(known[row.id]),
        )
        for row in rows
    ]
    return records, [row.id for row in rows]


def plan(engine: Engine, settings: ResolveSettings = ResolveSettings(),
         progress: Callable[[Progress], None] | None = None) -> Plan:
    records, oldest_first = load_records(engine)
    resolution = resolve(records, settings, progress)
    rank = {customer_id: n for n, customer_id in enumerate(oldest_first)}
    with engine.connect() as db:
        dismissed = dismissed_pairs(db)
    how: dict[Hashable, tuple[str, float]] = {}
    for link in resolution.links:
        for key in (link.left, link.right):
            how.setdefault(key, (link.rule or "probability", float(link.probability)))
    result = Plan(resolution)
    home: dict[Hashable, uuid.UUID] = {}
    for cluster in resolution.clusters:
        survivor, *others = sorted(cluster, key=rank.__getitem__)
        joined = [survivor]
        home[survivor] = survivor
        for absorbed in others:
            if any(frozenset((absorbed, j)) in dismissed for j in joined):
                continue
            joined.append(absorbed)
            home[absorbed] = survivor
            rule, probability = how.get(absorbed, ("probability", 1.0))
            result.merges.setdefault(survivor, []).append((absorbed, rule, probability))
    for index, decision in enumerate(resolution.suggestions):
        left = home.get(decision.left, decision.left)
        right = home.get(decision.right, decision.right)
        if left != right and frozenset((left, right)) not in dismissed:
            result.suggestions.append((left, right, index))
    return result


def apply(engine: Engine, plan: Plan, survivorship: SurvivorshipSettings,
          actor: Actor = SYSTEM, progress: Callable[[int, int], None] | None = None) -> Applied:
    """Write a plan: merges one transaction per survivor, then the suggestions in one."""
    done = Applied()
    total = len(plan.merges) + 1
    for step, (survivor, absorbed) in enumerate(plan.merges.items(), start=1):
        try:
            with engine.begin() as db:
                for customer_id, rule, probability in absorbed:
                    merge(db, survivor, customer_id, actor=actor, survivorship=survivorship,
                          rule=rule, probability=probability)
        except MergeError:
            # Someone merged or erased one of them since the plan was made: the cluster
            # is left for the next run, which sees the database as it is now.
            done.skipped += len(absorbed)
        else:
            done.merged += len(absorbed)
        if progress is not None:
            progress(step, total)
    decisions = plan.resolution.suggestions
    now = utcnow()
    with engine.begin() as db:
        for left, right, index in plan.suggestions:
            d = decisions[index]
            if suggest(db, left, right, d.probability, d.weight, d.evidence, now):
                done.suggested += 1
            else:
                done.skipped += 1
    if progress is not None:
        progress(total, total)
    return done
