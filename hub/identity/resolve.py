"""Resolving a batch of person records into people: normalise -> block -> compare -> decide.

``resolve`` is a pure function over records: it reads no database and writes
nothing. Pairs that a decisive rule matches or whose probability reaches the
auto-merge threshold are linked; the connected components of the links
(union-find) are the clusters, each one person. Pairs in the review band that
did not end up in one cluster anyway are returned as suggestions, with the
evidence a reviewer needs. Merging, survivorship and unmerge build on this.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from hub.identity.block import (
    DEFAULT_RULES,
    BlockingRule,
    Candidates,
    SkippedBlock,
    candidate_pairs,
)
from hub.identity.compare import DEFAULT_COMPARISONS, MISSING, Columns, Comparison
from hub.identity.decide import (
    Decision,
    MatchModel,
    Thresholds,
    Verdict,
    decisive_rule,
    evidence,
    fit,
    probability,
    term_adjustment,
)
from hub.identity.normalise import NormalisedPerson, PersonRecord, normalise


@dataclass(frozen=True)
class ResolveSettings:
    thresholds: Thresholds = field(default_factory=Thresholds)
    # Blocks up to full_block_size give all their pairs, larger ones pair each record with the
    # next `window` in name order; over max_block_size (or over full_block_size for e-mail,
    # phone and identity) they are skipped and reported.
    full_block_size: int = 16
    window: int = 6
    max_block_size: int = 1000
    # Random pairs whose level frequencies start u off; capped by the pairs there are.
    random_pairs: int = 200_000
    # Whether EM refines u (taking the expected matches out), or keeps the random pairs' u.
    train_u: bool = True
    # Rule-matched pairs needed before they, not EM, give the other fields' m.
    min_known: int = 200
    max_iterations: int = 200
    tolerance: float = 1e-6
    # Pairs compared per batch: bounds the memory of one step.
    compare_batch: int = 1_000_000
    # Country for national phone numbers when a record's address and locale name none.
    default_region: str | None = None
    seed: int = 0
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS


@dataclass(frozen=True)
class Progress:
    stage: str  # "normalise", "block", "compare", "train", "decide"
    done: int
    total: int


@dataclass
class Stats:
    records: int = 0
    candidate_pairs: int = 0
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks: list[SkippedBlock] = field(default_factory=list)
    matched_by_rule: int = 0
    matched_by_score: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Resolution:
    """Clusters of two or more records that are one person, the links that made them, and
    the review-band suggestions between different clusters, most likely first."""

    clusters: list[tuple[Hashable, ...]]
    links: Sequence[Decision]
    suggestions: Sequence[Decision]
    model: MatchModel
    stats: Stats
    people: list[NormalisedPerson] = field(repr=False, default_factory=list)
    _index: dict[Hashable, tuple[Hashable, ...]] | None = field(
        default=None, init=False, repr=False)

    def cluster_of(self, key: Hashable) -> tuple[Hashable, ...]:
        """The keys resolved to the same person as ``key`` (just ``(key,)`` when alone)."""
        if self._index is None:
            self._index = {k: c for c in self.clusters for k in c}
        return self._index.get(key, (key,))


def resolve(
    records: Sequence[PersonRecord],
    settings: ResolveSettings = ResolveSettings(),
    progress: Callable[[Progress], None] | None = None,
) -> Resolution:
    """Resolve a batch; ``progress`` hears of each stage and of each batch of blocks or pairs."""
    report = progress or (lambda _: None)
    stats = Stats(records=len(records))
    clock = _Clock(stats.seconds)

    people = [normalise(r, settings.default_region) for r in records]
    report(Progress("normalise", len(people), len(people)))
    clock.lap("normalise")

    candidates = candidate_pairs(
        people, settings.rules, full_block_size=settings.full_block_size,
        window=settings.window, max_block_size=settings.max_block_size,
        on_batch=lambda done, total: report(Progress("block", done, total)),
    )
    stats.candidate_pairs = len(candidates)
    stats.pairs_by_rule = candidates.pairs_by_rule
    stats.skipped_blocks = candidates.skipped
    clock.lap("block")

    columns = Columns.encode(people, settings.comparisons)
    levels = np.empty((len(candidates), len(settings.comparisons)), dtype=np.int8)
    for part in _batches(len(candidates), settings.compare_batch):
        levels[part] = columns.compare(candidates.left[part], candidates.right[part])
        report(Progress("compare", part.stop, len(candidates)))
    clock.lap("compare")

    modelled = [k for k, c in enumerate(settings.comparisons) if c.in_model]
    rules = decisive_rule(settings.comparisons, levels)
    model = fit(
        [settings.comparisons[k] for k in modelled],
        levels[:, modelled],
        columns.compare(*_random_pairs(len(people), settings, candidates))[:, modelled],
        population=len(people) * (len(people) - 1) // 2,
        known=rules >= 0,
        min_known=settings.min_known,
        train_u=settings.train_u,
        max_iterations=settings.max_iterations,
        tolerance=settings.tolerance,
    )
    report(Progress("train", model.iterations, settings.max_iterations))
    clock.lap("train")

    resolution = _decide(people, candidates.left, candidates.right, levels, rules, model,
                         _FieldWeights(model, columns, modelled), settings)
    resolution.stats = stats
    stats.matched_by_rule = int((rules >= 0).sum())
    stats.matched_by_score = len(resolution.links) - stats.matched_by_rule
    report(Progress("decide", len(candidates), len(candidates)))
    clock.lap("decide")
    return resolution


def _decide(people: list[NormalisedPerson], left: np.ndarray, right: np.ndarray,
            levels: np.ndarray, rules: np.ndarray, model: MatchModel,
            field_weights: _FieldWeights, settings: ResolveSettings) -> Resolution:
    comparisons = settings.comparisons
    weights = np.zeros(len(left))
    for part in _batches(len(left), settings.compare_batch):
        weights[part] = field_weights.of(levels[part], left[part]).sum(axis=1)
    weights += model.prior_weight
    chances = probability(weights)
    linked = (rules >= 0) | (chances >= settings.thresholds.auto_merge)
    groups = _UnionFind(len(people))
    for i, j in zip(left[linked].tolist(), right[linked].tolist(), strict=True):
        groups.union(i, j)
    roots = groups.roots()
    review = ~linked & (chances >= settings.thresholds.review)
    review[review] = roots[left[review]] != roots[right[review]]

    suggested = np.flatnonzero(review)
    suggested = suggested[np.argsort(-chances[suggested], kind="stable")]
    keys = [p.key for p in people]

    def decisions(rows: np.ndarray, verdict: Verdict) -> Decisions:
        return Decisions(
            verdict, comparisons, keys, left[rows], right[rows],
            np.where(rules[rows] >= 0, 1.0, chances[rows]), weights[rows], rules[rows],
            levels[rows], field_weights.of(levels[rows], left[rows]),
        )

    return Resolution(_clusters(people, roots), decisions(np.flatnonzero(linked), Verdict.MATCH),
                      decisions(suggested, Verdict.REVIEW), model, Stats(), people)


class Decisions(Sequence[Decision]):
    """Decisions kept as arrays, each ``Decision`` built when asked for: a million links
    with their evidence would otherwise be tens of millions of objects."""

    def __init__(self, verdict: Verdict, comparisons: Sequence[Comparison],
                 keys: Sequence[Hashable], left: np.ndarray, right: np.ndarray,
                 probabilities: np.ndarray, weights: np.ndarray, rules: np.ndarray,
                 levels: np.ndarray, field_weights: np.ndarray) -> None:
        self.verdict, self.comparisons, self.keys = verdict, tuple(comparisons), keys
        self.left, self.right, self.rules = left, right, rules
        self.probabilities, self.weights = probabilities, weights
        self.levels, self.field_weights = levels, field_weights

    def __len__(self) -> int:
        return len(self.left)

    @overload
    def __getitem__(self, index: int) -> Decision: ...
    @overload
    def __getitem__(self, index: slice) -> list[Decision]: ...
    def __getitem__(self, index: int | slice) -> Decision | list[Decision]:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        rule = int(self.rules[index])
        return Decision(
            left=self.keys[self.left[index]], right=self.keys[self.right[index]],
            verdict=self.verdict, probability=float(self.probabilities[index]),
            weight=float(self.weights[index]),
            rule=self.comparisons[rule].name if rule >= 0 else None,
            evidence=evidence(self.comparisons, self.levels[index].tolist(),
                              self.field_weights[index].tolist()),
        )


def _batches(size: int, step: int) -> list[slice]:
    return [slice(start, min(start + step, size)) for start in range(0, size, step)]


class _FieldWeights:
    """Each field's match weight for pairs: its level's weight, plus the term-frequency
    adjustment of an exact agreement; 0 where a value is missing or the field is not modelled."""

    def __init__(self, model: MatchModel, columns: Columns, modelled: list[int]) -> None:
        self.model, self.columns, self.modelled = model, columns, modelled
        self.tables = model.weights

    def of(self, levels: np.ndarray, left: np.ndarray) -> np.ndarray:
        weights = np.zeros(levels.shape, dtype=float)
        for m, k in enumerate(self.modelled):
            column = levels[:, k]
            known = column != MISSING
            weights[known, k] = self.tables[m][column[known]]
            comparison = self.columns.comparisons[k]
            if comparison.term_frequencies:
                exact = np.flatnonzero(column == comparison.exact)
                weights[exact, k] += term_adjustment(
                    self.model, m, self.columns.frequencies(k, left[exact]))
        return weights


def _random_pairs(n: int, settings: ResolveSettings,
                  candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """A uniform sample of the pairs that are not candidates (those are counted exactly)."""
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rng = np.random.default_rng(settings.seed)
    size = min(settings.random_pairs, n * (n - 1) // 2)
    left = rng.integers(0, n, size)
    right = (left + rng.integers(1, n, size)) % n  # never the record itself
    left, right = np.minimum(left, right), np.maximum(left, right)
    outside = ~np.isin(left * n + right, candidates.left * n + candidates.right)
    return left[outside], right[outside]


def _clusters(people: Sequence[NormalisedPerson], roots: np.ndarray) -> list[tuple[Hashable, ...]]:
    order = np.argsort(roots, kind="stable")
    sorted_roots = roots[order]
    bounds = np.flatnonzero(np.r_[True, sorted_roots[1:] != sorted_roots[:-1], True])
    return [
        tuple(people[i].key for i in order[a:b].tolist())
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        if b - a > 1
    ]


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:  # path compression
            parent[item], item = root, parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def roots(self) -> np.ndarray:
        return np.fromiter((self.find(i) for i in range(len(self.parent))), dtype=np.int64,
                           count=len(self.parent))


class _Clock:
    def __init__(self, into: dict[str, float]) -> None:
        self.into, self.last = into, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.into[stage] = now - self.last
        self.last = now
