"""A tiny connector for a fictional JSON API, showing what a connector declares.

The "Example CRM" API: ``GET /contacts`` (limit/offset, ``updated_since``,
``{"data": [...], "meta": {"total": n}}``), ``GET /notes`` (``cursor``,
``meta.next_cursor``), ``POST /notes``; key in ``X-Example-Token``; webhooks
signed ``X-Example-Signature: sha256=<hex HMAC of "<timestamp>." + body>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field, SecretStr
from requests.structures import CaseInsensitiveDict

from connectors.base import ApiKeyAuth, Connector, HttpSession, WriteAction
from connectors.base.webhooks import check_timestamp, verify_hmac
from connectors.example.streams import Contacts, Notes


class ExampleConfig(BaseModel):
    api_url: str = Field("https://api.example.com/v1", description="Base URL of the API.")


class ExampleCredentials(BaseModel):
    api_key: SecretStr = Field(description="API key, sent in X-Example-Token.")


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

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str) -> None:
        headers = CaseInsensitiveDict(headers)
        timestamp = headers.get("X-Example-Timestamp")
        check_timestamp(timestamp)
        signed = f"{timestamp}.".encode() + body
        verify_hmac(secret, signed, headers.get("X-Example-Signature"), "hex", prefix="sha256=")


__all__ = ["ExampleConnector"]
