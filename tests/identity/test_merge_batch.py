"""`crmhub identity resolve` on a database of its own per backend: synthetic customers with known
duplicates synced through the real writer, then the batch run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hub.db import create_sync_engine
from hub.identity.normalise import fold
from hub.migrate import upgrade
from hub.models import (
    AuditEvent,
    Connection,
    Customer,
    CustomerMerge,
    MergeSuggestion,
    MergeSuggestionStatus,
    SourceRecord,
)
from hub.models.audit import ActorKind
from hub.models.enums import ContactPointKind, CustomerStatus
from hub.settings import Settings
from hub.sync.records import ContactPointData, PersonData, SourceRecordData
from hub.sync.writer import CanonicalWriter
from tests.conftest import empty_database
from tests.identity.synthetic import customers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of this module's own: a batch resolution touches every customer."""
    with empty_database(request, request.param) as url:
        engine = create_sync_engine(Settings(database_url=url))
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def engine(url: str) -> Iterator[Engine]:
    engine = create_sync_engine(Settings(database_url=url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def synced(engine: Engine) -> tuple[int, dict[uuid.UUID, int]]:
    """Synthetic records synced one by one: how many, and customer -> who they really are.

    Households are left out: no connector maps a birth date yet, and without one two
    people of a household (same family name, same address) look like one person.
    """
    data = customers(600, seed=5)
    families: dict[str, set[int]] = {}
    for record, person in zip(data.records, data.entities, strict=True):
        families.setdefault(fold(record.person.family_name), set()).add(person)
    alone = [(r, e) for r, e in zip(data.records, data.entities, strict=True)
             if len(families[fold(r.person.family_name)]) == 1]
    writer = CanonicalWriter()
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        shop = Connection(name="batch-shop", connector="toyshop")
        session.add(shop)
        session.flush()
        for record, _ in alone:
            writer.write(session, shop.id, SourceRecordData(
                "customer", str(record.key), {"id": str(record.key)}, person=record.person), now)
        # Two customers made apart, who later turn out to share an e-mail.
        for n, points in enumerate([("twin@batch.example",),
                                    ("other@batch.example", "twin@batch.example")]):
            first = SourceRecordData("customer", f"twin-{n}", {"n": 0}, person=PersonData(
                given_name="Tam", family_name=f"Twin{n}",
                contact_points=(ContactPointData(ContactPointKind.EMAIL, f"t{n}@batch.example"),)))
            again = SourceRecordData("customer", f"twin-{n}", {"n": 1}, person=PersonData(
                given_name="Tam", family_name=f"Twin{n}",
                contact_points=tuple(ContactPointData(ContactPointKind.EMAIL, p) for p in points)))
            writer.write(session, shop.id, first, now)
            writer.write(session, shop.id, again, now)
        rows = session.execute(select(SourceRecord.customer_id, SourceRecord.external_id)
                               .where(SourceRecord.connection_id == shop.id)).all()
    truth = {str(r.key): e for r, e in alone}
    truth |= {"twin-0": -1, "twin-1": -1}
    who: dict[uuid.UUID, Counter[int]] = {}
    for customer, external in rows:
        who.setdefault(customer, Counter())[truth[external]] += 1
    return len(rows), {customer: seen.most_common(1)[0][0] for customer, seen in who.items()}


def crmhub(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    env["CRMHUB_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-c", "from hub.cli import main; main()", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def active(engine: Engine) -> int:
    with engine.connect() as db:
        return db.scalar(select(func.count()).select_from(Customer)
                         .where(Customer.status == CustomerStatus.ACTIVE))


def test_identity_resolve_merges_clusters_and_files_suggestions(engine, url, synced):
    records, entity = synced
    people = active(engine)
    # Sync already joined records sharing an e-mail or phone as they arrived, and merged
    # the twin who later showed the other's e-mail.
    assert people < records
    with Session(engine) as session:
        synced_merges = session.execute(select(CustomerMerge.rule, CustomerMerge.merged_by,
                                               CustomerMerge.survivor_id)).all()
    assert [(rule, by, entity[survivor]) for rule, by, survivor in synced_merges] == [
        ("email", "connector", -1)]

    dry = crmhub(url, "identity", "resolve", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] is True and planned["customers"] == people
    assert planned["merges"] > 0
    assert active(engine) == people  # a dry run writes nothing
    with engine.connect() as db:
        assert db.scalar(select(func.count()).select_from(CustomerMerge)) == 1

    # Strict: only rules and near-certain pairs merge, the rest of the band is for review.
    strict = crmhub(url, "identity", "resolve", "--auto-merge", "0.99999")
    assert strict.returncode == 0, strict.stderr
    assert "merged" in strict.stdout and "candidate pairs" in strict.stdout
    # The progress bar went to stderr, stage by stage.
    assert "compare" in strict.stderr and "merge" in strict.stderr

    with Session(engine) as session:
        merges = session.scalars(select(CustomerMerge)
                                 .where(CustomerMerge.merged_by == "system")).all()
        assert 0 < len(merges) < planned["merges"]
        assert active(engine) == people - len(merges)
        # Merges join one person: the survivor and the absorbed are the same entity.
        right = sum(entity[m.survivor_id] == entity[m.absorbed_id] for m in merges)
        assert right / len(merges) >= 0.97
        assert Counter(m.rule for m in merges).keys() <= {"email", "phone", "probability"}
        audited = session.execute(select(AuditEvent.actor_kind, func.count())
                                  .where(AuditEvent.action == "customer.merge")
                                  .group_by(AuditEvent.actor_kind)).all()
        assert sorted(audited) == sorted([(ActorKind.CONNECTOR, 1),
                                          (ActorKind.SYSTEM, len(merges))])
        suggestions = session.scalars(select(MergeSuggestion)).all()
    assert suggestions
    for suggestion in suggestions:
        assert suggestion.status is MergeSuggestionStatus.OPEN
        assert 0.5 <= suggestion.probability < 0.99999
        fields = {e["field"] for e in suggestion.evidence}
        assert {"given_name", "family_name"} <= fields
        assert all(isinstance(e["level"], str) and isinstance(e["weight"], float)
                   for e in suggestion.evidence)

    # The default band then merges what was suggested; the suggestions say so.
    run = crmhub(url, "identity", "resolve", "--json")
    assert run.returncode == 0, run.stderr
    assert active(engine) == people - planned["merges"]
    with Session(engine) as session:
        decided = session.execute(select(MergeSuggestion.status, MergeSuggestion.merge_id)).all()
    assert {status for status, _ in decided} <= {MergeSuggestionStatus.MERGED,
                                                 MergeSuggestionStatus.OPEN}
    merged = [merge_id for status, merge_id in decided if status is MergeSuggestionStatus.MERGED]
    assert merged and None not in merged

    again = crmhub(url, "identity", "resolve", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["merges"] == 0

    refused = crmhub(url, "identity", "resolve", "--auto-merge", "0.4")
    assert refused.returncode == 2 and "review <= auto_merge" in refused.stderr
