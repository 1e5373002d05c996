"""Segment rules: which customers a sharing grant covers, as a small JSON language compiled to SQL.

A rule is one of::

    {"all": [rule, ...]}                      every part holds
    {"any": [rule, ...]}                      at least one part holds
    {"not": rule}                             the part does not hold
    {"field": F, "eq": "value"}               the customer's F is the value
    {"field": F, "in": ["value", ...]}        the customer's F is one of the values
    {"tag": "wholesale"}                      short for {"field": "tag", "eq": "wholesale"}

Fields: ``kind`` (PERSON | ORGANIZATION), ``lifecycle_stage`` (LEAD, PROSPECT,
CUSTOMER, REPEAT_CUSTOMER, CHURNED), ``status`` (ACTIVE | MERGED | ERASED),
``locale`` (BCP 47 as stored, e.g. de-DE, compared exactly), ``country`` (ISO
3166-1 alpha-2: the customer has an address there) and ``tag`` (the customer
has the tag). Nothing else is accepted, so a rule can only ever become the
fixed SQL below. Free text (``locale``, ``tag``) is bound, never spliced; the
other fields take words of a closed vocabulary (enum members, country codes:
capital letters and underscores, checked when the rule is read and again when
it is compiled), which are written into the SQL as literals (``word``): the
statements a grant's rule goes into are built once and run on every request of
its partner, and a bound value is converted again at each execution.

The command line takes a shorter form, conditions joined by commas, all of
which must hold: ``tag=wholesale,lifecycle_stage=CUSTOMER|REPEAT_CUSTOMER,country!=FR``
(``|`` separates alternatives, ``!=`` negates). A string starting with ``{`` is
read as JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    String,
    and_,
    exists,
    literal_column,
    not_,
    or_,
    select,
)

from hub.models.enums import CustomerKind, CustomerStatus, LifecycleStage

MAX_DEPTH = 6
MAX_NODES = 100
MAX_VALUES = 100
MAX_VALUE_LENGTH = 100


class SegmentError(ValueError):
    """A rule that is not one: the message says what is wrong and where."""


_ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "kind": tuple(CustomerKind),
    "lifecycle_stage": tuple(LifecycleStage),
    "status": tuple(CustomerStatus),
}
FIELDS = ("kind", "lifecycle_stage", "status", "locale", "country", "tag")


@dataclass(frozen=True, slots=True)
class All:
    parts: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Any_:
    parts: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Rule


@dataclass(frozen=True, slots=True)
class Match:
    field: str
    values: tuple[str, ...]


Rule = All | Any_ | Not | Match


# -- reading ------------------------------------------------------------------------------------


def parse_rule(data: Any) -> Rule:
    """Check a rule given as JSON data (dict) and return its parsed form."""
    counter = [0]
    return _parse(data, "rule", 1, counter)


def _parse(data: Any, where: str, depth: int, counter: list[int]) -> Rule:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise SegmentError(f"a rule has at most {MAX_NODES} parts")
    if depth > MAX_DEPTH:
        raise SegmentError(f"{where}: rules nest at most {MAX_DEPTH} deep")
    if not isinstance(data, dict):
        raise SegmentError(f'{where}: expected an object such as {{"tag": "wholesale"}}')
    keys = set(data)
    if keys in ({"all"}, {"any"}):
        (op,) = keys
        parts = data[op]
        if not isinstance(parts, list) or not parts:
            raise SegmentError(f"{where}.{op}: expected a non-empty list of rules")
        parsed = tuple(
            _parse(part, f"{where}.{op}[{i}]", depth + 1, counter) for i, part in enumerate(parts)
        )
        return All(parsed) if op == "all" else Any_(parsed)
    if keys == {"not"}:
        return Not(_parse(data["not"], f"{where}.not", depth + 1, counter))
    if keys == {"tag"}:
        return Match("tag", (_value("tag", data["tag"], f"{where}.tag"),))
    if keys in ({"field", "eq"}, {"field", "in"}):
        field = data["field"]
        if field not in FIELDS:
            raise SegmentError(
                f"{where}.field: unknown field {field!r}; known: {', '.join(FIELDS)}"
            )
        if "eq" in data:
            return Match(field, (_value(field, data["eq"], f"{where}.eq"),))
        values = data["in"]
        if not isinstance(values, list) or not values:
            raise SegmentError(f"{where}.in: expected a non-empty list of values")
        if len(values) > MAX_VALUES:
            raise SegmentError(f"{where}.in: at most {MAX_VALUES} values")
        checked = [_value(field, v, f"{where}.in[{i}]") for i, v in enumerate(values)]
        return Match(field, tuple(dict.fromkeys(checked)))
    raise SegmentError(
        f"{where}: expected one of all, any, not, tag, or field with eq/in; got keys "
        f"{', '.join(sorted(map(str, keys))) or 'none'}"
    )


def _value(field: str, value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SegmentError(f"{where}: expected a non-empty text value for {field}")
    value = value.strip()
    if len(value) > MAX_VALUE_LENGTH:
        raise SegmentError(f"{where}: values are at most {MAX_VALUE_LENGTH} characters")
    allowed = _ENUM_FIELDS.get(field)
    if allowed is not None:
        if value.upper() not in allowed:
            raise SegmentError(f"{where}: {value!r} is not a {field}; one of {', '.join(allowed)}")
        return value.upper()
    if field == "country":
        if len(value) != 2 or not value.isalpha() or not value.isascii():
            raise SegmentError(f"{where}: {value!r} is not an ISO 3166-1 alpha-2 country code")
        return value.upper()
    return value


def parse_cli(text: str) -> Rule:
    """Read the command-line form (or JSON when it starts with ``{``)."""
    text = text.strip()
    if not text:
        raise SegmentError("empty segment rule; e.g. tag=wholesale,lifecycle_stage=CUSTOMER")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SegmentError(f"not valid JSON: {error}") from None
        return parse_rule(data)
    parts: list[Rule] = []
    for i, condition in enumerate(text.split(","), 1):
        condition = condition.strip()
        negated = "!=" in condition
        name, sep, raw = condition.partition("!=" if negated else "=")
        name = name.strip()
        if not sep or not name:
            raise SegmentError(
                f"condition {i} {condition!r}: expected FIELD=VALUE or FIELD!=VALUE "
                f"(fields: {', '.join(FIELDS)})"
            )
        if name not in FIELDS:
            raise SegmentError(
                f"condition {i} {condition!r}: unknown field {name!r}; known: {', '.join(FIELDS)}"
            )
        values = [v.strip() for v in raw.split("|")]
        if not all(values):
            raise SegmentError(f"condition {i} {condition!r}: a value is empty")
        where = f"condition {i} {condition!r}"
        checked = tuple(dict.fromkeys(_value(name, v, where) for v in values))
        match = Match(name, checked)
        parts.append(Not(match) if negated else match)
    rule = parts[0] if len(parts) == 1 else All(tuple(parts))
    return parse_rule(to_json(rule))  # the same limits as JSON input


# -- writing ------------------------------------------------------------------------------------


def to_json(rule: Rule) -> dict[str, Any]:
    """The canonical JSON form, as stored on the grant."""
    if isinstance(rule, All):
        return {"all": [to_json(p) for p in rule.parts]}
    if isinstance(rule, Any_):
        return {"any": [to_json(p) for p in rule.parts]}
    if isinstance(rule, Not):
        return {"not": to_json(rule.part)}
    if rule.field == "tag" and len(rule.values) == 1:
        return {"tag": rule.values[0]}
    if len(rule.values) == 1:
        return {"field": rule.field, "eq": rule.values[0]}
    return {"field": rule.field, "in": list(rule.values)}


def describe(rule: Rule) -> str:
    """The command-line form when the rule has one, else its JSON."""
    parts = rule.parts if isinstance(rule, All) else (rule,)
    out = []
    for part in parts:
        negated = isinstance(part, Not)
        inner = part.part if isinstance(part, Not) else part
        if not isinstance(inner, Match):
            return json.dumps(to_json(rule), separators=(",", ":"))
        out.append(f"{inner.field}{'!=' if negated else '='}{'|'.join(inner.values)}")
    return ",".join(out)


@lru_cache(maxsize=1024)
def rule_of(canonical: str) -> Rule:
    """The parsed rule of a stored grant (its canonical JSON text), parsed once per process."""
    return parse_rule(json.loads(canonical))


def canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


# -- SQL ----------------------------------------------------------------------------------------


def compile_rule(rule: Rule, customers: FromClause) -> ColumnElement[bool]:
    """The rule as a condition on ``customers`` (the table or an alias of it)."""
    from hub.models import Address, CustomerTag

    if isinstance(rule, All):
        return and_(*(compile_rule(p, customers) for p in rule.parts))
    if isinstance(rule, Any_):
        return or_(*(compile_rule(p, customers) for p in rule.parts))
    if isinstance(rule, Not):
        return not_(compile_rule(rule.part, customers))
    values = list(rule.values)
    if rule.field == "tag":
        tags = CustomerTag.__table__
        return exists(
            select(tags.c.customer_id).where(
                tags.c.customer_id == customers.c.id, _among(tags.c.tag, values)
            )
        )
    if rule.field == "country":
        addresses = Address.__table__
        in_country = or_(*(addresses.c.country == word(value) for value in values))
        return exists(
            select(addresses.c.id).where(addresses.c.customer_id == customers.c.id, in_country)
        )
    column = customers.c[rule.field]
    if rule.field in _ENUM_FIELDS:
        return or_(*(column == word(value) for value in values))
    if column.nullable:
        # Two-valued logic: a customer without a locale does not have locale de-DE, so
        # {"not": {"field": "locale", "eq": "de-DE"}} covers them (SQL's NULL would not).
        return and_(column.is_not(None), _among(column, values))
    return _among(column, values)


def _among(column: Any, values: list[str]) -> ColumnElement[bool]:
    # Equalities rather than IN: an IN list is an "expanding" parameter that SQLAlchemy
    # re-renders into the SQL on every execution, and these statements run on every
    # request of a partner; the databases plan both forms alike. Lists are short (MAX_VALUES).
    return or_(*(column == value for value in values))


_WORD = re.compile(r"[A-Z][A-Z_]*")


def word(value: str) -> ColumnElement[str]:
    """A word of a closed vocabulary (``ACTIVE``, ``GB``) as an SQL string literal.

    Only capital letters and underscores are accepted, so nothing needs quoting;
    anything else raises ValueError rather than reach the SQL.
    """
    if not _WORD.fullmatch(value):
        raise ValueError(f"{value!r} is not a word of a closed vocabulary")
    return literal_column(f"'{value}'", String)
