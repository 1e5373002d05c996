"""A tiny connector for a fictional JSON API, showing what a connector declares.

The "Example CRM" API: ``GET /contacts`` (limit/offset, ``updated_since``,
``{"data": [...], "meta": {"total": n}}``), ``GET /notes`` (``cursor``,
``meta.next_cursor``), ``POST /notes``; key in ``X-Example-Token``; webhooks
signed ``X-Example-Signature: sha256=<hex HMAC of "<timestamp>." + body>``.

A webhook delivery is ``{"id": "<event id>", "event": "<topic>", "data": {...}}``
where ``data`` is the contact or note as the API shows it (a deleted contact:
its id and ``updated_at``). The API checks a new callback URL with
``GET ?challenge=<c>``, to be answered with ``c``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, Field, SecretStr

from connectors.base import ApiKeyAuth, Connector, HttpSession, WriteAction
from connectors.base.webhooks import Headers, check_timestamp, verify_hmac
from connectors.example.streams import Contacts, Notes
from hub.sync.records import MappingError, SourceRecordData


class ExampleConfig(BaseModel):
    api_url: str = Field("https://api.example.com/v1", description="Base URL of the API.")


class ExampleCredentials(BaseModel):
    api_key: SecretStr = Field(description="API key, sent in X-Example-Token.")
    webhook_secret: SecretStr | None = Field(
        None, description="Signs webhook deliveries (X-Example-Signature)."
    )


class NewNote(BaseModel):
    contact_id: str
    body: str = Field(min_length=1)


def add_note(session: HttpSession, note: NewNote) -> dict:
    return session.post("notes", json=note.model_dump()).json()


class ExampleConnector(Connector):
    name = "example"
    title = "Example CRM"
    config_model = ExampleConfig
    credentials_model = ExampleCredentials
    base_url = "{api_url}"
    rate_limit = (10, 1.0)
    streams = (Contacts, Notes)
    write_actions = (WriteAction("add_note", NewNote, add_note, "Add a note to a contact."),)

    def auth(self, config, credentials: ExampleCredentials, on_credentials_change):
        return ApiKeyAuth(credentials.api_key, header="X-Example-Token")

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str,
                       query: Mapping[str, str] | None = None, *, config=None) -> None:
        headers = Headers.of(headers)
        timestamp = headers.get("X-Example-Timestamp")
        check_timestamp(timestamp)
        signed = f"{timestamp}.".encode() + body
        verify_hmac(secret, signed, headers.get("X-Example-Signature"), "hex", prefix="sha256=")

    def webhook_event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        event_id = _envelope(body)[0]
        if isinstance(event_id, str | int) and str(event_id):
            return str(event_id)
        # A body the job will refuse is still kept: under the hash of its bytes.
        return super().webhook_event_id(headers, body)

    def webhook_topic(self, headers: Mapping[str, str], body: bytes) -> str:
        topic = _envelope(body)[1]
        return topic if isinstance(topic, str) and topic else "unknown"

    def webhook_records(self, headers: Mapping[str, str], body: bytes) -> list[SourceRecordData]:
        event = _event(body)
        if event is None:
            raise MappingError("example webhook: the body is not a JSON object")
        stream = _EVENT_STREAMS.get(event.get("event"))
        if stream is None:
            return []  # a topic the hub does not use
        data = event.get("data")
        if not isinstance(data, dict):
            raise MappingError(f"example webhook {event['event']}: no data object")
        if event["event"] == "contact.deleted":
            data = {**data, "deleted": True}
        try:
            return [stream().map(data)]
        except (KeyError, ValueError, TypeError) as error:
            raise MappingError(f"example webhook {event['event']}: {error!r}") from None

    def webhook_challenge(self, query: Mapping[str, str], config=None,
                          credentials=None) -> str | None:
        return query.get("challenge") or None


_EVENT_STREAMS: dict[Any, type[Contacts | Notes]] = {
    "contact.created": Contacts,
    "contact.updated": Contacts,
    "contact.deleted": Contacts,
    "note.created": Notes,
}


@functools.lru_cache(maxsize=64)
def _envelope(body: bytes) -> tuple[Any, Any]:
    """The event's ``id`` and ``event``: asked for one after the other of the same body,
    which is parsed once."""
    event = _event(body) or {}
    return event.get("id"), event.get("event")


def _event(body: bytes) -> dict[str, Any] | None:
    try:
        event = orjson.loads(body)
    except ValueError:  # orjson's JSONDecodeError, invalid UTF-8 included
        return None
    return event if isinstance(event, dict) else None


__all__ = ["ExampleConnector"]
