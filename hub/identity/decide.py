"""Deciding whether a compared pair is one person: rules first, then a Fellegi-Sunter model.

Deterministic: a pair agreeing exactly on a decisive field (normalised e-mail,
phone, external identity) is a match whatever else differs.

Probabilistic: for each field level, ``m`` is how often two records of the
same person show it and ``u`` how often two different people do; the level's
match weight is ``log2(m / u)``. The weights of a pair's levels, plus the prior
log-odds of two records taken at random being one person, sum to its score,
which turns into a probability. ``m``, ``u`` and the prior are estimated from
the unlabelled pairs by expectation-maximisation (``fit``); ``u`` starts from
random pairs (almost all non-matches). A conditional comparison (address
given family name) has its m and u per condition. Evidence keeps each
field's level and weight, so a reviewer sees why.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hub.identity.compare import MISSING, Comparison

# A level never seen in one class still gets a little probability: no weight is infinite.
_SMOOTHING = 1e-6


class Verdict(enum.StrEnum):
    MATCH = "MATCH"  # at or above the auto-merge threshold, or a decisive rule
    REVIEW = "REVIEW"  # in the review band: a person should look
    DISTINCT = "DISTINCT"


@dataclass(frozen=True)
class Thresholds:
    """Match probabilities: merge at ``auto_merge`` and above, suggest from ``review`` up."""

    auto_merge: float = 0.95
    review: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.review <= self.auto_merge < 1:
            raise ValueError("thresholds need 0 < review <= auto_merge < 1")


@dataclass
class MatchModel:
    """Fitted m and u per level of each modelled field, and the prior match probability."""

    comparisons: tuple[Comparison, ...]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    iterations: int = 0
    converged: bool = False
    history: list[float] = field(default_factory=list, repr=False)

    @property
    def weights(self) -> list[np.ndarray]:
        return [np.log2(m / u) for m, u in zip(self.m, self.u, strict=True)]

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def score(self, levels: np.ndarray) -> np.ndarray:
        """Total match weight of each row of levels (columns as ``comparisons``)."""
        total = np.full(len(levels), self.prior_weight)
        for index, weights in enumerate(self.weights):
            column = levels[:, index]
            known = column != MISSING
            total[known] += weights[column[known]]
        return total

    def describe(self) -> list[dict[str, object]]:
        """The fitted parameters, one row per field level, for docs and logs."""
        return [
            {"field": c.name, "level": label, "m": float(m[k]), "u": float(u[k]),
             "weight": float(np.log2(m[k] / u[k]))}
            for c, m, u in zip(self.comparisons, self.m, self.u, strict=True)
            for k, label in enumerate(c.labels)
        ]


def probability(weight: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.asarray(weight, dtype=float)))


def fit(
    comparisons: Sequence[Comparison],
    levels: np.ndarray,
    random_levels: np.ndarray,
    population: int,
    *,
    known: np.ndarray | None = None,
    min_known: int = 200,
    train_u: bool = True,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
) -> MatchModel:
    """Expectation-maximisation of the model of all ``population`` pairs of records.

    ``levels`` are the candidate pairs' levels, ``random_levels`` those of a
    uniform sample of the other pairs, the ones no blocking rule brought
    together (columns as ``comparisons``). Those other pairs are taken as
    non-matches, so the expected matches come from the candidates alone while
    the prior divides them by every pair there is: the prior stays the tiny
    chance that two records taken at random are one person, and the agreement
    that blocking itself causes is not mistaken for evidence.

    ``u`` starts as the random pairs' level frequencies. With ``train_u`` each
    iteration counts it over all pairs: exactly on the candidates (each
    weighted by its chance of being a non-match), and from the sample for the
    rest. The rare agreements that decide most matches (same street, same
    family name and address) are nearly all among the candidates, so their
    ``u`` is counted, not guessed from a sample too small to hold any; a level
    no non-matching pair shows counts as one pair.

    ``known`` marks pairs already decided as matches by a rule (a shared
    e-mail): they count as matches throughout. When there are ``min_known`` of
    them, the other fields' ``m`` is how often those pairs show each level,
    and stays so: it is then learnt from real duplicates rather than from
    whatever else looks alike, such as two people of one household sharing a
    family name and an address.
    """
    comparisons = tuple(comparisons)
    random_frequency = [_normalised(_frequencies(random_levels[:, k], len(c.labels), None,
                                                 smooth=False), c.groups)
                        for k, c in enumerate(comparisons)]
    # The pairs no rule brought together, per level: estimated from the random sample.
    uncovered = max(population - len(levels), 0) / max(len(random_levels), 1)
    outside = [uncovered * _frequencies(random_levels[:, k], len(c.labels), None, smooth=False)
               for k, c in enumerate(comparisons)]
    patterns, counts, decided = _patterns(levels, comparisons, known)
    prior = min(0.5, 0.1 * max(float(counts.sum()), 1.0) / max(population, 1))
    model = MatchModel(comparisons, [_initial_m(c.groups) for c in comparisons],
                       random_frequency, prior)
    labelled = known is not None and int(known.sum()) >= min_known
    fixed_m = {
        k: _normalised(_frequencies(levels[known, k], len(c.labels), None, smooth=False),
                       c.groups)
        for k, c in enumerate(comparisons) if labelled and not c.decisive
    }
    model.m = [fixed_m.get(k, m) for k, m in enumerate(model.m)]
    if not counts.sum():
        return model
    for iteration in range(1, max_iterations + 1):
        matches = counts * np.where(decided, 1.0, probability(model.score(patterns)))
        expected = [_frequencies(patterns[:, k], len(c.labels), matches, smooth=False)
                    for k, c in enumerate(comparisons)]
        new_m = [fixed_m.get(k, _normalised(e, c.groups))
                 for k, (c, e) in enumerate(zip(comparisons, expected, strict=True))]
        new_u = [
            _pair_shares(_frequencies(patterns[:, k], len(c.labels), counts - matches,
                                      smooth=False) + outside[k], c.groups)
            if train_u else random_frequency[k]
            for k, c in enumerate(comparisons)
        ]
        new_prior = float(np.clip(matches.sum() / population, 1e-12, 0.5))
        change = max(
            abs(math.log(new_prior) - math.log(model.prior)),
            *(float(np.abs(a - b).max()) for a, b in zip(new_m, model.m, strict=True)),
            *(float(np.abs(a - b).max()) for a, b in zip(new_u, model.u, strict=True)),
        )
        model.m, model.u, model.prior = new_m, new_u, new_prior
        model.iterations = iteration
        model.history.append(change)
        if change < tolerance:
            model.converged = True
            break
    return model


def _initial_m(groups: np.ndarray) -> np.ndarray:
    # Matches mostly agree exactly; each step down is rarer (within each group).
    size = int((groups == 0).sum())
    m = np.array([0.5**(size - k) for k in range(size)])
    m[-1] = 0.0
    m[-1] = 1.0 - m.sum()
    return np.tile(m, int(groups.max()) + 1)


def _frequencies(column: np.ndarray, size: int, weights: np.ndarray | None,
                 smooth: bool = True) -> np.ndarray:
    """How often each level occurs (weighted), missing values left out; summing to 1 if smooth."""
    known = column != MISSING
    w = None if weights is None else weights[known]
    counts = np.bincount(column[known].astype(np.int64), weights=w, minlength=size)[:size]
    return _normalised(counts.astype(float)) if smooth else counts.astype(float)


def _pair_shares(pairs: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Shares of pair counts, each level counted one pair more: a level no non-matching pair
    shows is as likely as one pair, not impossible.

    In a conditional comparison (several groups) each group's shares are averaged with the
    shares of all the groups together: a dependence between the fields counts as far as the
    data shows it, and a combination no group has seen keeps its unconditional chance.
    """
    if not groups.any():
        pairs = pairs + 1.0
        return pairs / pairs.sum()
    size = int((groups == 0).sum())
    overall = np.tile(_pair_shares(pairs.reshape(-1, size).sum(axis=0), groups[:size]),
                      int(groups.max()) + 1)
    within = pairs / np.maximum(np.bincount(groups, weights=pairs), 1.0)[groups]
    return (within + overall) / 2


