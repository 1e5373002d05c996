"""Which customer a newly seen person is: the hook where identity resolution plugs into sync.

The writer asks a ``CustomerResolver`` only for a source identity it has not
linked yet; a linked identity keeps its customer. The default resolver applies
the deterministic rule of DESIGN §5 (same normalised e-mail, else same phone),
so a new record joins its customer at once, on the page that brings it.

After a person's parts are written onto a customer the writer tells the
resolver (``person_written``): the source's profile is kept and the customer's
golden record (names, locale) is picked again by survivorship, so a source
that gives a whole name as a given name cannot garble the name another source
gave properly. Review-band matches and merges of customers that already exist
are the batch's (``crmhub identity resolve``, ``hub.identity.batch``).

A resolver may also work a page at a time (``PageResolver``): ``resolve_page``
tells, for every person of a page at once, who is plainly new (nobody the hub
holds and nobody earlier on the page can be them), so the writer can make those
customers with one statement per table; ``people_written`` is
``person_written`` for the page's fresh customers. Anyone it cannot vouch for
is written one record at a time, in page order, after them.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, bindparam, or_, select
from sqlalchemy.orm import Session

from hub.access.audit import CONNECTOR
from hub.identity import golden
from hub.identity.merge import merge
from hub.identity.suggestions import dismissed_pairs
from hub.identity.survivorship import SurvivorshipSettings
from hub.models import ContactPoint, Customer
from hub.models.enums import ContactPointKind, CustomerStatus
from hub.settings import get_settings
from hub.sync import contact_points
from hub.sync.contact_points import NormalisedContactPoint
from hub.sync.records import PersonData

customers = Customer.__table__
points_t = ContactPoint.__table__

# Two steps rather than one join: with a join, SQLite (which keeps no statistics) walks
# every ACTIVE customer in created_at order instead of looking the values up.
_HOLDERS = select(points_t.c.kind, points_t.c.customer_id).where(
    or_(
        (points_t.c.kind == ContactPointKind.EMAIL)
        & points_t.c.normalised_value.in_(bindparam("emails", expanding=True)),
        (points_t.c.kind == ContactPointKind.PHONE)
        & points_t.c.normalised_value.in_(bindparam("phones", expanding=True)),
    )
)
_HELD = select(points_t.c.kind, points_t.c.normalised_value).where(_HOLDERS.whereclause)
_PAGE_CHUNK = 500  # values of each kind per look-up
_SEARCHED = (ContactPointKind.EMAIL, ContactPointKind.PHONE)
_ACTIVE_OLDEST_FIRST = (
    select(customers.c.id)
    .where(customers.c.id.in_(bindparam("ids", expanding=True)),
           customers.c.status == CustomerStatus.ACTIVE)
    .order_by(customers.c.created_at, customers.c.id)
)


@dataclass(frozen=True)
class SourceIdentity:
    """Which external record is being written: (connection, object type, external id)."""

    connection_id: uuid.UUID
    object_type: str
    external_id: str
    # The SourceRecord's id once it has one (a record being created may not be stored yet).
    id: uuid.UUID | None = None

    def columns(self) -> dict[str, Any]:
        return {"connection_id": self.connection_id, "object_type": self.object_type,
                "external_id": self.external_id}

    params = columns

    def with_id(self, record_id: uuid.UUID) -> SourceIdentity:
        return SourceIdentity(self.connection_id, self.object_type, self.external_id, record_id)


class CustomerResolver(Protocol):
    def resolve_customer(
        self, session: Session, person: PersonData, source: SourceIdentity
    ) -> uuid.UUID | None:
        """The id of the existing customer this person is, or None to create a new one."""

    def person_written(self, db: Connection, customer_id: uuid.UUID, source_id: uuid.UUID,
                       person: PersonData, observed_at: datetime, now: datetime, *,
                       fresh: bool) -> None:
        """The person's parts were written onto the customer (``fresh``: just made from them)."""


class PageMatch(enum.Enum):
    """What a page resolver can say of one person of the page before any of it is written."""

    NEW = "new"  # nobody the hub holds, nor anyone earlier on the page, can be them
    KNOWN = "known"  # the hub may already hold them: decided record by record
    SHARED = "shared"  # an earlier person of the page may be them: decided record by record


@dataclass(frozen=True)
class PagePerson:
    """A person of a page, with the contact points the writer normalised for them."""

    source: SourceIdentity
    person: PersonData
    points: Sequence[NormalisedContactPoint]


@dataclass(frozen=True)
class PersonWritten:
    """A customer just made from one person of a page, and the source record that said so."""

    customer_id: uuid.UUID
    source_id: uuid.UUID
    person: PersonData
    observed_at: datetime


@runtime_checkable
class PageResolver(CustomerResolver, Protocol):
    """A resolver that also works a page at a time; the writer falls back to one record at a
    time with a resolver that does not."""

    def resolve_page(self, session: Session, people: Sequence[PagePerson]) -> list[PageMatch]:
        """For every person of the page, in order, whether they are plainly NEW.

        A person is NEW only when no customer stored before the page could match them
        and no earlier person of the page could be them. The writer makes (some of)
        the NEW people's customers first, then writes everyone else record by record,
        in page order: a later person of the page finds them stored, as they would
        have been.
        """

    def people_written(self, db: Connection, written: Sequence[PersonWritten],
                       now: datetime) -> None:
        """``person_written(..., fresh=True)`` for each of a page's new customers, at once."""


