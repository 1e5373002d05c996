"""Blocking: which pairs of records are worth comparing at all.

Comparing every record with every other one is quadratic; a blocking rule
gives each record a few keys and only records sharing a key under the same rule
become a candidate pair. The rules are broad enough together that a true match
almost always shares at least one key.

Blocks must stay small for the cost to stay linear, but keys like "postcode +
initial" have a fixed number of values, so their blocks grow with the data. A
block of up to ``full_block_size`` records gives all its pairs; a larger one
only pairs each record with the next ``window`` records in name order (the
sorted-neighbourhood method), so similar names still meet at a cost linear in
the block. A block over ``max_block_size`` is skipped and reported, and so is
any block over ``full_block_size`` of a rule that may not be windowed: a
shared office e-mail must not chain a hundred colleagues into one customer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import jellyfish
import numpy as np

from hub.identity.normalise import NormalisedPerson

log = logging.getLogger(__name__)

Keys = Callable[[NormalisedPerson], Iterable[str]]


@dataclass(frozen=True)
class BlockingRule:
    name: str
    keys: Keys
    # Whether large blocks may be paired by name order; not for keys that decide a match.
    windowed: bool = True


def _one(*parts: object) -> tuple[str, ...]:
    """One key of all parts, or none when a part is missing."""
    return (":".join(map(str, parts)),) if all(parts) else ()


def _phonetic(text: str | None) -> str:
    # NYSIIS of the longest word: finer than Soundex, and robust to typos in vowels.
    if not text:
        return ""
    return jellyfish.nysiis(max(text.split(), key=len))


def _year(person: NormalisedPerson) -> int | None:
    return person.birth_date.year if person.birth_date else None


def _names(person: NormalisedPerson) -> tuple[str, ...]:
    # Given and family names in either order: sources swap them.
    if not (person.given_name and person.family_name):
        return ()
    return (":".join(sorted((person.given_name, person.family_name))),)


def _house_number(street: str | None) -> str:
    return next((word for word in (street or "").split() if word.isdigit()), "")


def _street_word(street: str | None) -> str:
    # The street's longest word that is not a number: its name, whatever the house number.
    words = [word for word in (street or "").split() if not word.isdigit()]
    return max(words, key=len) if words else ""


def _initials(person: NormalisedPerson) -> tuple[str, ...]:
    # Either name's initial, so that swapped given and family names still meet.
    return tuple({n[0] for n in (person.given_name, person.family_name) if n})


def _both_initials(person: NormalisedPerson) -> str:
    # Sorted, so that swapped names share the key.
    return "".join(sorted(n[0] for n in (person.given_name, person.family_name) if n))


def _with_initials(part: Callable[[NormalisedPerson], object]) -> Keys:
    return lambda p: tuple(f"{v}:{i}" for v in (part(p),) if v for i in sorted(_initials(p)))


DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("identity", lambda p: p.identities, windowed=False),
    BlockingRule("email", lambda p: p.emails, windowed=False),
    BlockingRule("phone", lambda p: p.phones, windowed=False),
    BlockingRule("names", _names),
    BlockingRule("given name + family phonetic",
                 lambda p: _one(p.given_name, _phonetic(p.family_name))),
    BlockingRule(
        "family phonetic + birth year", lambda p: _one(_phonetic(p.family_name), _year(p))
    ),
    BlockingRule("birth date + initial", _with_initials(lambda p: p.birth_date)),
    BlockingRule("postcode + initials", lambda p: _one(p.postcode, _both_initials(p))),
    BlockingRule("birth date + postcode", lambda p: _one(p.birth_date, p.postcode)),
    BlockingRule("family name + city", lambda p: _one(p.family_name, p.city)),
    BlockingRule("given name + city", lambda p: _one(p.given_name, p.city)),
    BlockingRule("birth date + city", lambda p: _one(p.birth_date, p.city)),
    BlockingRule("street", lambda p: _one(p.street)),
    BlockingRule("postcode + house number", lambda p: _one(p.postcode, _house_number(p.street))),
    BlockingRule("postcode + street name", lambda p: _one(p.postcode, _street_word(p.street))),
    BlockingRule("given name + postcode", lambda p: _one(p.given_name, p.postcode)),
    BlockingRule("family name + house number",
                 lambda p: _one(p.family_name, _house_number(p.street))),
    BlockingRule("street name + house number",
                 lambda p: _one(_street_word(p.street), _house_number(p.street))),
)


@dataclass(frozen=True)
class SkippedBlock:
    rule: str
    key: str
    size: int


@dataclass
class Candidates:
    """Candidate pairs as two index arrays into the people blocked, ``left < right``, no repeats."""

    left: np.ndarray
    right: np.ndarray
    blocks: int = 0
    skipped: list[SkippedBlock] = field(default_factory=list)
    pairs_by_rule: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.left)


def candidate_pairs(
    people: Sequence[NormalisedPerson],
    rules: Sequence[BlockingRule] = DEFAULT_RULES,
    *,
    full_block_size: int = 16,
    window: int = 6,
    max_block_size: int = 1000,
    batch_blocks: int = 50_000,
    on_batch: Callable[[int, int], None] | None = None,
) -> Candidates:
    """The candidate pairs of ``people`` under ``rules`` (see the module docstring).

    ``on_batch(done, total)`` is called after each batch of ``batch_blocks`` blocks.
    """
    n = len(people)
    rank = _name_order(people)
    grouped = [_group(people, rule, rank) for rule in rules]
    total = sum(len(g.sizes) for g in grouped)
    done = 0
    encoded: list[np.ndarray] = []
    result = Candidates(left=np.empty(0, np.int64), right=np.empty(0, np.int64), blocks=total)
    for rule, groups in zip(rules, grouped, strict=True):
        cap = max_block_size if rule.windowed else full_block_size
        giant = groups.sizes > cap
        skipped = [SkippedBlock(rule.name, groups.name(k), int(groups.sizes[k]))
                   for k in np.flatnonzero(giant)]
        if skipped:
            largest = max(skipped, key=lambda b: b.size)
            log.warning("blocking: skipped %d %s blocks over %d records, the largest %r (%d)",
                        len(skipped), rule.name, cap, largest.key, largest.size)
        result.skipped.extend(skipped)
        found = 0
        for start in range(0, len(groups.sizes), batch_blocks):
            batch = slice(start, start + batch_blocks)
            keep = ~giant[batch]
            sizes = groups.sizes[batch][keep]
            left, right = _pairs_within(
                groups.starts[batch][keep], sizes, groups.members,
                np.where(sizes > full_block_size, window, sizes),
            )
            encoded.append(left * n + right)
            found += len(left)
            done += len(groups.sizes[batch])
            if on_batch:
                on_batch(done, total)
        result.pairs_by_rule[rule.name] = found
    if encoded:
        unique = np.unique(np.concatenate(encoded))
        result.left, result.right = np.divmod(unique, max(n, 1))
    if on_batch and not total:
        on_batch(0, 0)
    return result


def _name_order(people: Sequence[NormalisedPerson]) -> np.ndarray:
    """Each person's position when sorted by family name, given name, birth date."""
    order = sorted(range(len(people)), key=lambda i: (
        people[i].family_name or "", people[i].given_name or "", str(people[i].birth_date)))
    rank = np.empty(len(people), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(people))
    return rank


