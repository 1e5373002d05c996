"""Field comparisons: each pair gets a discrete level per field."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from hub.identity.compare import MISSING, Columns, Comparison
from hub.identity.normalise import NormalisedPerson


def _levels(a: NormalisedPerson, b: NormalisedPerson) -> dict[str, str]:
    columns = Columns.encode([a, b])
    row = columns.compare(np.array([0]), np.array([1]))[0]
    return {c.name: "missing" if level == MISSING else c.labels[level]
            for c, level in zip(columns.comparisons, row.tolist(), strict=True)}


def person(**values) -> NormalisedPerson:
    return NormalisedPerson(key=values.pop("key", "x"), **values)


def test_names_by_jaro_winkler():
    levels = _levels(person(given_name="jonathan", family_name="smith"),
                     person(given_name="jonathon", family_name="smyth"))
    assert levels["given_name"] == "jaro-winkler >= 0.92"
    assert levels["family_name"] == "jaro-winkler >= 0.8"
    levels = _levels(person(given_name="anna", family_name="smith"),
                     person(given_name="peter", family_name="smith"))
    assert (levels["given_name"], levels["family_name"]) == ("different", "exact")


def test_swapped_names_compare_crosswise():
    levels = _levels(person(given_name="nguyen", family_name="sophie"),
                     person(given_name="sophie", family_name="nguyen"))
    assert (levels["given_name"], levels["family_name"]) == ("exact", "exact")


def test_birth_dates_by_edits():
    base = person(birth_date=date(1990, 4, 3))
    assert _levels(base, person(birth_date=date(1990, 4, 3)))["birth_date"] == "exact"
    assert _levels(base, person(birth_date=date(1990, 4, 8)))["birth_date"] == "1 edit"
    assert _levels(base, person(birth_date=date(1990, 3, 4)))["birth_date"] == "2 edits"
    assert _levels(base, person(birth_date=date(1971, 12, 25)))["birth_date"] == "different"
    assert _levels(base, person())["birth_date"] == "missing"


def test_email_and_phone_any_shared_value_is_exact():
    a = person(emails=("a@x.org", "b@x.org"), phones=("+4915112345678",))
    b = person(emails=("b@x.org",), phones=("+4915112345679",))
    levels = _levels(a, b)
    assert levels["email"] == "exact"
    assert levels["phone"] == "1 edit"
    assert _levels(person(emails=("a@x.org",)), person(emails=("zz@y.com",)))["email"] == "different"


def test_address_is_one_field_of_street_and_area():
    home = person(street="12 main street", city="sydney", postcode="2000")
    assert _levels(home, home)["address"] == (
        "street exact, city and postcode exact, other family name")
    assert _levels(home, person(street="12 main street flat 3", city="sydney",
                                postcode="2000"))["address"].startswith(
        "street same words >= 0.9, city and postcode exact")
    assert _levels(home, person(street="7 other road", city="sydney",
                                postcode="2000"))["address"].startswith(
        "street different, city and postcode exact")
    assert _levels(home, person(street="12 main street", city="perth",
                                postcode="6150"))["address"].startswith(
        "street exact, area different")
    # One typed or swapped digit in the postcode may be a typo.
    assert _levels(home, person(street="12 main street", city=None, postcode="2001"))[
        "address"].startswith("street exact, area similar")
    assert _levels(home, person(street="12 main street", city="sydney",
                                postcode="0200"))["address"].startswith(
        "street exact, one exact, the other similar")
    assert _levels(home, person(street="12 main street"))["address"].startswith(
        "street exact, no area")
    # A bare house number is not a street.
    assert _levels(home, person(street="12", city="sydney", postcode="2000"))[
        "address"].startswith(("street different", "street same words >= 0.7"))
    assert _levels(home, person())["address"] == "missing"


def test_address_is_read_apart_by_family_name():
    # Sharing an address says less when the family name is shared too: a household.
    home = dict(street="12 main street", city="sydney", postcode="2000")
    levels = _levels(person(given_name="ann", family_name="lee", **home),
                     person(given_name="bob", family_name="lee", **home))
    assert levels["address"] == "street exact, city and postcode exact, same family name"
    levels = _levels(person(given_name="ann", family_name="lee", **home),
                     person(given_name="ann", family_name="smith", **home))
    assert levels["address"] == "street exact, city and postcode exact, other family name"
    address = next(c for c in Columns.encode([]).comparisons if c.name == "address")
    half = len(address.labels) // 2
    assert address.groups.tolist() == [0] * half + [1] * half


def test_swapped_digits_are_one_edit():
    base = person(birth_date=date(1990, 4, 12), postcode="6285")
    levels = _levels(base, person(birth_date=date(1990, 4, 21), postcode="6258"))
    assert levels["birth_date"] == "1 edit"
    assert levels["address"].startswith("street missing, area similar")


def test_identity_is_exact_only():
    levels = _levels(person(identities=("shop:customer:1", "crm:contact:9")),
                     person(identities=("crm:contact:9",)))
    assert levels["identity"] == "exact"


def test_levels_are_symmetric_and_vectorised():
    people = [person(key=i, given_name=n, family_name="lee") for i, n in
              enumerate(["ann", "anne", "anna", "bob", None])]
    columns = Columns.encode(people)
    left, right = np.array([0, 1, 2, 3, 0]), np.array([1, 0, 3, 2, 4])
    forward = columns.compare(left, right)
    backward = columns.compare(right, left)
    assert (forward == backward).all()
    assert forward.dtype == np.int8 and forward.shape == (5, len(columns.comparisons))


def test_a_custom_exact_comparison():
    loyalty = Comparison("loyalty", lambda p: p.region)
    columns = Columns.encode([person(region="gold"), person(region="gold")], [loyalty])
    assert columns.compare(np.array([0]), np.array([1])).tolist() == [[1]]


def test_a_crosswise_name_is_as_common_as_in_either_field():
    # "morrison" is rare as a given name and common as a family name: agreeing on it crosswise
    # is agreeing on a common family name.
    people = [person(key=i, given_name=g, family_name="morrison") for i, g in
              enumerate(["grace", "ann", "bob", "cara"])]
    people.append(person(key=9, given_name="morrison", family_name="grace"))
    columns = Columns.encode(people)
    given, family = columns.index("given_name"), columns.index("family_name")
    swapped = np.array([4])
    assert columns.frequencies(given, swapped)[0] == pytest.approx(0.8)
    assert columns.frequencies(family, np.array([0]))[0] == pytest.approx(0.8)
    assert columns.frequencies(given, np.array([1]))[0] == pytest.approx(0.2)
