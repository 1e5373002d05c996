"""The Facebook Pages connector: one Page, read and answered with its Page access token.

Graph API at ``https://graph.facebook.com/<version>``; the token goes in the
``Authorization: Bearer`` header (never the URL we build), with
``appsecret_proof`` when the app secret is known, as apps with "Require App
Secret" need. Error codes in the body drive the session (see ``graph``): 190
becomes AuthExpired (the connection needs re-authorisation), throttling codes
are retried with backoff or the wait Meta announces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import requests
from pydantic import BaseModel, Field, SecretStr

from connectors.base import BearerAuth, Connector, Secret
from connectors.base.credentials import SecretLike, reveal
from connectors.base.errors import SignatureError
from connectors.base.policy import Verdict
from connectors.base.webhooks import hmac_hex
from connectors.facebook import graph, webhooks
from connectors.facebook.actions import WRITE_ACTIONS
from connectors.facebook.streams import Comments, Conversations, Messages, Ratings
from hub.sync.records import MappingError, SourceRecordData

DEFAULT_API_VERSION = "v21.0"  # the last version that still serves Page ratings


class FacebookConfig(BaseModel):
    page_id: str = Field(pattern=r"^[0-9]+$", description="The Page's numeric id.")
    api_version: str = Field(
        DEFAULT_API_VERSION,
        pattern=r"^v[0-9]+\.[0-9]+$",
        description="Graph API version; v21.0 expires 2027-01-21, ratings need ≤ v21.0.",
    )


class FacebookCredentials(BaseModel):
    page_access_token: SecretStr = Field(description="A Page access token for the Page.")
    app_secret: SecretStr | None = Field(
        None, description="The Meta app's secret: webhook signatures and appsecret_proof."
    )
    verify_token: SecretStr | None = Field(
        None, description="The token you typed into the webhook setup, echoed by Meta's GET."
    )


class PageTokenAuth(BearerAuth):
    """The Page token as a bearer header, plus ``appsecret_proof`` when the app secret is set."""

    def __init__(self, token: SecretLike, app_secret: SecretLike | None = None) -> None:
        super().__init__(token)
        secret = reveal(app_secret)
        # appsecret_proof = hex HMAC-SHA256(key=app secret, message=access token).
        self.proof = Secret(hmac_hex(secret, self.token.reveal().encode())) if secret else None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request = super().__call__(request)
        # Graph echoes the proof into its next links; sending it twice would be ambiguous.
        if self.proof is not None and "appsecret_proof=" not in (request.url or ""):
            request.prepare_url(request.url, {"appsecret_proof": self.proof.reveal()})
        return request

    def secret_values(self) -> list[str]:
        return super().secret_values() + ([self.proof.reveal()] if self.proof else [])


class FacebookConnector(Connector):
    name = "facebook"
    title = "Facebook Pages"
    config_model = FacebookConfig
    credentials_model = FacebookCredentials
    base_url = "https://graph.facebook.com/{api_version}"
    streams = (Conversations, Messages, Comments, Ratings)
    write_actions = WRITE_ACTIONS

    def auth(
        self,
        config: BaseModel,
        credentials: FacebookCredentials,
        on_credentials_change: Callable[[dict[str, Any]], None] | None,
    ) -> PageTokenAuth:
        return PageTokenAuth(credentials.page_access_token, credentials.app_secret)

    def token_expired(self, response: requests.Response) -> bool:
        return graph.token_expired(response)

    def interpret(self, response: requests.Response) -> Verdict | None:
        return graph.interpret(response)

    # -- webhooks: the hub's route calls these in order (see connectors.base.connector) ---------

    def webhook_secret(self, config: BaseModel, credentials: FacebookCredentials) -> str:
        return reveal(credentials.app_secret) or ""

    def webhook_challenge(
        self, query: Mapping[str, str], config: BaseModel | None = None, credentials: Any = None
    ) -> str | None:
        """Meta's ``GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``."""
        if "hub.mode" not in query:
            return None
        token = self.parse_credentials(credentials).verify_token if credentials else None
        return webhooks.verify_subscription(query, token or "")

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: Any,
        query: Mapping[str, str] | None = None,
        *,
        config: BaseModel | None = None,
    ) -> None:
        """``secret`` is the app secret; the signature is X-Hub-Signature-256."""
        if not reveal(secret):
            raise SignatureError("no app secret configured to check Facebook webhooks with")
        webhooks.verify(headers, body, secret)

    def webhook_event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """The event's own id (``message:<mid>``, ``comment:<id>:<verb>:<time>``).

        Meta batches events; a batch is stored under the hash of its event ids, and
        the records it holds are upserts, so an event seen again in another batch
        changes nothing. A body that is not a Page delivery is kept under its hash.
        """
        try:
            ids = sorted(e.provider_event_id for e in self.webhook_events(_json(body)))
        except (MappingError, ValueError):
            return "sha256:" + hashlib.sha256(body).hexdigest()
        if len(ids) == 1:
            return ids[0]
        return "batch:" + hashlib.sha256("\n".join(ids).encode()).hexdigest()

    def webhook_topic(self, headers: Mapping[str, str], body: bytes) -> str:
        try:
            topics = sorted({e.topic for e in self.webhook_events(_json(body))})
        except (MappingError, ValueError):
            return "unknown"
        return ",".join(topics) or "ignored"

    def webhook_records(self, headers: Mapping[str, str], body: bytes) -> list[SourceRecordData]:
        try:
            delivery = _json(body)
        except ValueError:
            raise MappingError("Facebook webhook: the body is not JSON") from None
        return self.events_from_webhook(delivery)

    def verify_subscription(self, query: Mapping[str, str], verify_token: Any) -> str:
        """The challenge to echo to Meta's ``GET ?hub.mode=subscribe…``; SignatureError if not."""
        return webhooks.verify_subscription(query, verify_token)

    def webhook_events(self, body: dict[str, Any]) -> list[webhooks.WebhookEvent]:
        return webhooks.webhook_events(body)

    def events_from_webhook(self, body: dict[str, Any]) -> list[SourceRecordData]:
        return webhooks.events_from_webhook(body)


def _json(body: bytes | str) -> Any:
    return json.loads(body)