class MatchByEmailOrPhone:
    """An ACTIVE customer with the same normalised e-mail, else the same phone; oldest wins.

    Keeps each source's profile and the customer's golden record (``person_written``).
    """

    def __init__(self, survivorship: SurvivorshipSettings | None = None) -> None:
        self.survivorship = survivorship or get_settings().identity.survivorship

    def person_written(self, db: Connection, customer_id: uuid.UUID, source_id: uuid.UUID,
                       person: PersonData, observed_at: datetime, now: datetime, *,
                       fresh: bool) -> None:
        if fresh:
            # Made from this person alone: its fields are theirs. Their provenance is worked
            # out when asked for (``Customer.provenance``) rather than written for everyone.
            golden.remember(db, source_id, person, observed_at)
            return
        golden.refresh(db, customer_id, source_id, person, observed_at, self.survivorship, now)
        self.absorb_holders(db, customer_id, person, now)

    def people_written(self, db: Connection, written: Sequence[PersonWritten],
                       now: datetime) -> None:
        golden.remember_new(db, [(w.source_id, w.person, w.observed_at) for w in written])

    def resolve_page(self, session: Session, people: Sequence[PagePerson]) -> list[PageMatch]:
        """One look-up for every e-mail and phone of the page; the page's repeats in Python.

        Any stored holder makes a person KNOWN, even one no longer ACTIVE: whether that
        holder is someone is ``resolve_customer``'s to say, record by record. A value an
        earlier person of the page has makes a person SHARED.
        """
        keys = [{p.key for p in person.points if p.data.kind in _SEARCHED}
                for person in people]
        held = _held(session.connection(), {key for mine in keys for key in mine})
        seen: set[tuple[ContactPointKind, str]] = set()
        matches = []
        for mine in keys:
            matches.append(PageMatch.KNOWN if mine & held
                           else PageMatch.SHARED if mine & seen else PageMatch.NEW)
            seen |= mine
        return matches

    def absorb_holders(self, db: Connection, customer_id: uuid.UUID, person: PersonData,
                       now: datetime) -> None:
        """Merge into this customer every other ACTIVE one holding one of the person's e-mails
        or phones: a known customer who now shows another's address is that person.

        The customer being written survives, so the rest of the record lands on a live
        customer; pairs a person dismissed (or unmerged) stay apart.
        """
        points = contact_points.usable(person)
        emails = sorted({p.value for p in points if p.data.kind is ContactPointKind.EMAIL})
        phones = sorted({p.value for p in points if p.data.kind is ContactPointKind.PHONE})
        if not emails and not phones:
            return
        holders = db.execute(_HOLDERS, {"emails": emails, "phones": phones}).all()
        others = sorted({c for _, c in holders if c != customer_id}, key=str)
        if not others:
            return
        active = db.scalars(_ACTIVE_OLDEST_FIRST, {"ids": others}).all()
        if not active:
            return
        apart = dismissed_pairs(db, [customer_id])
        by_email = {c for kind, c in holders if kind is ContactPointKind.EMAIL}
        for other in active:
            if frozenset((customer_id, other)) in apart:
                continue
            merge(db, customer_id, other, actor=CONNECTOR, survivorship=self.survivorship,
                  rule="email" if other in by_email else "phone", now=now)

    def resolve_customer(
        self, session: Session, person: PersonData, source: SourceIdentity
    ) -> uuid.UUID | None:
        points = contact_points.usable(person)
        emails = sorted({p.value for p in points if p.data.kind is ContactPointKind.EMAIL})
        phones = sorted({p.value for p in points if p.data.kind is ContactPointKind.PHONE})
        if not emails and not phones:
            return None
        holders = session.execute(_HOLDERS, {"emails": emails, "phones": phones}).all()
        if not holders:
            return None
        ids = sorted({customer_id for _, customer_id in holders}, key=str)
        active = session.scalars(_ACTIVE_OLDEST_FIRST, {"ids": ids}).all()
        # An e-mail is the stronger signal: a shared family phone must not win over it.
        for kind in (ContactPointKind.EMAIL, ContactPointKind.PHONE):
            holding = {customer_id for held, customer_id in holders if held is kind}
            for customer_id in active:
                if customer_id in holding:
                    return customer_id
        return None


def _held(db: Connection, keys: Iterable[tuple[ContactPointKind, str]]
          ) -> set[tuple[ContactPointKind, str]]:
    """Which of these (kind, normalised value) pairs a stored contact point has."""
    emails = sorted(value for kind, value in keys if kind is ContactPointKind.EMAIL)
    phones = sorted(value for kind, value in keys if kind is ContactPointKind.PHONE)
    held: set[tuple[ContactPointKind, str]] = set()
    for start in range(0, max(len(emails), len(phones)), _PAGE_CHUNK):
        end = start + _PAGE_CHUNK
        held.update((row.kind, row.normalised_value) for row in db.execute(
            _HELD, {"emails": emails[start:end], "phones": phones[start:end]}))
    return held


def absorb_placeholder(session: Session, placeholder_id: uuid.UUID, into_id: uuid.UUID) -> None:
    """Merge a placeholder customer into the customer it turned out to be.

    A placeholder is created when a record names a person the hub has not seen
    yet (an order's ``person_ref``); when that person arrives and matches an
    existing customer, the placeholder is merged into it like any other merge
    (``hub.identity.merge``): audited, raising ``customer.merged``, undone by
    ``customerUnmerge``, and its old id keeps resolving to the survivor.
    """
    merge(session.connection(), into_id, placeholder_id, actor=CONNECTOR,
          survivorship=get_settings().identity.survivorship, rule="reference")
