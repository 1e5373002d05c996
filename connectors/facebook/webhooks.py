"""Meta webhooks for a Page: the subscription handshake, signatures, and events as records.

Subscribing: Meta sends ``GET <callback>?hub.mode=subscribe&hub.verify_token=
<yours>&hub.challenge=<n>`` and expects the challenge echoed. Deliveries are
``POST``s signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw
body)>`` carrying ``{"object": "page", "entry": [{"id": <page id>, "time",
"messaging": [...] | "changes": [{"field": "feed", "value": {...}}]}]}``.
Messenger events: ``{"sender": {"id"}, "recipient": {"id"}, "timestamp": <ms>,
"message": {"mid", "text", "is_echo"?}}``; feed comment changes: ``{"item":
"comment", "verb": "add|edited|remove|hide|unhide", "comment_id", "post_id",
"parent_id", "from": {"id", "name"}, "message", "created_time": <s>}``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from connectors.base.credentials import SecretLike, reveal
from connectors.base.errors import SignatureError
from connectors.base.webhooks import Headers, verify_hmac
from connectors.facebook import mapping
from hub.models.enums import Channel, Direction, InteractionKind
from hub.sync.records import InteractionData, MappingError, SourceRecordData

SIGNATURE_HEADER = "X-Hub-Signature-256"
COMMENT_VERBS = frozenset({"add", "edited", "remove"})  # hide/unhide carry no new content


def verify_subscription(query: Mapping[str, str], verify_token: SecretLike) -> str:
    """The ``hub.challenge`` to answer with, or SignatureError when the request is not ours."""
    if query.get("hub.mode") != "subscribe":
        raise SignatureError("not a subscription request (hub.mode is not 'subscribe')")
    expected = (reveal(verify_token) or "").encode()
    given = (query.get("hub.verify_token") or "").encode()
    if not expected or not hmac.compare_digest(expected, given):
        raise SignatureError("hub.verify_token does not match the configured verify token")
    challenge = query.get("hub.challenge")
    if not challenge:
        raise SignatureError("hub.challenge is missing")
    return challenge


def verify(headers: Mapping[str, str], body: bytes, app_secret: SecretLike) -> None:
    """Raise SignatureError unless ``body`` is signed with the app secret."""
    signature = Headers.of(headers).get(SIGNATURE_HEADER)
    verify_hmac(reveal(app_secret), body, signature, "hex", prefix="sha256=")


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a delivery: its id for at-most-once processing, its field, its record."""

    provider_event_id: str
    topic: str
    record: SourceRecordData


def webhook_events(body: dict[str, Any]) -> list[WebhookEvent]:
    """The message and comment events of a Page delivery; other fields and items are skipped."""
    if not isinstance(body, dict) or body.get("object") != "page":
        raise MappingError("not a Page webhook (object is not 'page')")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise MappingError("Page webhook without an entry list")
    return [event for entry in entries for event in _entry_events(entry)]


def events_from_webhook(body: dict[str, Any]) -> list[SourceRecordData]:
    return [event.record for event in webhook_events(body)]


def _entry_events(entry: Any) -> Iterator[WebhookEvent]:
    if not isinstance(entry, dict) or not entry.get("id"):
        raise MappingError("Page webhook entry without the Page id")
    page_id = str(entry["id"])
    for event in entry.get("messaging") or ():
        if isinstance(event, dict) and isinstance(event.get("message"), dict):
            yield _message_event(event, page_id)
    for change in entry.get("changes") or ():
        if not isinstance(change, dict) or change.get("field") != "feed":
            continue
        value = change.get("value")
        if not isinstance(value, dict) or value.get("item") != "comment":
            continue  # posts, reactions, shares: not synced
        if value.get("verb") in COMMENT_VERBS:
            yield _comment_event(value, page_id)


def _message_event(event: dict[str, Any], page_id: str) -> WebhookEvent:
    message = event["message"]
    mid = message.get("mid")
    if not mid:
        raise MappingError("Messenger event without a message id (mid)")
    sender, recipient = event.get("sender") or {}, event.get("recipient") or {}
    outbound = bool(message.get("is_echo")) or str(sender.get("id")) == page_id
    customer = recipient if outbound else sender
    if not customer.get("id"):
        raise MappingError(f"message {mid}: no sender/recipient id")
    sent = mapping.graph_time(event.get("timestamp"), f"message {mid}")
    record = SourceRecordData(
        object_type="message",
        external_id=str(mid),
        payload=event,
        source_updated_at=sent,
        interaction=InteractionData(
            channel=Channel.SOCIAL,
            kind=InteractionKind.MESSAGE,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            occurred_at=sent,
            body=message.get("text") or None,
        ),
    )
    return WebhookEvent(f"message:{mid}", "messages", mapping.about(record, customer))


def _comment_event(value: dict[str, Any], page_id: str) -> WebhookEvent:
    comment_id, verb = value.get("comment_id"), value["verb"]
    if not comment_id:
        raise MappingError(f"feed comment {verb} without a comment_id")
    created = value.get("created_time")
    event_id = f"comment:{comment_id}:{verb}:{created}"
    if verb == "edited":
        # An edit keeps the comment's created_time; the text tells two edits apart.
        text = (value.get("message") or "").encode()
        event_id += ":" + hashlib.sha256(text).hexdigest()[:12]
    if verb == "remove":
        record = SourceRecordData(
            object_type="comment",
            external_id=str(comment_id),
            payload=value,
            source_updated_at=mapping.graph_time(created, f"comment {comment_id}")
            if created is not None
            else None,
            deleted=True,
        )
        return WebhookEvent(event_id, "feed", record)
    # The shape of a Graph comment, so that one mapping serves the API and the webhook.
    as_comment = {
        "id": comment_id,
        "created_time": created,
        "from": value.get("from"),
        "message": value.get("message"),
        "post_id": value.get("post_id"),
    }
    if value.get("parent_id") and value.get("parent_id") != value.get("post_id"):
        as_comment["parent"] = {"id": value["parent_id"]}
    record = replace(mapping.comment(as_comment, page_id), payload=value)
    return WebhookEvent(event_id, "feed", record)
