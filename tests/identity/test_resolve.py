"""The whole pipeline over a batch: clusters, suggestions, evidence, progress."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import pytest

from hub.identity.decide import Thresholds, Verdict
from hub.identity.normalise import PersonRecord
from hub.identity.resolve import Progress, ResolveSettings, resolve
from hub.models.enums import ContactPointKind
from hub.sync.records import AddressData, ContactPointData, PersonData
from tests.identity import febrl
from tests.identity.synthetic import customers


@pytest.fixture(scope="module")
def synthetic():
    data = customers(6000, seed=11)
    return data, resolve(data.records)


def test_em_finds_the_known_duplicates(synthetic):
    data, resolution = synthetic
    truth = {r.key: e for r, e in zip(data.records, data.entities, strict=True)}
    found = febrl.scores(resolution.clusters, truth)
    assert resolution.model.converged
    assert found.precision > 0.99 and found.recall > 0.98, found


def test_clusters_are_connected_components_of_links(synthetic):
    _, resolution = synthetic
    cluster = {key: index for index, c in enumerate(resolution.clusters) for key in c}
    for link in resolution.links:
        assert cluster[link.left] == cluster[link.right]
    linked = {(link.left, link.right) for link in resolution.links}
    for c in resolution.clusters:
        assert any((a, b) in linked or (b, a) in linked for a, b in combinations(c, 2))
    some = resolution.clusters[0]
    assert resolution.cluster_of(some[0]) == some
    assert resolution.cluster_of("nobody") == ("nobody",)


def test_every_decision_carries_its_evidence(synthetic):
    _, resolution = synthetic
    fields = [c.name for c in ResolveSettings().comparisons]
    for decision in [*resolution.links[:50], *resolution.suggestions[:50]]:
        assert [e.field for e in decision.evidence] == fields
        if decision.rule is None:
            assert sum(e.weight for e in decision.evidence) + resolution.model.prior_weight == \
                pytest.approx(decision.weight)
    review = resolution.suggestions
    assert review and all(s.verdict is Verdict.REVIEW for s in review)
    assert all(0.5 <= s.probability < 0.95 for s in review)
    assert [s.probability for s in review] == sorted((s.probability for s in review), reverse=True)


def _person(given: str, family: str, email: str | None = None, phone: str | None = None,
            city: str = "Berlin", street: str = "Hauptstr. 1") -> PersonData:
    points = tuple(p for p in (
        email and ContactPointData(ContactPointKind.EMAIL, email),
        phone and ContactPointData(ContactPointKind.PHONE, phone),
    ) if p)
    return PersonData(given_name=given, family_name=family, contact_points=points,
                      addresses=(AddressData(line1=street, city=city, country="DE"),))


def test_a_shared_email_phone_or_identity_matches_whatever_else_differs():
    records = [
        PersonRecord("a", _person("Anna", "Schmidt", email="Anna@Example.org")),
        PersonRecord("b", _person("Bernd", "Meyer", email="anna@example.org ", city="Köln",
                                  street="Ring 5")),
        PersonRecord("c", _person("Carl", "Vogel", phone="0151 23456789", street="Weg 2")),
        PersonRecord("d", _person("Dora", "Klein", phone="+49 151 234 567 89", city="Bonn",
                                  street="Allee 9")),
        PersonRecord("e", _person("Emil", "Roth", street="Platz 3"),
                     identities=("shop:customer:7",)),
        PersonRecord("f", _person("Frieda", "Lang", city="Kiel", street="Damm 4"),
                     identities=("shop:customer:7",)),
        PersonRecord("g", _person("Gustav", "Weiss", city="Jena", street="Gasse 8")),
    ]
    # Far too few pairs to learn from: these are the rules alone, the model stays out.
    resolution = resolve(records, ResolveSettings(thresholds=Thresholds(0.999999, 0.99)))
    assert sorted(resolution.clusters) == [("a", "b"), ("c", "d"), ("e", "f")]
    rules = {(d.left, d.right): d.rule for d in resolution.links}
    assert rules == {("a", "b"): "email", ("c", "d"): "phone", ("e", "f"): "identity"}
    assert all(d.probability == 1.0 and d.verdict is Verdict.MATCH for d in resolution.links)
    by_field = {e.field: e.level for e in resolution.links[0].evidence}
    assert by_field["email"] == "exact" and by_field["given_name"] == "different"


def test_progress_is_reported_for_every_stage(synthetic):
    data, _ = synthetic
    seen: list[Progress] = []
    resolve(data.records[:1500], ResolveSettings(compare_batch=200), progress=seen.append)
    stages = [p.stage for p in seen]
    assert stages[0] == "normalise" and stages[-1] == "decide"
    assert {"block", "compare", "train"} <= set(stages)
    compares = [p for p in seen if p.stage == "compare"]
    assert len(compares) > 1 and compares[-1].done == compares[-1].total


def test_thresholds_are_settings(synthetic):
    data, default = synthetic
    strict = resolve(data.records, replace(ResolveSettings(),
                                           thresholds=Thresholds(auto_merge=0.999, review=0.9)))
    assert sum(map(len, strict.clusters)) <= sum(map(len, default.clusters))
    assert all(s.probability >= 0.9 for s in strict.suggestions)


def test_tiny_inputs():
    assert resolve([]).clusters == []
    one = resolve([PersonRecord(1, _person("Ann", "Lee"))])
    assert one.clusters == [] and len(one.links) == 0 and len(one.suggestions) == 0


def test_households_are_not_merged(synthetic):
    # Two people sharing a family name and an address, with their own given names and birth
    # dates: address and family name are read together, so the address adds little.
    data, resolution = synthetic
    people = {p.key: p for p in resolution.people}
    home = {}
    for record, entity in zip(data.records, data.entities, strict=True):
        p = people[record.key]
        if p.family_name and p.street and p.postcode:
            home.setdefault((p.family_name, p.street, p.postcode), []).append((record.key, entity))
    households = [(a, b) for found in home.values() for (a, x), (b, y) in combinations(found, 2)
                  if x != y]
    merged = [(a, b) for a, b in households if b in resolution.cluster_of(a)]
    assert len(households) > 100
    assert len(merged) <= 0.02 * len(households), merged[:5]


def test_a_duplicate_is_merged_where_a_household_member_is_not(synthetic):
    # One person again, with given and family name swapped and day and month swapped, and a
    # new person at the same address with the same family name: neither shares an e-mail or
    # a phone, so only the model decides.
    data, _ = synthetic
    original = next(r for r in data.records
                    if r.person.given_name and r.person.family_name and r.birth_date
                    and str(r.birth_date)[8:] < "13" and r.person.addresses[0].line1
                    and r.person.addresses[0].city and r.person.addresses[0].postal_code)
    born = str(original.birth_date)  # ISO
    duplicate = PersonRecord("duplicate", replace(
        original.person, given_name=original.person.family_name,
        family_name=original.person.given_name, contact_points=()),
        birth_date=f"{born[:4]}-{born[8:]}-{born[5:7]}")
    member = PersonRecord("member", replace(original.person, given_name="Zebulon",
                                            contact_points=()), birth_date="1931-12-30")
    resolution = resolve([*data.records, duplicate, member])
    assert "duplicate" in resolution.cluster_of(original.key)
    assert "member" not in resolution.cluster_of(original.key)
