"""Normalising values so that equal things compare equal: folded text, e-mails, phones, dates.

The first stage of identity resolution (DESIGN §5). ``normalise`` turns one
``PersonRecord`` into a ``NormalisedPerson`` whose fields the later stages only
compare; a value that cannot be understood becomes None and its ``Rejection``
says why, so a bad e-mail never matches another bad e-mail by accident.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from hub.models.enums import ContactPointKind, CustomerKind
from hub.sync.records import AddressData, PersonData

T = TypeVar("T")


def fold(text: str | None) -> str:
    """Lower-cased, accent-free, single-spaced text: "  Zoë  Ångström " -> "zoe angstrom"."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def email(value: str) -> str:
    return value.strip().lower()


@dataclass(frozen=True, slots=True)
class Checked(Generic[T]):
    """A normalised value, or None and the reason it was refused."""

    value: T | None
    reason: str | None = None


def checked_email(value: str | None) -> Checked[str]:
    """Lower-case e-mail when its syntax is valid (no DNS look-up: resolution must stay offline)."""
    if not value or not value.strip():
        return Checked(None, "empty")
    value = value.strip()
    local, at, domain = value.rpartition("@")
    # The common case, a plain ASCII dot-atom, needs only its domain checked, once per domain.
    if at and len(value) <= 254 and len(local) <= 64 and _DOT_ATOM.match(local):
        verdict = _domain(domain.lower())
        return Checked(f"{local}@{verdict.value}".lower()) if verdict.value else verdict
    try:
        valid = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        return Checked(None, str(error))
    return Checked(valid.normalized.lower())


_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


@functools.lru_cache(maxsize=65536)
def _domain(domain: str) -> Checked[str]:
    try:
        return Checked(validate_email(f"a@{domain}", check_deliverability=False).domain)
    except EmailNotValidError as error:
        return Checked(None, str(error))


def checked_phone(value: str | None, region: str | None = None) -> Checked[str]:
    """E.164 (``+61412345678``); a national number needs ``region``, the ISO country it is dialled in."""
    if not value or not value.strip():
        return Checked(None, "empty")
    try:
        number = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException as error:
        return Checked(None, str(error))
    if not phonenumbers.is_possible_number(number):
        return Checked(None, "not a possible phone number")
    return Checked(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


_NOT_NAME = re.compile(r"[^\w ]+")


def name(value: str | None) -> str | None:
    """Folded name without punctuation: "O'Brien-Smith" -> "obrien smith"."""
    folded = fold(value)
    if not folded.replace(" ", "").isalnum():
        folded = " ".join(_NOT_NAME.sub(lambda m: " " if "-" in m.group() else "", folded).split())
    return folded or None


# Only the spellings that differ between sources for the same street; "st" stays
# ambiguous (street / saint) in general but is far more often "street" in an address.
_STREET_WORDS = {
    "st": "street", "str": "strasse", "rd": "road", "ave": "avenue", "av": "avenue",
    "pl": "place", "dr": "drive", "ln": "lane", "ct": "court", "cres": "crescent",
    "hwy": "highway", "blvd": "boulevard", "tce": "terrace", "pde": "parade", "sq": "square",
}
_NOT_ADDRESS = re.compile(r"[^\w ]+")


def street(value: str | None) -> str | None:
    """Folded street line with the usual abbreviations spelled out: "12 Main St." -> "12 main street"."""
    words = _NOT_ADDRESS.sub(" ", fold(value)).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words) or None


def place(value: str | None) -> str | None:
    """Folded city or region name."""
    return " ".join(_NOT_ADDRESS.sub(" ", fold(value)).split()) or None


def postcode(value: str | None) -> str | None:
    """Upper-case postcode without spaces or dashes: "sw1a 1aa" -> "SW1A1AA"."""
    cleaned = re.sub(r"[\s\-]+", "", value or "").upper()
    return cleaned or None


_DATE_FORMATS_DAY_FIRST = ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")
_DATE_FORMATS_MONTH_FIRST = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%m-%d-%Y", "%Y/%m/%d", "%d.%m.%Y")
# Where a slashed date is month first.
_MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW"})


