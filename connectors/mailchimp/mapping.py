"""Mailchimp records in the canonical model's words.

A member is one e-mail address in one audience. Its identity is
``<list id>:<subscriber hash>``, the hash being Mailchimp's own (MD5 of the
lower-cased address), so that campaign activity and webhooks can name the
member without having read it. Its status is the person's MARKETING_EMAIL
consent as that audience records it; an archived member is a tombstone.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from connectors.base.stream import cursor_moment
from hub.models.enums import (
    Channel,
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    Direction,
    InteractionKind,
)
from hub.sync.records import (
    AddressData,
    ConsentData,
    ContactPointData,
    InteractionData,
    MappingError,
    PersonData,
    SourceRecordData,
)

SOURCE = "mailchimp"
MEMBER = "member"

CONSENT = {
    "subscribed": ConsentStatus.GRANTED,
    "unsubscribed": ConsentStatus.WITHDRAWN,
    "cleaned": ConsentStatus.WITHDRAWN,
    "pending": ConsentStatus.PENDING,
}
# Transactional contacts never opted in to marketing, nor out of it: no consent to record.
STATUSES = {*CONSENT, "transactional", "archived"}
ACTIVITY = {
    "open": (InteractionKind.EMAIL_OPEN, Direction.INBOUND),
    "click": (InteractionKind.EMAIL_CLICK, Direction.INBOUND),
    "bounce": (InteractionKind.EMAIL_BOUNCE, Direction.OUTBOUND),
}
# Merge fields with a place in the canonical model; the others become attributes.
_STANDARD_MERGES = {"EMAIL", "FNAME", "LNAME", "PHONE", "ADDRESS"}


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased e-mail address."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def member_key(list_id: str, member_hash: str) -> str:
    return f"{list_id}:{member_hash}"


def member_ref(list_id: str, email: str) -> tuple[str, str]:
    """The ``person_ref`` of the member ``email`` of audience ``list_id``."""
    return MEMBER, member_key(list_id, subscriber_hash(email))


def moment(value: Any) -> datetime | None:
    """Mailchimp's ISO 8601 times and webhooks' ``2009-03-26 21:35:57`` (UTC) as aware datetimes."""
    return cursor_moment(value) if isinstance(value, str) else None


def text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None


def consent(status: str, at: datetime, evidence: dict[str, Any]) -> ConsentData:
    kept = {key: value for key, value in evidence.items() if value not in (None, "")}
    return ConsentData(ConsentPurpose.MARKETING_EMAIL, CONSENT[status], at, SOURCE, kept)


def names(merges: dict[str, Any]) -> dict[str, str | None]:
    return {"given_name": text(merges.get("FNAME")), "family_name": text(merges.get("LNAME"))}


def payload(record: dict[str, Any]) -> dict[str, Any]:
    # Hypermedia links are half of every record and say nothing about it.
    return {key: value for key, value in record.items() if key != "_links"}


def required(record: dict[str, Any], kind: str, *fields: str) -> list[str]:
    values = [text(record.get(field)) for field in fields]
    missing = [field for field, value in zip(fields, values, strict=True) if value is None]
    if missing:
        raise MappingError(f"mailchimp {kind} without {', '.join(missing)}")
    return values  # type: ignore[return-value]


def audience(record: dict[str, Any]) -> SourceRecordData:
    (list_id,) = required(record, "audience", "id")
    return SourceRecordData("audience", list_id, payload(record))


def campaign(record: dict[str, Any]) -> SourceRecordData:
    (campaign_id,) = required(record, "campaign", "id")
    sent = moment(record.get("send_time")) or moment(record.get("create_time"))
    return SourceRecordData("campaign", campaign_id, payload(record), source_updated_at=sent)


def member(record: dict[str, Any]) -> SourceRecordData:
    list_id, member_id, email, status = required(
        record, "member", "list_id", "id", "email_address", "status"
    )
    key = member_key(list_id, member_id)
    changed = moment(record.get("last_changed"))
    if status == "archived":
        return SourceRecordData(MEMBER, key, payload(record), changed, deleted=True)
    if status not in STATUSES:
        raise MappingError(f"mailchimp member {key}: unknown status {status!r}")
    merges = record.get("merge_fields")
    merges = merges if isinstance(merges, dict) else {}
    consents = ()
    if status in CONSENT:
        at = _decided_at(status, record)
        if at is None:  # a consent decision without a time cannot be recorded, nor dropped
            raise MappingError(f"mailchimp member {key}: status {status} has no time")
        evidence = {
            "list_id": list_id,
            "status": status,
            "ip_opt": record.get("ip_opt"),
            "ip_signup": record.get("ip_signup"),
            "unsubscribe_reason": record.get("unsubscribe_reason"),
        }
        consents = (consent(status, at, evidence),)
    interaction = None
    if status == "unsubscribed" and changed is not None:
        interaction = InteractionData(
            Channel.EMAIL,
            InteractionKind.UNSUBSCRIBE,
            Direction.INBOUND,
            changed,
            subject=f"Unsubscribed from Mailchimp audience {list_id}",
            body=text(record.get("unsubscribe_reason")),
        )
    person = PersonData(
        **names(merges),
        locale=text(record.get("language")),
        contact_points=_contact_points(email, merges),
        addresses=_addresses(merges),
        tags=_tags(record.get("tags")),
        consents=consents,
        attributes=_attributes(merges),
    )
    return SourceRecordData(
        MEMBER, key, payload(record), changed, person=person, interaction=interaction
    )


def activity(record: dict[str, Any]) -> SourceRecordData:
    """One open, click or bounce of one recipient of a campaign (flattened email activity)."""
    campaign_id, list_id, member_id, action, stamp = required(
        record, "email activity", "campaign_id", "list_id", "email_id", "action", "timestamp"
    )
    if action not in ACTIVITY:
        raise MappingError(f"mailchimp email activity: unknown action {action!r}")
    at = moment(stamp)
    if at is None:
        raise MappingError(f"mailchimp email activity: unreadable timestamp {stamp!r}")
    kind, direction = ACTIVITY[action]
    external_id = f"{campaign_id}:{member_id}:{action}:{stamp}"
    url = text(record.get("url"))
    if url:  # two clicks in one second on different links are two interactions
        external_id += ":" + hashlib.sha256(url.encode()).hexdigest()[:16]
    bounce = text(record.get("type"))
    return SourceRecordData(
        "email_activity",
        external_id,
        record,
        source_updated_at=at,
        person_ref=(MEMBER, member_key(list_id, member_id)),
        interaction=InteractionData(
            Channel.EMAIL,
            kind,
            direction,
            at,
            subject=f"Mailchimp campaign {campaign_id}",
            body=f"{bounce} bounce" if action == "bounce" and bounce else None,
            link=url,
        ),
    )


def _decided_at(status: str, record: dict[str, Any]) -> datetime | None:
    # Opt-in and sign-up times stay put; an opt-out is known only as the member's last change.
    first = {"subscribed": "timestamp_opt", "pending": "timestamp_signup"}.get(status)
    return (moment(record.get(first)) if first else None) or moment(record.get("last_changed"))


def _contact_points(email: str, merges: dict[str, Any]) -> tuple[ContactPointData, ...]:
    points = [ContactPointData(ContactPointKind.EMAIL, email, is_primary=True)]
    if phone := text(merges.get("PHONE")):
        points.append(ContactPointData(ContactPointKind.PHONE, phone))
    return tuple(points)


def _addresses(merges: dict[str, Any]) -> tuple[AddressData, ...]:
    address = merges.get("ADDRESS")
    if not isinstance(address, dict):
        return ()  # Mailchimp sends "" for an empty address
    country = text(address.get("country"))
    values = {
        "line1": text(address.get("addr1")),
        "line2": text(address.get("addr2")),
        "city": text(address.get("city")),
        "region": text(address.get("state")),
        "postal_code": text(address.get("zip")),
        # Audiences accept free text here; only an ISO code is a country the hub can store.
        "country": country if country and len(country) == 2 and country.isalpha() else None,
    }
    return (AddressData(**values, is_primary=True),) if any(values.values()) else ()


def _tags(tags: Any) -> tuple[str, ...]:
    named = (text(tag.get("name")) for tag in tags or () if isinstance(tag, dict))
    return tuple(name for name in named if name)


def _attributes(merges: dict[str, Any]) -> dict[str, Any]:
    return {
        f"mailchimp_{tag.lower()}": value
        for tag, value in merges.items()
        if tag not in _STANDARD_MERGES and value not in (None, "")
    }
