"""Mailchimp audience webhooks: unsigned form posts, trusted by a secret in the callback URL.

Mailchimp signs nothing. The hub's callback URL for a Mailchimp connection
therefore carries the connection's webhook secret (credentials
``webhook_secret``) as a query value, ``<webhook URL>?secret=<secret>``, and a
request is trusted when that value matches, compared in constant time. Before
saving a webhook Mailchimp sends one GET to the URL and keeps it only if it is
answered 200 (``MailchimpConnector.webhook_challenge``); events come as
``POST application/x-www-form-urlencoded`` with ``type``, ``fired_at``
(``2009-03-26 21:35:57``, UTC) and ``data[...]`` keys.

Each event becomes a ``webhook_event`` record of its own (Mailchimp sends no
event id, so its id is a hash of the whole form) naming the member it is
about; the member record itself is left to the members stream, whose copy is
complete. An event that ends a member (deleted, or moved to a new address)
also tombstones it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from connectors.base import Secret, SignatureError
from connectors.base.credentials import reveal
from connectors.base.redaction import register_secret_param
from connectors.mailchimp.mapping import (
    MEMBER,
    consent,
    member_key,
    member_ref,
    moment,
    names,
    subscriber_hash,
    text,
)
from hub.models.enums import Channel, ContactPointKind, Direction, InteractionKind
from hub.sync.records import (
    ContactPointData,
    InteractionData,
    MappingError,
    PersonData,
    SourceRecordData,
)

SECRET_PARAM = "secret"
EVENT = "webhook_event"
TYPES = ("subscribe", "unsubscribe", "profile", "upemail", "cleaned", "campaign")

register_secret_param(SECRET_PARAM)  # the callback URL must never be logged with it

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def verify_callback(query: Mapping[str, str], secret: str | Secret) -> None:
    """Raise SignatureError unless the callback URL's ``?secret=`` is the connection's."""
    given = query.get(SECRET_PARAM)
    if not given:
        raise SignatureError("the Mailchimp callback URL carries no ?secret=")
    expected = reveal(secret) or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureError("the Mailchimp callback URL's secret does not match")


def parse_form(body: bytes) -> dict[str, str]:
    """The POSTed form as flat ``{"data[merges][FNAME]": "Ada", …}``."""
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        raise MappingError("a Mailchimp webhook body must be a UTF-8 form") from None


def event_id(form: Mapping[str, str]) -> str:
    """A stable id for one delivery: the same event resent hashes the same."""
    canonical = json.dumps(sorted(form.items()), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def nested(form: Mapping[str, str]) -> dict[str, Any]:
    """``data[merges][FNAME]=Ada`` as ``{"data": {"merges": {"FNAME": "Ada"}}}``."""
    tree: dict[str, Any] = {}
    for key, value in form.items():
        *path, leaf = [a or b for a, b in _KEY.findall(key)] or [key]
        node = tree
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise MappingError(f"mailchimp webhook: {key!r} clashes with another field")
        if isinstance(node.get(leaf), dict):
            raise MappingError(f"mailchimp webhook: {key!r} clashes with another field")
        node[leaf] = value
    return tree


def events_from_webhook(form: Mapping[str, str]) -> list[SourceRecordData]:
    """The records one delivery carries; MappingError says what is wrong with a bad one."""
    event = nested(form)
    kind = text(event.get("type"))
    if kind not in TYPES:
        raise MappingError(f"mailchimp webhook: unknown type {event.get('type')!r}")
    at = moment(event.get("fired_at"))
    if at is None:
        raise MappingError(
            f"mailchimp webhook {kind}: unreadable fired_at {event.get('fired_at')!r}"
        )
    data = event.get("data")
    if not isinstance(data, dict):
        raise MappingError(f"mailchimp webhook {kind}: no data[...] fields")
    if kind != "campaign" and not text(data.get("list_id")):
        raise MappingError(f"mailchimp webhook {kind}: no data[list_id]")
    return _HANDLERS[kind](_Event(event_id(form), event, data, at))


@dataclass(frozen=True)
class _Event:
    id: str
    payload: dict[str, Any]
    data: dict[str, Any]
    at: datetime

    @property
    def list_id(self) -> str:
        return text(self.data.get("list_id")) or ""

    def need(self, field: str) -> str:
        value = text(self.data.get(field))
        if value is None:
            raise MappingError(f"mailchimp webhook {self.payload['type']}: no data[{field}]")
        return value

    def merges(self) -> dict[str, Any]:
        merges = self.data.get("merges")
        return merges if isinstance(merges, dict) else {}

    def evidence(self, status: str) -> dict[str, Any]:
        fields = ("ip_opt", "ip_signup", "action", "reason", "campaign_id")
        return {"list_id": self.list_id, "status": status, "webhook": self.payload["type"]} | {
            field: text(self.data.get(field)) for field in fields
        }

    def record(self, **parts: Any) -> SourceRecordData:
        return SourceRecordData(EVENT, self.id, self.payload, self.at, **parts)

    def tombstone(self, email: str) -> SourceRecordData:
        key = member_key(self.list_id, subscriber_hash(email))
        return SourceRecordData(MEMBER, key, self.payload, self.at, deleted=True)

    def interaction(self, kind: InteractionKind, direction: Direction, body: str | None):
        subject = f"Mailchimp audience {self.list_id}: {self.payload['type']}"
        return InteractionData(Channel.EMAIL, kind, direction, self.at, subject, body)


def _subscribe(e: _Event) -> list[SourceRecordData]:
    email = e.need("email")
    person = PersonData(
        **names(e.merges()), consents=(consent("subscribed", e.at, e.evidence("subscribed")),)
    )
    return [e.record(person=person, person_ref=member_ref(e.list_id, email))]


def _unsubscribe(e: _Event) -> list[SourceRecordData]:
    email = e.need("email")
    deleted = text(e.data.get("action")) == "delete"  # the audience's owner deleted the contact
    person = PersonData(consents=(consent("unsubscribed", e.at, e.evidence("unsubscribed")),))
    interaction = None
    if not deleted:
        reason = text(e.data.get("reason"))
        interaction = e.interaction(InteractionKind.UNSUBSCRIBE, Direction.INBOUND, reason)
    event = e.record(
        person=person, person_ref=member_ref(e.list_id, email), interaction=interaction
    )
    return [event, e.tombstone(email)] if deleted else [event]


def _profile(e: _Event) -> list[SourceRecordData]:
    email = e.need("email")
    return [
        e.record(person=PersonData(**names(e.merges())), person_ref=member_ref(e.list_id, email))
    ]


def _upemail(e: _Event) -> list[SourceRecordData]:
    old, new = e.need("old_email"), e.need("new_email")
    # The new address joins the old member's customer now, so that the member read under
    # its new hash later resolves to the same person.
    person = PersonData(
        contact_points=(ContactPointData(ContactPointKind.EMAIL, new, is_primary=True),)
    )
    return [e.record(person=person, person_ref=member_ref(e.list_id, old)), e.tombstone(old)]


def _cleaned(e: _Event) -> list[SourceRecordData]:
    email = e.need("email")
    reason = text(e.data.get("reason"))  # hard (bounce) or abuse (complaint)
    person = PersonData(consents=(consent("cleaned", e.at, e.evidence("cleaned")),))
    interaction = None
    if reason == "hard":
        interaction = e.interaction(InteractionKind.EMAIL_BOUNCE, Direction.OUTBOUND, "hard bounce")
    return [
        e.record(person=person, person_ref=member_ref(e.list_id, email), interaction=interaction)
    ]


def _campaign(e: _Event) -> list[SourceRecordData]:
    e.need("id")
    return [e.record()]  # a campaign's sending status: kept for provenance, about no person


_HANDLERS: dict[str, Callable[[_Event], list[SourceRecordData]]] = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "profile": _profile,
    "upemail": _upemail,
    "cleaned": _cleaned,
    "campaign": _campaign,
}
