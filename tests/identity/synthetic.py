"""Synthetic customers with known duplicates, for the identity tests and benchmark.

People from three markets (AU, DE, FR: accents, national phone formats,
slashed dates) each appear once or several times, as different sources would
have them: typos, swapped names, missing values, e-mails in other case,
phones in other formats, abbreviated streets, a move. ``entities[i]`` is the
true person of ``records[i]``. Households share a family name and an address
but never an e-mail or a phone, so the deterministic rule stays right.
Deterministic for a seed; value pools come from Faker once, records from
``random.Random``, so a million records take seconds, not minutes.
"""

from __future__ import annotations

import functools
import random
import string
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from faker import Faker

from hub.identity.normalise import PersonRecord
from hub.models.enums import ContactPointKind
from hub.sync.records import AddressData, ContactPointData, PersonData

MARKETS = {  # Faker locale, phone prefixes of (national, international), dialling code
    "AU": ("en_AU", "04", "61"),
    "DE": ("de_DE", "015", "49"),
    "FR": ("fr_FR", "06", "33"),
}
DOMAINS = ("gmail.com", "outlook.com", "web.de", "orange.fr", "bigpond.com", "yahoo.com")
ABBREVIATIONS = {"street": "St", "road": "Rd", "avenue": "Ave", "place": "Pl", "drive": "Dr"}


@dataclass(frozen=True)
class _Market:
    country: str
    given: list[str]
    family: list[str]
    streets: list[str]
    towns: list[tuple[str, str]]  # city, postcode
    national: str
    dialling: str


@dataclass(frozen=True)
class Synthetic:
    records: list[PersonRecord]
    entities: list[int]


@functools.lru_cache(maxsize=4)
def _markets(seed: int) -> list[_Market]:
    markets = []
    for country, (locale, national, dialling) in MARKETS.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        markets.append(_Market(
            country=country,
            given=sorted({fake.first_name() for _ in range(3000)}),
            family=sorted({fake.last_name() for _ in range(6000)}),
            streets=sorted({fake.street_name() for _ in range(4000)}),
            towns=sorted({(fake.city(), fake.postcode()) for _ in range(3000)}),
            national=national,
            dialling=dialling,
        ))
    return markets


def customers(n: int, seed: int = 0) -> Synthetic:
    """About ``n`` records (exactly ``n``) of fewer people: ~40 % have one or more duplicates."""
    rng = random.Random(seed)
    markets = _markets(seed)
    records: list[PersonRecord] = []
    entities: list[int] = []
    entity = 0
    household: _Person | None = None
    while len(records) < n:
        market = rng.choice(markets)
        # One in ten people lives with the previous one: same family name and address.
        if household and household.market is market and rng.random() < 0.1:
            person = _person(rng, market, entity, like=household)
        else:
            person = _person(rng, market, entity)
        household = person
        copies = 1 + rng.choices((0, 1, 2, 3), weights=(60, 25, 10, 5))[0]
        for copy in range(copies):
            if len(records) == n:
                break
            records.append(_record(rng, person, f"e{entity}-{copy}", exact=copy == 0))
            entities.append(entity)
        entity += 1
    return Synthetic(records, entities)


@dataclass
class _Person:
    market: _Market
    given: str
    family: str
    born: date
    email: str | None
    phone: str | None  # national significant number, digits only
    house: int
    street: str
    city: str
    postcode: str


def _person(rng: random.Random, market: _Market, entity: int, like: _Person | None = None) -> _Person:
    given, family = rng.choice(market.given), like.family if like else rng.choice(market.family)
    city, postcode = (like.city, like.postcode) if like else rng.choice(market.towns)
    local = _ascii(f"{given}.{family}").replace(" ", "")
    return _Person(
        market=market,
        given=given,
        family=family,
        born=date(1940, 1, 1) + timedelta(days=rng.randrange(65 * 365)),
        email=f"{local}{entity}@{rng.choice(DOMAINS)}" if rng.random() < 0.75 else None,
        phone=market.national[1:] + "".join(rng.choices(string.digits, k=8))
        if rng.random() < 0.7 else None,
        house=like.house if like else rng.randint(1, 250),
        street=like.street if like else rng.choice(market.streets),
        city=city,
        postcode=postcode,
    )


