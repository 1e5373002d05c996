"""Comparing candidate pairs field by field: each field gives a discrete agreement level.

A level is an index into the comparison's ``labels``: 0 is "different", the
last is "exact", the ones between are degrees of "close" (Jaro-Winkler
similarity for names and places, shared words for streets, edit distance for
dates, postcodes, e-mails and phones, where a typed, dropped, added or swapped
character is one edit). -1 means a side has no value: it says nothing either way.

The work is vectorised: every field is dictionary-encoded once
(``Columns``), equal codes are exact at once, and the similarity of each
distinct pair of differing values is computed once, in C, by rapidfuzz.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler

from hub.identity.normalise import NormalisedPerson

MISSING = -1

Values = Callable[[NormalisedPerson], str | tuple[str, ...] | None]


@dataclass(frozen=True)
class Comparison:
    """One field's levels.

    ``similarity`` maps to "close" levels by ``thresholds`` (highest first); a
    comparison without one has only "different" and "exact". ``decisive``
    makes an exact agreement a match on its own (DESIGN §5's deterministic
    rule); ``in_model`` False keeps a field out of the probabilistic score.
    """

    name: str
    values: Values
    labels: tuple[str, ...] = ("different", "exact")
    similarity: Callable[[Sequence[str], Sequence[str], float], np.ndarray] | None = None
    thresholds: tuple[float, ...] = ()
    decisive: bool = False
    in_model: bool = True
    # Another field whose values sources put in this one by mistake (given <-> family name).
    swaps_with: str | None = None
    # Exact agreement on a rare value weighs more than on a common one.
    term_frequencies: bool = False
    # A comparison of correlated fields as one: ``combine`` turns the parts' levels into its own.
    parts: tuple[Comparison, ...] = ()
    combine: Callable[..., np.ndarray] | None = None
    # Levels read apart by whether this other field agrees exactly (see ``given``).
    given_field: str | None = None

    @property
    def exact(self) -> int:
        return len(self.labels) - 1

    @property
    def groups(self) -> np.ndarray:
        """Per level, the condition it is read under: m and u sum to 1 within each group."""
        size = len(self.labels) // 2 if self.given_field else len(self.labels)
        return np.arange(len(self.labels)) // size


def given(comparison: Comparison, other: str) -> Comparison:
    """``comparison`` read apart by whether the field ``other`` agrees exactly.

    Its m and u become conditional on that agreement, so the model no longer
    takes the two fields as independent where they are not: people who share a
    family name and an address are very often a household, two people, while
    those sharing just one of them rarely live together. Each level appears
    twice, with ``same <other>`` and ``other <other>``.
    """
    words = other.replace("_", " ")
    labels = (*(f"{label}, other {words}" for label in comparison.labels),
              *(f"{label}, same {words}" for label in comparison.labels))
    return replace(comparison, labels=labels, given_field=other)


# Each scorer takes the lowest score that matters: rapidfuzz stops early below it (and returns
# a score that is below it too), which makes the many clearly different pairs cheap.


def _jaro_winkler(a: Sequence[str], b: Sequence[str], cutoff: float) -> np.ndarray:
    return process.cpdist(a, b, scorer=JaroWinkler.normalized_similarity, score_cutoff=cutoff,
                          workers=-1)


def _words(a: Sequence[str], b: Sequence[str], cutoff: float) -> np.ndarray:
    # Words in any order. Extra words on one side (a building, a unit) count half: the mean of
    # the token-set ratio, which ignores them, and the token-sort ratio, which does not; so a
    # bare house number does not pass for a whole street.
    floor = max(0.0, 200 * cutoff - 100)
    shared = process.cpdist(a, b, scorer=fuzz.token_set_ratio, score_cutoff=floor, workers=-1)
    whole = process.cpdist(a, b, scorer=fuzz.token_sort_ratio, score_cutoff=floor, workers=-1)
    return (shared + whole) / 200


def _minus_levenshtein(a: Sequence[str], b: Sequence[str], cutoff: float) -> np.ndarray:
    # Negated so that, as for similarities, higher is closer.
    distance = process.cpdist(a, b, scorer=OSA.distance, score_cutoff=int(-cutoff),
                              workers=-1)
    return -distance.astype(np.int64)


def jaro_winkler(name: str, values: Values, thresholds: tuple[float, ...] = (0.92, 0.8),
                 **options: object) -> Comparison:
    labels = ("different", *(f"jaro-winkler >= {t:g}" for t in reversed(thresholds)), "exact")
    return Comparison(name, values, labels, _jaro_winkler, thresholds, **options)


def same_words(name: str, values: Values, thresholds: tuple[float, ...] = (0.9, 0.7),
               **options: object) -> Comparison:
    labels = ("different", *(f"same words >= {t:g}" for t in reversed(thresholds)), "exact")
    return Comparison(name, values, labels, _words, thresholds, **options)


def edit_distance(name: str, values: Values, distances: tuple[int, ...] = (1, 2),
                  **options: object) -> Comparison:
    labels = ("different", *(f"{d} edit{'s' * (d > 1)}" for d in reversed(distances)), "exact")
    return Comparison(name, values, labels, _minus_levenshtein, tuple(-d for d in distances),
                      **options)


def exact(name: str, values: Values, **options: object) -> Comparison:
    return Comparison(name, values, **options)


def address(name: str, street: Comparison, city: Comparison, postcode: Comparison) -> Comparison:
    """Street, city and postcode as one field: they move together, so they count once.

    Summed as three independent fields, two people at one address (a
    household) would outweigh their different names and birth dates. The
    levels are every street level (missing, different, similar, exact) with
    every level of the area, so that each combination gets its own weight:
    a new street in the same suburb and postcode is a move, the same street
    line in another town is rare.
    """
    labels = tuple(f"street {s}, {a}" for s in ("missing", *street.labels) for a in _AREA)
    return Comparison(name, lambda p: None, labels, parts=(street, city, postcode),
                      combine=_address_level)


# City (0 different, 1 similar, 2 exact) with postcode (0 different, 1 one edit, 2 exact).
_AREA = ("no area", "area different", "area similar", "city or postcode exact",
         "one exact, the other similar", "city and postcode exact")


def _address_level(street: np.ndarray, city: np.ndarray, postcode: np.ndarray) -> np.ndarray:
    area = np.zeros(len(street), dtype=np.int8)  # index into _AREA, "no area" when both missing
    area[(city >= 0) | (postcode >= 0)] = 1
    area[(city == 1) | (postcode == 1)] = 2
    area[(city == 2) | (postcode == 2)] = 3
    area[((city == 2) & (postcode == 1)) | ((city == 1) & (postcode == 2))] = 4
    area[(city == 2) & (postcode == 2)] = 5
    level = (street.astype(np.int8) + 1) * len(_AREA) + area
    level[(street == MISSING) & (area == 0)] = MISSING
    return level


def _date(person: NormalisedPerson) -> str | None:
    # Compared as YYYYMMDD text: a typed digit or swapped day and month is a small edit.
    return person.birth_date.strftime("%Y%m%d") if person.birth_date else None


DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    jaro_winkler("given_name", lambda p: p.given_name, swaps_with="family_name",
                 term_frequencies=True),
    jaro_winkler("family_name", lambda p: p.family_name, term_frequencies=True),
    edit_distance("birth_date", _date),
    edit_distance("email", lambda p: p.emails, (1,), decisive=True),
    edit_distance("phone", lambda p: p.phones, (1,), decisive=True),
    given(address(
        "address",
        same_words("street", lambda p: p.street),
        jaro_winkler("city", lambda p: p.city, (0.9,)),
        edit_distance("postcode", lambda p: p.postcode, (1,)),
    ), "family_name"),
    exact("identity", lambda p: p.identities, decisive=True, in_model=False),
)


@dataclass
class Column:
    """One field of every person, dictionary-encoded: ``codes[i]`` indexes ``vocabulary``.

    For a field with several values (e-mails, phones) the code is the first,
    and ``others`` holds every code of the people who have more than one.
    ``frequency[code]`` is the share of the people with a value who have that one.
    """

    codes: np.ndarray
    vocabulary: list[str]
    others: dict[int, frozenset[int]] = field(default_factory=dict)
    frequency: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class Columns:
    """Every comparison's field(s), encoded once for all the pairs to compare."""

    comparisons: tuple[Comparison, ...]
    columns: list[list[Column]]  # per comparison, one column per part (or just its own)

    @classmethod
    def encode(cls, people: Sequence[NormalisedPerson],
               comparisons: Sequence[Comparison] = DEFAULT_COMPARISONS) -> Columns:
        comparisons = tuple(comparisons)
        # Fields that may be swapped share one vocabulary, so that codes compare across them.
        shared: dict[str, dict[str, int]] = {}
        for c in comparisons:
            if c.swaps_with:
                shared[c.swaps_with] = shared[c.name] = {}
        columns = [
            [_encode(people, part.values, shared.get(part.name, {})) for part in c.parts or (c,)]
            for c in comparisons
        ]
        for own, c in zip(columns, comparisons, strict=True):
            if c.name in shared:
                own[0].vocabulary = list(shared[c.name])
        return cls(comparisons, columns)

    def compare(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Levels of the pairs ``(left[k], right[k])``: one row per pair, one column per field."""
        levels = np.empty((len(left), len(self.comparisons)), dtype=np.int8)
        for index, (comparison, columns) in enumerate(zip(self.comparisons, self.columns,
                                                          strict=True)):
            parts = [
                _levels(part, column, column.codes[left], column.codes[right], left, right)
                for part, column in zip(comparison.parts or (comparison,), columns, strict=True)
            ]
            levels[:, index] = comparison.combine(*parts) if comparison.combine else parts[0]
        for index, comparison in enumerate(self.comparisons):
            if comparison.swaps_with:
                self._swapped(levels, index, self.index(comparison.swaps_with), left, right)
        for index, comparison in enumerate(self.comparisons):
            if comparison.given_field:
                other = self.index(comparison.given_field)
                same = levels[:, other] == self.comparisons[other].exact
                column = levels[:, index]
                column[same & (column != MISSING)] += len(comparison.labels) // 2
        return levels

    def index(self, name: str) -> int:
        return next(k for k, c in enumerate(self.comparisons) if c.name == name)

    def frequencies(self, index: int, left: np.ndarray) -> np.ndarray:
        """The share of people having the value ``left`` has in the field: for exact agreements.

        For fields that may be swapped (given and family name) it is the larger of the value's
        shares in either: a pair agreeing crosswise on *Morrison* agrees on a common family
        name, however rare it is as a given name.
        """
        column = self.columns[index][0]
        codes = column.codes[left]
        found = np.where(codes >= 0, _share(column, codes), np.nan)
        own = self.comparisons[index]
        for k, c in enumerate(self.comparisons):
            if own.name == c.swaps_with or (own.swaps_with and own.swaps_with == c.name):
                found = np.fmax(found, np.where(codes >= 0, _share(self.columns[k][0], codes),
                                                np.nan))
        return found

    def _swapped(self, levels: np.ndarray, one: int, other: int, left: np.ndarray,
                 right: np.ndarray) -> None:
        """Where both fields disagree, compare each with the other's counterpart instead."""
        a, b = self.columns[one][0], self.columns[other][0]
        rows = np.flatnonzero((levels[:, one] == 0) & (levels[:, other] == 0))
        if not len(rows):
            return
        l, r = left[rows], right[rows]
        crossed_one = _levels(self.comparisons[one], a, a.codes[l], b.codes[r], l, r)
        crossed_other = _levels(self.comparisons[other], b, b.codes[l], a.codes[r], l, r)
        better = (crossed_one.astype(np.int16) + crossed_other) > 0
        levels[rows[better], one] = crossed_one[better]
        levels[rows[better], other] = crossed_other[better]


def _encode(people: Sequence[NormalisedPerson], values: Values, ids: dict[str, int]) -> Column:
    codes = np.full(len(people), MISSING, dtype=np.int32)
    others: dict[int, frozenset[int]] = {}
    for index, person in enumerate(people):
        value = values(person)
        if not value:
            continue
        if isinstance(value, str):
            codes[index] = ids.setdefault(value, len(ids))
            continue
        found = [ids.setdefault(v, len(ids)) for v in value]
        codes[index] = found[0]
        if len(found) > 1:
            others[index] = frozenset(found)
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(ids)).astype(float)
    return Column(codes, list(ids), others, counts / max(len(present), 1))