def _normalised(counts: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Shares summing to 1 (within each group), smoothed so that none is 0."""
    if groups is None:
        groups = np.zeros(len(counts), dtype=np.int64)
    totals = np.bincount(groups, weights=counts)
    counts = counts + _SMOOTHING * np.maximum(totals, 1.0)[groups]
    return counts / np.bincount(groups, weights=counts)[groups]


def _patterns(levels: np.ndarray, comparisons: Sequence[Comparison],
              known: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``levels`` (and ``known``), how often each occurs, and which are known."""
    if not len(levels):
        return levels, np.zeros(0), np.zeros(0, dtype=bool)
    code = np.zeros(len(levels), dtype=np.int64)
    for k, c in enumerate(comparisons):
        code = code * (len(c.labels) + 1) + (levels[:, k].astype(np.int64) + 1)
    if known is not None:
        code = code * 2 + known
    _, first, counts = np.unique(code, return_index=True, return_counts=True)
    decided = known[first] if known is not None else np.zeros(len(first), dtype=bool)
    return levels[first], counts.astype(float), decided


@dataclass(frozen=True, slots=True)
class Evidence:
    field: str
    level: str
    weight: float  # log2(m/u); 0 when a side has no value


@dataclass(frozen=True, slots=True)
class Decision:
    """What was decided about one pair, and why."""

    left: Hashable
    right: Hashable
    verdict: Verdict
    probability: float
    weight: float
    rule: str | None  # the decisive field that matched, when a rule decided
    evidence: tuple[Evidence, ...]


def term_adjustment(model: MatchModel, field: int, frequency: np.ndarray) -> np.ndarray:
    """Extra weight of an exact agreement on a value this frequent: ``log2(u_exact / frequency)``.

    ``u_exact`` is the chance that two different people agree on the field at
    all; agreeing on a value only a few people have is rarer than that, on a
    common one more frequent.
    """
    u_exact = model.u[field][-1]
    return np.log2(u_exact / frequency)


def evidence(comparisons: Sequence[Comparison], levels: Sequence[int],
             weights: Sequence[float]) -> tuple[Evidence, ...]:
    """Each field's level and the weight it added to the score."""
    return tuple(
        Evidence(c.name, "missing" if level == MISSING else c.labels[level], weight)
        for c, level, weight in zip(comparisons, levels, weights, strict=True)
    )


def decisive_rule(comparisons: Sequence[Comparison], levels: np.ndarray) -> np.ndarray:
    """Per pair, the index of the first decisive field agreeing exactly, else -1."""
    rule = np.full(len(levels), -1, dtype=np.int64)
    for index in reversed(range(len(comparisons))):
        if comparisons[index].decisive:
            rule[levels[:, index] == comparisons[index].exact] = index
    return rule