def birth_date(value: date | str | None, region: str | None = None) -> Checked[date]:
    """A calendar date from a date, a datetime or text (ISO, compact, dotted or slashed).

    Slashed dates are day first except in the regions that write month first.
    """
    if value is None or value == "":
        return Checked(None, "empty")
    if isinstance(value, datetime):
        return Checked(value.date())
    if isinstance(value, date):
        return Checked(value)
    text = str(value).strip()
    if len(text) == 10 and text[4] == "-":
        try:
            return Checked(date.fromisoformat(text))
        except ValueError:
            pass
    formats = (
        _DATE_FORMATS_MONTH_FIRST if (region or "").upper() in _MONTH_FIRST_REGIONS
        else _DATE_FORMATS_DAY_FIRST
    )
    for fmt in formats:
        try:
            return Checked(datetime.strptime(text, fmt).date())
        except ValueError:
            continue
    return Checked(None, f"not a date: {text!r}")


def default_region(person: PersonData) -> str | None:
    """The country a national phone number most likely belongs to: address country, else locale."""
    for address in sorted(person.addresses, key=lambda a: not a.is_primary):
        if address.country and len(address.country.strip()) == 2:
            return address.country.strip().upper()
    if person.locale:
        _, _, region = person.locale.replace("_", "-").partition("-")
        if len(region) == 2 and region.isalpha():
            return region.upper()
    return None


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One thing to resolve: a person as one source (or the hub) knows them.

    ``key`` is the caller's id for the record (a source record id, a customer id).
    ``identities`` are the external identities it stands for, e.g.
    ``"shopify-eu:customer:123"``: two records sharing one are the same person.
    """

    key: Hashable
    person: PersonData
    birth_date: date | str | None = None
    identities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejection:
    field: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class NormalisedPerson:
    """What the blocking and comparison stages see of a record: comparable values only.

    Names and places are folded, e-mails lower-case, phones E.164, the postcode
    upper-case without spaces; the address is the primary one (else the first).
    An organisation's name stands in ``family_name``.
    """

    key: Hashable
    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    street: str | None = None
    city: str | None = None
    postcode: str | None = None
    region: str | None = None
    country: str | None = None
    identities: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = field(default=(), compare=False)


def normalise(record: PersonRecord, region: str | None = None) -> NormalisedPerson:
    """``region`` is the fallback country for national phone numbers and slashed dates."""
    person = record.person
    region = default_region(person) or (region.upper() if region else None)
    rejected: list[Rejection] = []
    emails: list[str] = []
    phones: list[str] = []
    for point in sorted(person.contact_points, key=lambda p: not p.is_primary):
        if point.kind is ContactPointKind.EMAIL:
            checked, found = checked_email(point.value), emails
        elif point.kind is ContactPointKind.PHONE:
            checked, found = checked_phone(point.value, region), phones
        else:
            continue
        if checked.value is None:
            rejected.append(Rejection(point.kind.value.lower(), point.value, checked.reason or ""))
        elif checked.value not in found:
            found.append(checked.value)
    born = birth_date(record.birth_date, region)
    if born.value is None and record.birth_date not in (None, ""):
        rejected.append(Rejection("birth_date", str(record.birth_date), born.reason or ""))
    address = _main_address(person.addresses)
    if person.kind is CustomerKind.ORGANIZATION and not person.family_name:
        given, family = None, name(person.organization_name)
    else:
        given, family = name(person.given_name), name(person.family_name)
    return NormalisedPerson(
        key=record.key,
        given_name=given,
        family_name=family,
        birth_date=born.value,
        emails=tuple(emails),
        phones=tuple(phones),
        street=street(" ".join(filter(None, (address.line1, address.line2)))),
        city=place(address.city),
        postcode=postcode(address.postal_code),
        region=place(address.region),
        country=(address.country or "").strip().upper() or None,
        identities=tuple(dict.fromkeys(record.identities)),
        rejected=tuple(rejected),
    )


def _main_address(addresses: tuple[AddressData, ...]) -> AddressData:
    for address in addresses:
        if address.is_primary:
            return address
    return addresses[0] if addresses else AddressData()