def _record(rng: random.Random, p: _Person, key: str, exact: bool) -> PersonRecord:
    given, family, born = p.given, p.family, p.born
    email, phone = p.email, _phone(rng, p, exact)
    house, street, city, postcode = p.house, p.street, p.city, p.postcode
    if not exact:
        given = _typo(rng, given) if rng.random() < 0.15 else given
        family = _typo(rng, family) if rng.random() < 0.1 else family
        if rng.random() < 0.03:
            given, family = family, given
        if rng.random() < 0.3:
            given, family = given.upper(), _ascii(family)
        born = _date_slip(rng, born) if rng.random() < 0.08 else born
        if email and rng.random() < 0.25:
            email = None if rng.random() < 0.6 else f"{given[0]}{family}{rng.randint(1, 99)}@x.org"
        elif email and rng.random() < 0.2:
            email = email.upper()
        if rng.random() < 0.1:  # moved
            house, street = rng.randint(1, 250), rng.choice(p.market.streets)
            city, postcode = rng.choice(p.market.towns)
        elif rng.random() < 0.2:
            street = _abbreviated(street)
        postcode = _typo(rng, postcode, digits=True) if rng.random() < 0.04 else postcode
        city = None if rng.random() < 0.1 else city
    points = []
    if email:
        points.append(ContactPointData(ContactPointKind.EMAIL, email))
    if phone:
        points.append(ContactPointData(ContactPointKind.PHONE, phone))
    country = p.market.country
    slashed = not exact and rng.random() < 0.3
    return PersonRecord(
        key=key,
        person=PersonData(
            given_name=given,
            family_name=family,
            locale=f"{'en' if country == 'AU' else country.lower()}-{country}",
            contact_points=tuple(points),
            addresses=(AddressData(
                line1=f"{house} {street}" if country == "AU" else f"{street} {house}",
                city=city, postal_code=postcode, country=country, is_primary=True,
            ),),
        ),
        birth_date=(born.strftime("%d/%m/%Y") if slashed else born.isoformat())
        if exact or rng.random() > 0.1 else None,
    )


def _phone(rng: random.Random, p: _Person, exact: bool) -> str | None:
    if not p.phone or (not exact and rng.random() < 0.3):
        return None
    if not exact and rng.random() < 0.05:
        return p.market.national[1:] + "".join(rng.choices(string.digits, k=8))  # a new number
    national = "0" + p.phone
    style = 0 if exact else rng.randrange(4)
    if style == 1:
        return f"+{p.market.dialling} {p.phone[:3]} {p.phone[3:]}"
    if style == 2:
        return f"{national[:4]}-{national[4:7]}-{national[7:]}"
    if style == 3:
        return f"+{p.market.dialling}{p.phone}"
    return national


def _typo(rng: random.Random, text: str, digits: bool = False) -> str:
    if len(text) < 2:
        return text
    i = rng.randrange(len(text) - 1)
    kind = rng.randrange(4)
    alphabet = string.digits if digits else string.ascii_lowercase
    if kind == 0:  # transposition
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:  # deletion
        return text[:i] + text[i + 1:]
    if kind == 2 and not digits:  # insertion
        return text[:i] + rng.choice(alphabet) + text[i:]
    return text[:i] + rng.choice(alphabet) + text[i + 1:]  # substitution


def _date_slip(rng: random.Random, born: date) -> date:
    if born.day <= 12 and rng.random() < 0.5:
        return born.replace(month=born.day, day=born.month)
    return born + timedelta(days=rng.choice((-1, 1, 10, -10, 365)))


def _abbreviated(street: str) -> str:
    words = street.split()
    return " ".join(ABBREVIATIONS.get(w.lower(), w) for w in words)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
