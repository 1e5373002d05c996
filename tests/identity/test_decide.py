"""Fellegi-Sunter by EM: recovers known m and u, and the prior of a random pair matching."""

from __future__ import annotations

import numpy as np
import pytest

from hub.identity.compare import MISSING, edit_distance, exact, given, jaro_winkler
from hub.identity.decide import (
    MatchModel,
    Thresholds,
    decisive_rule,
    evidence,
    fit,
    probability,
)

FIELDS = (
    jaro_winkler("given_name", lambda p: p.given_name),
    jaro_winkler("family_name", lambda p: p.family_name),
    edit_distance("birth_date", lambda p: None),
    exact("email", lambda p: p.emails, decisive=True),
)
# The truth the EM should find: how often matches (m) and non-matches (u) show each level.
M = [np.array([0.05, 0.05, 0.1, 0.8]), np.array([0.05, 0.05, 0.1, 0.8]),
     np.array([0.05, 0.05, 0.1, 0.8]), np.array([0.3, 0.7])]
U = [np.array([0.9, 0.06, 0.03, 0.01]), np.array([0.95, 0.03, 0.015, 0.005]),
     np.array([0.95, 0.04, 0.0099, 0.0001]), np.array([0.9999, 0.0001])]


def _sample(rng: np.random.Generator, size: int, matches: bool) -> np.ndarray:
    table = M if matches else U
    return np.stack([rng.choice(len(p), size=size, p=p) for p in table], axis=1).astype(np.int8)


def test_em_recovers_m_and_the_prior():
    rng = np.random.default_rng(7)
    population = 50_000_000
    true_matches = 20_000
    # Candidates: every match, plus non-matches that blocking let through (they agree more
    # than random pairs do on names; blocking picks on names).
    non_matches = _sample(rng, 200_000, matches=False)
    non_matches[:, 1] = np.maximum(non_matches[:, 1], rng.choice(4, 200_000, p=[0.5, 0.2, 0.1, 0.2]))
    candidates = np.concatenate([_sample(rng, true_matches, matches=True), non_matches])
    candidates[rng.random(len(candidates)) < 0.1, 3] = MISSING  # some have no e-mail
    # The pairs outside the candidates are the other non-matches: what blocking took of the
    # family-name agreement is missing from them.
    random_pairs = _sample(rng, 200_000, matches=False)
    taken = np.bincount(non_matches[:, 1], minlength=4)
    outside = population * U[1] - taken
    random_pairs[:, 1] = rng.choice(4, 200_000, p=outside / outside.sum())
    model = fit(FIELDS, candidates, random_pairs, population)
    assert model.converged
    assert model.prior == pytest.approx(true_matches / population, rel=0.15)
    for estimated, true in zip(model.m, M, strict=True):
        assert np.abs(estimated - true).max() < 0.05
    scores = probability(model.score(candidates))
    found = scores >= 0.95
    truth = np.arange(len(candidates)) < true_matches
    precision = (found & truth).sum() / found.sum()
    recall = (found & truth).sum() / truth.sum()
    # About as many as the true parameters would find.
    best = probability(MatchModel(FIELDS, M, U, true_matches / population).score(candidates))
    best_recall = ((best >= 0.95) & truth).sum() / truth.sum()
    assert precision > 0.99 and recall > best_recall - 0.02, (precision, recall, best_recall)


def test_rule_matched_pairs_fix_the_other_fields_m():
    rng = np.random.default_rng(3)
    matches = _sample(rng, 5000, matches=True)
    candidates = np.concatenate([matches, _sample(rng, 50_000, matches=False)])
    known = np.zeros(len(candidates), dtype=bool)
    known[:1000] = candidates[:1000, 3] == 1
    model = fit(FIELDS, candidates, _sample(rng, 100_000, matches=False), 10_000_000,
                known=known, min_known=100)
    expected = np.bincount(candidates[known, 0], minlength=4) / known.sum()
    assert np.abs(model.m[0] - expected).max() < 1e-3


def test_weights_are_log2_of_m_over_u_and_missing_counts_zero():
    rng = np.random.default_rng(1)
    model = fit(FIELDS, np.concatenate([_sample(rng, 2000, True), _sample(rng, 20000, False)]),
                _sample(rng, 50_000, False), 1_000_000)
    weights = model.weights
    assert weights[0][3] == pytest.approx(np.log2(model.m[0][3] / model.u[0][3]))
    row = np.array([[3, MISSING, MISSING, MISSING]], dtype=np.int8)
    assert model.score(row)[0] == pytest.approx(model.prior_weight + weights[0][3])


def test_decisive_fields_decide_first():
    levels = np.array([[0, 0, 0, 1], [3, 3, 3, 0], [0, 0, 0, MISSING]], dtype=np.int8)
    assert decisive_rule(FIELDS, levels).tolist() == [3, -1, -1]


def test_evidence_names_levels_and_weights():
    found = evidence(FIELDS, [3, MISSING, 2, 1], [9.5, 0.0, 4.0, 13.0])
    assert [(e.field, e.level, e.weight) for e in found] == [
        ("given_name", "exact", 9.5), ("family_name", "missing", 0.0),
        ("birth_date", "1 edit", 4.0), ("email", "exact", 13.0)]


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError):
        Thresholds(auto_merge=0.5, review=0.9)
    assert probability(0.0) == pytest.approx(0.5)


def test_u_is_counted_on_the_candidates_and_sampled_only_outside_them():
    # Blocking on given name brings in 20,000 non-matching pairs that agree on it; no pair
    # outside the candidates does. u of that agreement is those pairs among every pair, not
    # the near-zero a random sample would show.
    rng = np.random.default_rng(5)
    population = 10_000_000
    blocked = _sample(rng, 20_000, matches=False)
    blocked[:, 0] = 3
    candidates = np.concatenate([_sample(rng, 2000, matches=True), blocked])
    outside = _sample(rng, 100_000, matches=False)
    outside[outside[:, 0] == 3, 0] = 0
    model = fit(FIELDS, candidates, outside, population)
    assert model.u[0][3] == pytest.approx(20_000 / population, rel=0.2)
    assert model.prior == pytest.approx(2000 / population, rel=0.2)


def test_a_conditional_comparison_has_m_and_u_per_condition():
    # "home" read apart by family name: among non-matches, a shared home is common when the
    # family name is shared too (a household), rare otherwise.
    home = given(exact("home", lambda p: None), "family_name")
    assert home.groups.tolist() == [0, 0, 1, 1]
    fields = (*FIELDS, home)
    rng = np.random.default_rng(9)
    matches = np.column_stack([_sample(rng, 3000, matches=True), np.full(3000, 3)])
    others = _sample(rng, 60_000, matches=False)
    same_family = others[:, 1] == 3
    shared_home = np.where(same_family, rng.random(len(others)) < 0.5,
                           rng.random(len(others)) < 0.001)
    others = np.column_stack([others, shared_home + 2 * same_family])
    candidates = np.concatenate([matches, others]).astype(np.int8)
    outside = _sample(rng, 100_000, matches=False)
    outside = np.column_stack([outside, 2 * (outside[:, 1] == 3)]).astype(np.int8)
    model = fit(fields, candidates, outside, 5_000_000)
    m, u = model.m[-1], model.u[-1]
    assert m[:2].sum() == pytest.approx(1) and m[2:].sum() == pytest.approx(1)
    assert u[:2].sum() == pytest.approx(1) and u[2:].sum() == pytest.approx(1)
    # A shared home weighs far less among people who share a family name.
    assert model.weights[-1][3] < model.weights[-1][1] - 4