@dataclass(frozen=True)
class _Groups:
    """Blocks of one rule with at least two records: ``members[starts[b]:starts[b]+sizes[b]]``."""

    members: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    keys: np.ndarray
    key_names: list[str]

    def name(self, block: int) -> str:
        return self.key_names[self.keys[block]]


def _group(people: Sequence[NormalisedPerson], rule: BlockingRule, rank: np.ndarray) -> _Groups:
    """The rule's blocks, each block's members in name order (``rank``)."""
    ids: dict[str, int] = {}
    key_of: list[int] = []
    member: list[int] = []
    for index, person in enumerate(people):
        for key in rule.keys(person):
            key_of.append(ids.setdefault(key, len(ids)))
            member.append(index)
    keys = np.asarray(key_of, dtype=np.int64)
    ranks = rank[np.asarray(member, dtype=np.int64)]
    # Sorted by key, then name; a record giving the same key twice is in the block once.
    unique = np.unique(keys * max(len(people), 1) + ranks)
    keys, ranks = np.divmod(unique, max(len(people), 1))
    members = np.argsort(rank)[ranks]
    starts_all = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else keys
    sizes_all = np.diff(np.r_[starts_all, len(keys)])
    shared = sizes_all >= 2
    return _Groups(
        members=members,
        starts=starts_all[shared],
        sizes=sizes_all[shared],
        keys=keys[starts_all[shared]],
        key_names=list(ids),
    )


def _pairs_within(
    starts: np.ndarray, sizes: np.ndarray, members: np.ndarray, reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs inside each block, vectorised: each position pairs with the ``reach`` after it."""
    if not len(sizes):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    ends = np.repeat(starts + sizes, sizes)
    first = np.repeat(starts, sizes)
    offset = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    position = first + offset
    partners = np.minimum(ends - position - 1, np.repeat(reach, sizes))
    left = np.repeat(position, partners)
    step = np.arange(partners.sum()) - np.repeat(np.cumsum(partners) - partners, partners)
    a, b = members[left], members[left + 1 + step]
    return np.minimum(a, b), np.maximum(a, b)
