"""Graph API records in the canonical model's words.

Everyone a Page talks to is a Facebook user known by a page-scoped id (PSID):
each record about one carries ``person_ref=("user", <id>)``, an anchor keyed by
that id, so a person's conversation, messages, comments and review land on one
customer whichever arrives first, and ``person`` with their name and the SOCIAL
contact point ``facebook:<id>``. Facebook gives one display name and no
reliable split into given and family name, so it is kept whole as the given
name. The ``…@facebook.com`` e-mail Graph shows on message senders is a proxy,
not an address, and is never used.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hub.models.enums import Channel, ContactPointKind, Direction, FeedbackKind, InteractionKind
from hub.sync.records import (
    ContactPointData,
    FeedbackData,
    InteractionData,
    MappingError,
    PersonData,
    SourceRecordData,
)

USER = "user"  # the object type of the per-person anchor record
# Recommendations are positive or negative; old star ratings were 1–5. One 5-point scale
# keeps both comparable: a positive recommendation counts as 5, a negative one as 1.
REVIEW_SCALE = 5
RECOMMENDATION_SCORES = {"positive": 5, "negative": 1}


def graph_time(value: Any, what: str) -> datetime:
    """Graph's ``2021-07-23T09:50:48+0000``, or Unix seconds/milliseconds in webhooks."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise MappingError(f"{what}: unreadable time {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def person(user: dict[str, Any]) -> PersonData:
    point = ContactPointData(ContactPointKind.SOCIAL, f"facebook:{user['id']}", "facebook", True)
    return PersonData(given_name=(user.get("name") or "").strip() or None, contact_points=(point,))


def about(record: SourceRecordData, user: dict[str, Any]) -> SourceRecordData:
    """``record`` belonging to the Facebook user ``user`` (``{"id", "name"?}``)."""
    return replace(record, person=person(user), person_ref=(USER, str(user["id"])))


def _id(record: dict[str, Any], what: str) -> str:
    value = record.get("id")
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise MappingError(f"{what} has no id")
    return str(value)


def _user(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value.get("id") else None


def conversation(record: dict[str, Any], page_id: str) -> SourceRecordData:
    """A Messenger thread: between the Page and one person, who is its customer."""
    external_id = _id(record, "conversation")
    what = f"conversation {external_id}"
    participants = (record.get("participants") or {}).get("data") or []
    others = [p for p in map(_user, participants) if p and str(p["id"]) != page_id]
    if not others:
        raise MappingError(f"{what}: no participant other than the Page")
    mapped = SourceRecordData(
        object_type="conversation",
        external_id=external_id,
        payload=record,
        source_updated_at=graph_time(record.get("updated_time"), what),
    )
    return about(mapped, others[0])


def message(record: dict[str, Any], page_id: str) -> SourceRecordData:
    """A Messenger message: inbound when a person sent it, outbound when the Page did."""
    external_id = _id(record, "message")
    what = f"message {external_id}"
    sender = _user(record.get("from"))
    if sender is None:
        raise MappingError(f"{what} has no sender (from.id)")
    outbound = str(sender["id"]) == page_id
    if outbound:
        recipients = [_user(r) for r in (record.get("to") or {}).get("data") or []]
        customer = next((r for r in recipients if r and str(r["id"]) != page_id), None)
        if customer is None:
            raise MappingError(f"{what}: sent by the Page to no one else")
    else:
        customer = sender
    sent = graph_time(record.get("created_time"), what)
    mapped = SourceRecordData(
        object_type="message",
        external_id=external_id,
        payload=record,
        source_updated_at=sent,
        interaction=InteractionData(
            channel=Channel.SOCIAL,
            kind=InteractionKind.MESSAGE,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            occurred_at=sent,
            body=record.get("message") or None,
        ),
    )
    return about(mapped, customer)


def comment(record: dict[str, Any], page_id: str) -> SourceRecordData:
    """A comment on a Page post; the Page's own replies belong to whom they answer."""
    external_id = _id(record, "comment")
    what = f"comment {external_id}"
    author = _user(record.get("from"))
    if author is None:
        # Graph leaves ``from`` out without pages_read_user_content: say so, do not guess.
        raise MappingError(
            f"{what} has no author (from); does the token have pages_read_user_content?"
        )
    created = graph_time(record.get("created_time"), what)
    mapped = SourceRecordData(
        object_type="comment", external_id=external_id, payload=record, source_updated_at=created
    )
    outbound = str(author["id"]) == page_id
    customer = _user((record.get("parent") or {}).get("from")) if outbound else author
    if customer is None or str(customer["id"]) == page_id:
        return mapped  # the Page talking on its own post: kept, but nobody's interaction
    mapped = replace(
        mapped,
        interaction=InteractionData(
            channel=Channel.SOCIAL,
            kind=InteractionKind.COMMENT,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            occurred_at=created,
            body=record.get("message") or None,
            link=record.get("permalink_url") or None,
        ),
    )
    return about(mapped, customer)


def rating(record: dict[str, Any], page_id: str) -> SourceRecordData:
    """A recommendation (or old star rating) of the Page: one per reviewer, so keyed by them."""
    reviewer = _user(record.get("reviewer"))
    if reviewer is None:
        raise MappingError("rating has no reviewer (needs pages_read_user_content)")
    what = f"rating by {reviewer['id']}"
    stars = record.get("rating")
    if record.get("has_rating") is not False and isinstance(stars, int) and 1 <= stars <= 5:
        score = stars  # the finer signal, when the review still carries one
    elif record.get("recommendation_type") in RECOMMENDATION_SCORES:
        score = RECOMMENDATION_SCORES[record["recommendation_type"]]
    else:
        raise MappingError(
            f"{what}: neither a 1–5 rating nor a positive/negative recommendation_type"
        )
    created = graph_time(record.get("created_time"), what)
    mapped = SourceRecordData(
        object_type="rating",
        external_id=str(reviewer["id"]),
        payload=record,
        source_updated_at=created,
        feedback=FeedbackData(
            kind=FeedbackKind.REVIEW,
            score=score,
            scale_max=REVIEW_SCALE,
            channel=Channel.SOCIAL,
            occurred_at=created,
            comment=record.get("review_text") or None,
        ),
    )
    return about(mapped, reviewer)
