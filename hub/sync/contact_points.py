"""Normalised contact points: the values identity resolution compares.

E-mails are lower-cased, phones become E.164 (with the person's country as the
hint for national numbers), social handles become ``platform:handle`` and web
addresses absolute ``https://`` URLs. A value that cannot be normalised is
dropped rather than stored half-understood (it stays in the source payload);
it is an error only when it was the person's one way to be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

from hub.identity.normalise import email as normalise_email
from hub.models.enums import ContactPointKind
from hub.sync.records import ContactPointData, MappingError, PersonData


@dataclass(frozen=True)
class NormalisedContactPoint:
    data: ContactPointData
    value: str

    @property
    def key(self) -> tuple[ContactPointKind, str]:
        return self.data.kind, self.value


def normalise(kind: ContactPointKind, value: str, region: str | None = None,
              label: str | None = None) -> str | None:
    """The comparable form of one value, or None when it is not a value of that kind."""
    value = value.strip()
    if not value:
        return None
    if kind is ContactPointKind.EMAIL:
        address = normalise_email(value)
        local, _, domain = address.rpartition("@")
        return address if local and "." in domain and " " not in address else None
    if kind is ContactPointKind.PHONE:
        return phone(value, region)
    if kind is ContactPointKind.SOCIAL:
        platform, _, handle = value.partition(":") if ":" in value else (label or "", "", value)
        platform, handle = platform.strip().lower(), handle.strip().lstrip("@").lower()
        return f"{platform}:{handle}" if platform and handle else None
    return _web(value)


@lru_cache(maxsize=4096)  # a number comes back with every record of its person
def phone(value: str, region: str | None = None) -> str | None:
    """E.164 (``+4915112345678``), or None when the text is not a possible phone number."""
    try:
        number = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _web(value: str) -> str | None:
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme not in ("http", "https") or "." not in parts.netloc:
        return None
    return urlunsplit(("https", parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


def region_hint(person: PersonData) -> str | None:
    """The country a national phone number most likely belongs to."""
    addresses = sorted(person.addresses, key=lambda a: not a.is_primary)
    for address in addresses:
        if address.country and len(address.country.strip()) == 2:
            return address.country.strip().upper()
    if person.locale:
        _, _, region = person.locale.replace("_", "-").partition("-")
        if len(region) == 2 and region.isalpha():
            return region.upper()
    return None


# The last person asked about and the answer: the writer, the resolver and its merge check
# ask about the same person one after the other. A PersonData is frozen and its contact
# points and addresses are tuples, so the answer for one object never changes; the pair is
# replaced whole, so a thread reading it never sees one person's answer for another.
_last: tuple[PersonData, tuple[NormalisedContactPoint, ...]] | tuple[None, Any] = (None, ())


def usable(person: PersonData) -> list[NormalisedContactPoint]:
    """The person's contact points, normalised and de-duplicated, in the order given.

    Raises MappingError when values were given but none of them is usable: the
    record would otherwise land on a customer nobody can reach or recognise.
    """
    global _last
    asked, answer = _last
    if asked is person:
        return list(answer)
    points = list(_normalised(person))
    rejected = [p for p in person.contact_points if not any(n.data is p for n in points)]
    if rejected and not points:
        described = ", ".join(f"{p.kind.value.lower()} {p.value!r}" for p in rejected)
        raise MappingError(f"no usable contact point: {described} cannot be normalised")
    _last = (person, tuple(points))
    return points


def _normalised(person: PersonData) -> Iterator[NormalisedContactPoint]:
    region = region_hint(person)
    seen: set[tuple[ContactPointKind, str]] = set()
    for data in person.contact_points:
        value = normalise(data.kind, data.value, region, data.label)
        if value is None or (data.kind, value) in seen:
            continue
        seen.add((data.kind, value))
        yield NormalisedContactPoint(data, value)
