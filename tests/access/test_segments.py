"""The segment rule language: what it accepts, its canonical JSON, its short form, and its errors."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from hub.access.segments import (
    SegmentError,
    compile_rule,
    describe,
    parse_cli,
    parse_rule,
    to_json,
)
from hub.models import Customer


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("tag=wholesale", {"tag": "wholesale"}),
        ("country=de", {"field": "country", "eq": "DE"}),
        ("lifecycle_stage=customer", {"field": "lifecycle_stage", "eq": "CUSTOMER"}),
        (
            "tag=wholesale,lifecycle_stage=CUSTOMER|REPEAT_CUSTOMER",
            {
                "all": [
                    {"tag": "wholesale"},
                    {"field": "lifecycle_stage", "in": ["CUSTOMER", "REPEAT_CUSTOMER"]},
                ]
            },
        ),
        ("locale!=de-DE", {"not": {"field": "locale", "eq": "de-DE"}}),
        ("tag=a|b|a", {"field": "tag", "in": ["a", "b"]}),
        (' {"tag": "vip"} ', {"tag": "vip"}),
    ],
)
def test_the_short_form_reads_as_json(text, rule):
    parsed = parse_cli(text)
    assert to_json(parsed) == rule
    assert parse_rule(rule) == parsed


def test_json_and_short_forms_round_trip():
    rule = {
        "all": [
            {"tag": "wholesale"},
            {"field": "lifecycle_stage", "in": ["CUSTOMER"]},
            {"field": "locale", "eq": "de-DE"},
            {"field": "country", "eq": "DE"},
        ]
    }
    parsed = parse_rule(rule)
    text = describe(parsed)
    assert text == "tag=wholesale,lifecycle_stage=CUSTOMER,locale=de-DE,country=DE"
    assert parse_cli(text) == parse_rule(to_json(parsed))
    nested = {"any": [{"tag": "vip"}, {"not": {"field": "kind", "eq": "PERSON"}}]}
    assert (
        describe(parse_rule(nested))
        == '{"any":[{"tag":"vip"},{"not":{"field":"kind","eq":"PERSON"}}]}'
    )


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("wholesale", "expected an object"),
        ({}, "got keys none"),
        ({"tag": "a", "field": "kind"}, "expected one of all, any, not"),
        ({"all": []}, "rule.all: expected a non-empty list"),
        ({"any": "tag=a"}, "rule.any: expected a non-empty list"),
        ({"field": "email", "eq": "x"}, "unknown field 'email'"),
        ({"field": "kind", "eq": "ROBOT"}, "not a kind; one of PERSON, ORGANIZATION"),
        ({"field": "country", "eq": "Germany"}, "not an ISO 3166-1 alpha-2"),
        ({"field": "tag", "in": []}, "non-empty list of values"),
        ({"field": "tag", "eq": 3}, "non-empty text value"),
        ({"all": [{"tag": "a"}, {"not": {"field": "locale", "eq": ""}}]}, "rule.all[1].not.eq"),
        ({"field": "tag", "in": ["x"] * 101}, "at most 100 values"),
        ({"tag": "x" * 101}, "at most 100 characters"),
    ],
)
def test_bad_rules_say_what_and_where(rule, words):
    with pytest.raises(SegmentError) as error:
        parse_rule(rule)
    assert words in str(error.value)


def test_rules_have_a_size_limit():
    deep: dict = {"tag": "a"}
    for _ in range(6):
        deep = {"not": deep}
    with pytest.raises(SegmentError, match="nest at most 6 deep"):
        parse_rule(deep)
    with pytest.raises(SegmentError, match="at most 100 parts"):
        parse_rule({"any": [{"tag": str(i)} for i in range(100)]})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty segment rule"),
        ("wholesale", "expected FIELD=VALUE"),
        ("=x", "expected FIELD=VALUE"),
        ("colour=blue", "unknown field 'colour'"),
        ("tag=a||b", "a value is empty"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_short_forms_say_what(text, words):
    with pytest.raises(SegmentError, match=words):
        parse_cli(text)


def test_values_are_bound_never_spliced():
    hostile = "x' OR '1'='1"
    condition = compile_rule(
        parse_rule({"any": [{"tag": hostile}, {"field": "locale", "eq": hostile}]}),
        Customer.__table__,
    )
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(condition.compile(dialect=dialect))
        assert hostile not in sql and "OR '1'" not in sql
        assert hostile in condition.compile(dialect=dialect).params.values()