def _share(column: Column, codes: np.ndarray) -> np.ndarray:
    # Codes shared with another field may be past the end of this one's frequencies.
    known = codes < len(column.frequency)
    return np.where(known, column.frequency[np.where(known, np.maximum(codes, 0), 0)], 0.0)


def _levels(comparison: Comparison, column: Column, a: np.ndarray, b: np.ndarray,
            left: np.ndarray, right: np.ndarray) -> np.ndarray:
    levels = np.zeros(len(a), dtype=np.int8)
    missing = (a == MISSING) | (b == MISSING)
    same = (a == b) & ~missing
    if column.others:
        same |= _share_another(column.others, column.codes, left, right) & ~missing
    levels[missing] = MISSING
    levels[same] = comparison.exact
    if comparison.similarity is None:
        return levels
    differing = np.flatnonzero(~missing & ~same)
    if not len(differing):
        return levels
    # Each distinct pair of values is scored once, whichever side it is on.
    lo = np.minimum(a[differing], b[differing]).astype(np.int64)
    hi = np.maximum(a[differing], b[differing]).astype(np.int64)
    size = len(column.vocabulary)
    distinct, back = np.unique(lo * size + hi, return_inverse=True)
    vocabulary = column.vocabulary
    scores = comparison.similarity(
        [vocabulary[v] for v in (distinct // size).tolist()],
        [vocabulary[v] for v in (distinct % size).tolist()],
        min(comparison.thresholds),
    )
    close = np.zeros(len(distinct), dtype=np.int8)
    for rank, threshold in enumerate(sorted(comparison.thresholds), start=1):
        close[scores >= threshold] = rank
    levels[differing] = close[back]
    return levels


def _share_another(others: dict[int, frozenset[int]], codes: np.ndarray, left: np.ndarray,
                   right: np.ndarray) -> np.ndarray:
    """Whether a pair shares any value where one side has several (rare: a loop is fine)."""
    multi = np.fromiter(others, dtype=np.int64, count=len(others))
    pairs = np.flatnonzero(np.isin(left, multi) | np.isin(right, multi))
    shared = np.zeros(len(left), dtype=bool)
    for k in pairs.tolist():
        i, j = int(left[k]), int(right[k])
        mine = others.get(i, frozenset((int(codes[i]),)))
        theirs = others.get(j, frozenset((int(codes[j]),)))
        shared[k] = not mine.isdisjoint(theirs)
    return shared
