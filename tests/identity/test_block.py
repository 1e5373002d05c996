"""Blocking: true duplicates meet, the number of pairs grows about linearly, giant blocks are cut."""

from __future__ import annotations

import itertools
import logging
from datetime import date

import numpy as np

from hub.identity.block import BlockingRule, candidate_pairs
from hub.identity.normalise import NormalisedPerson, normalise
from tests.identity.synthetic import customers


def _people(n: int, seed: int = 1) -> tuple[list[NormalisedPerson], list[int]]:
    data = customers(n, seed=seed)
    return [normalise(r) for r in data.records], data.entities


def test_candidate_pairs_grow_about_linearly():
    small, _ = _people(4000)
    large, _ = _people(8000)
    pairs_small = len(candidate_pairs(small))
    pairs_large = len(candidate_pairs(large))
    # Quadratic growth would be 4x; allow some superlinearity from shared names and postcodes.
    assert pairs_large / pairs_small < 2.6, (pairs_small, pairs_large)
    assert pairs_large < 3 * len(large)


def test_true_duplicates_are_almost_all_candidates():
    people, entities = _people(4000)
    found = candidate_pairs(people)
    pairs = set(zip(found.left.tolist(), found.right.tolist(), strict=True))
    by_entity: dict[int, list[int]] = {}
    for index, entity in enumerate(entities):
        by_entity.setdefault(entity, []).append(index)
    truth = {(a, b) for group in by_entity.values() for i, a in enumerate(group)
             for b in group[i + 1:]}
    assert len(truth & pairs) / len(truth) > 0.98


def test_pairs_are_unique_and_ordered():
    people, _ = _people(2000)
    found = candidate_pairs(people)
    assert (found.left < found.right).all()
    assert len(set(zip(found.left.tolist(), found.right.tolist(), strict=True))) == len(found)
    assert sum(found.pairs_by_rule.values()) >= len(found)  # rules overlap, pairs do not repeat


def test_giant_blocks_are_skipped_and_logged(caplog):
    shared = [NormalisedPerson(key=i, emails=("office@example.com",)) for i in range(30)]
    couple = [NormalisedPerson(key=i, emails=("two@example.com",)) for i in (30, 31)]
    with caplog.at_level(logging.WARNING, logger="hub.identity.block"):
        found = candidate_pairs(shared + couple, full_block_size=10)
    assert [(s.rule, s.key, s.size) for s in found.skipped] == [
        ("email", "office@example.com", 30)]
    assert list(zip(found.left.tolist(), found.right.tolist(), strict=True)) == [(30, 31)]
    assert "1 email blocks" in caplog.text and "office@example.com" in caplog.text


def test_progress_is_reported_per_batch_of_blocks():
    people = [NormalisedPerson(key=i, family_name="smith", birth_date=date(1980, 1, 1 + i % 20),
                               given_name="ann") for i in range(200)]
    seen: list[tuple[int, int]] = []
    found = candidate_pairs(people, batch_blocks=7, on_batch=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (found.blocks, found.blocks)
    assert len(seen) > 2 and all(a <= b for (a, _), (b, _) in itertools.pairwise(seen))


def test_large_blocks_pair_neighbours_in_name_order():
    people = [NormalisedPerson(key=i, family_name=f"name{i:03d}", postcode="2000",
                               given_name="ann") for i in range(100)]
    found = candidate_pairs(people, full_block_size=10, window=3)
    pairs = set(zip(found.left.tolist(), found.right.tolist(), strict=True))
    assert (0, 1) in pairs and (0, 3) in pairs and (0, 4) not in pairs
    assert len(found) <= 3 * len(people) * 2  # two rules see this block (postcode, names)
    assert not found.skipped
    assert candidate_pairs(people, full_block_size=10, max_block_size=50).skipped


def test_swapped_names_share_a_block():
    a = NormalisedPerson(key="a", given_name="nguyen", family_name="sophie")
    b = NormalisedPerson(key="b", given_name="sophie", family_name="nguyen")
    found = candidate_pairs([a, b])
    assert found.pairs_by_rule["names"] == 1


def test_custom_rules():
    rule = BlockingRule("city", lambda p: (p.city,) if p.city else ())
    people = [NormalisedPerson(key=i, city=c) for i, c in enumerate(["x", "y", "x", None, "x"])]
    found = candidate_pairs(people, [rule])
    assert sorted(zip(found.left.tolist(), found.right.tolist(), strict=True)) == [
        (0, 2), (0, 4), (2, 4)]
    assert np.issubdtype(found.left.dtype, np.integer)
