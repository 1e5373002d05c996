"""Normalisation: what counts as the same value, and what is refused with a reason."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hub.identity import normalise as n
from hub.models.enums import ContactPointKind, CustomerKind
from hub.sync.records import AddressData, ContactPointData, PersonData


@pytest.mark.parametrize(("raw", "folded"), [
    ("  Zoë  Ångström ", "zoe angstrom"),
    ("MÜLLER", "muller"),
    ("François", "francois"),
    ("Łódź", "łodz"),  # Ł is a letter of its own, not an accented L
    ("", ""),
    (None, ""),
])
def test_fold_drops_case_accents_and_extra_spaces(raw, folded):
    assert n.fold(raw) == folded


def test_email_helper_used_elsewhere_still_just_lowercases():
    assert n.email("  Jo.Smith@Example.COM ") == "jo.smith@example.com"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Jo.Smith@Example.COM", "jo.smith@example.com"),
    ("  jo@gmail.com ", "jo@gmail.com"),
    ("zoë@exämple.de", "zoë@exämple.de"),
    ("o'brien+crm@mail.co.uk", "o'brien+crm@mail.co.uk"),
])
def test_valid_emails_are_lower_case(raw, expected):
    assert n.checked_email(raw) == n.Checked(expected)


@pytest.mark.parametrize("raw", [
    "bad@", "@example.com", "no-at-sign", "a@b", "jo..x@gmail.com", ".jo@gmail.com",
    "jo@gmail..com", "jo@-bad.com", "jo@ex_ample.com", "jo@localhost", "jo@example.invalid",
    "two@@example.com", "", "   ",
])
def test_invalid_emails_are_refused_with_a_reason(raw):
    checked = n.checked_email(raw)
    assert checked.value is None
    assert checked.reason


def test_email_check_is_offline():
    # A domain that does not exist is still syntactically fine: no DNS look-up is made.
    assert n.checked_email("someone@no-such-domain-for-crmhub.example.org").value


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("0151 23456789", "DE", "+4915123456789"),
    ("+49 151 23456789", None, "+4915123456789"),
    ("0049 151 23456789", "DE", "+4915123456789"),
    ("0412 345 678", "AU", "+61412345678"),
    ("(04) 1234-5678", "au", "+61412345678"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("+33 6 12 34 56 78", "DE", "+33612345678"),  # an international number ignores the region
    ("(415) 555-2671", "US", "+14155552671"),
])
def test_phones_become_e164_with_the_default_region(raw, region, expected):
    assert n.checked_phone(raw, region) == n.Checked(expected)


@pytest.mark.parametrize(("raw", "region"), [
    ("0151 23456789", None),  # national number, no region to read it in
    ("1", "DE"),
    ("0151 2345678901234567", "DE"),  # too long
    ("not a phone", "DE"),
    ("", "DE"),
])
def test_unusable_phones_are_refused_with_a_reason(raw, region):
    checked = n.checked_phone(raw, region)
    assert checked.value is None and checked.reason


@pytest.mark.parametrize(("raw", "expected"), [
    ("sw1a 1aa", "SW1A1AA"), (" 10 115 ", "10115"), ("1234-567", "1234567"), (None, None),
    ("", None),
])
def test_postcodes_are_upper_case_without_spaces(raw, expected):
    assert n.postcode(raw) == expected


def test_names_streets_and_places_fold():
    assert n.name("O'Brien-Smith") == "obrien smith"
    assert n.name("  ") is None
    assert n.street("12 Main St.") == "12 main street"
    assert n.street("Hauptstraße 5") == "hauptstrasse 5"
    assert n.place("St. Kilda") == "st kilda"


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("1990-04-03", None, date(1990, 4, 3)),
    ("19900403", None, date(1990, 4, 3)),
    ("03.04.1990", "DE", date(1990, 4, 3)),
    ("03/04/1990", "FR", date(1990, 4, 3)),
    ("03/04/1990", "US", date(1990, 3, 4)),
    (date(1990, 4, 3), None, date(1990, 4, 3)),
    (datetime(1990, 4, 3, 12, 30), None, date(1990, 4, 3)),
])
def test_birth_dates_are_parsed(raw, region, expected):
    assert n.birth_date(raw, region) == n.Checked(expected)


@pytest.mark.parametrize("raw", ["1990-02-30", "19901301", "someday", "31/31/1990"])
def test_impossible_dates_are_refused(raw):
    checked = n.birth_date(raw)
    assert checked.value is None and "not a date" in (checked.reason or "")


def test_normalise_person_takes_region_from_address_then_locale():
    person = PersonData(
        given_name="Zoë", family_name="O'Brien", locale="de-DE",
        contact_points=(
            ContactPointData(ContactPointKind.EMAIL, "Zoe@Example.COM"),
            ContactPointData(ContactPointKind.EMAIL, "bad@"),
            ContactPointData(ContactPointKind.PHONE, "0412 345 678"),
            ContactPointData(ContactPointKind.PHONE, "+61 412 345 678"),  # the same number
        ),
        addresses=(
            AddressData(line1="1 Old Rd", city="Perth", country="AU"),
            AddressData(line1="12 Main St.", postal_code="2000", city="Sydney", country="AU",
                        is_primary=True),
        ),
    )
    found = n.normalise(n.PersonRecord("k1", person, birth_date="03/04/1990",
                                       identities=("shop:customer:1", "shop:customer:1")))
    assert found.key == "k1"
    assert (found.given_name, found.family_name) == ("zoe", "obrien")
    assert found.emails == ("zoe@example.com",)
    assert found.phones == ("+61412345678",)
    assert (found.street, found.city, found.postcode, found.country) == (
        "12 main street", "sydney", "2000", "AU")
    assert found.birth_date == date(1990, 4, 3)
    assert found.identities == ("shop:customer:1",)
    assert [(r.field, r.value) for r in found.rejected] == [("email", "bad@")]


def test_locale_gives_the_region_when_no_address_does():
    person = PersonData(locale="fr_FR", contact_points=(
        ContactPointData(ContactPointKind.PHONE, "06 12 34 56 78"),))
    assert n.normalise(n.PersonRecord(1, person)).phones == ("+33612345678",)
    person = PersonData(contact_points=(ContactPointData(ContactPointKind.PHONE, "06 12 34 56 78"),))
    assert n.normalise(n.PersonRecord(1, person), region="FR").phones == ("+33612345678",)
    assert n.normalise(n.PersonRecord(1, person)).rejected[0].field == "phone"


def test_an_organisation_is_compared_by_its_name():
    org = PersonData(kind=CustomerKind.ORGANIZATION, organization_name="Müller & Söhne GmbH")
    found = n.normalise(n.PersonRecord(1, org))
    assert (found.given_name, found.family_name) == (None, "muller sohne gmbh")


def test_a_bad_birth_date_is_reported():
    found = n.normalise(n.PersonRecord(1, PersonData(), birth_date="31/02/1990"))
    assert found.birth_date is None
    assert found.rejected[0].field == "birth_date"
