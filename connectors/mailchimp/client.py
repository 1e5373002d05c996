"""The Mailchimp Marketing API v3 connector: configuration, credentials, session, webhooks.

The API key ends in its data centre (``…-us6``), which names the API host
(``https://us6.api.mailchimp.com/3.0/``); it travels as the password of HTTP
basic auth, under any user name. Mailchimp allows 10 simultaneous connections
per account and sends no rate headers: a connection has one session whose
requests go one at a time, and a 429 is retried by the session's jittered
backoff.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from connectors.base import BasicAuth, Connector, CredentialsError, HttpSession, Secret
from connectors.base.credentials import reveal
from connectors.mailchimp import webhooks
from connectors.mailchimp.actions import ACTIONS
from connectors.mailchimp.streams import STREAMS
from hub.sync.records import MappingError, SourceRecordData

_DATA_CENTRE = re.compile(r"-([a-z]{2,}[0-9]+)$")


def api_root(api_key: str | Secret | SecretStr) -> str:
    """The API's base URL for the key's data centre; CredentialsError (without the key) if none."""
    match = _DATA_CENTRE.search((reveal(api_key) or "").strip())
    if match is None:
        raise CredentialsError(
            "a Mailchimp API key ends in its data centre, like …-us6; this one does not"
        )
    return f"https://{match.group(1)}.api.mailchimp.com/3.0/"


class MailchimpConfig(BaseModel):
    list_ids: list[str] = Field(
        default_factory=list,
        description="Audience (list) ids to sync; empty: every audience of the account.",
    )


class MailchimpCredentials(BaseModel):
    api_key: SecretStr = Field(
        description="A Mailchimp API key (Account > Extras > API keys), ending in -<data centre>."
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="A long random value; the webhook URL given to Mailchimp ends in ?secret=<it>.",
    )


class MailchimpConnector(Connector):
    name = "mailchimp"
    title = "Mailchimp"
    config_model = MailchimpConfig
    credentials_model = MailchimpCredentials
    streams = STREAMS
    write_actions = ACTIONS

    def auth(self, config, credentials: MailchimpCredentials, on_credentials_change):
        return BasicAuth("crmhub", credentials.api_key)

    def session(self, config, credentials, **options: Any) -> HttpSession:
        # The host is the key's data centre, which lives in the credentials, not the config.
        root = api_root(self.parse_credentials(credentials).api_key)
        session = super().session(config, credentials, **options)
        session.base_url = root
        return session

    # -- webhooks: unsigned, trusted by the secret in the callback URL (see ``webhooks``) ------

    def webhook_challenge(
        self, query: Mapping[str, str], config: Any = None, credentials: Any = None
    ) -> str | None:
        """Mailchimp's GET check of a new callback URL: an empty 200 if the secret is ours."""
        secret = self.webhook_secret(config, self.parse_credentials(credentials))
        webhooks.verify_callback(query, secret)
        return ""

    def webhook_secret(self, config: Any, credentials: Any) -> str:
        return reveal(getattr(credentials, "webhook_secret", None)) or ""

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
        query: Mapping[str, str] | None = None,
        *,
        config: Any = None,
    ) -> None:
        # Nothing in the headers or body is signed: the URL's secret is the whole check.
        webhooks.verify_callback(query or {}, secret)

    def verify_callback(self, query: Mapping[str, str], secret: str | Secret) -> None:
        """Raise SignatureError unless the request's ``?secret=`` is the connection's."""
        webhooks.verify_callback(query, secret)

    def webhook_event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        try:
            return webhooks.event_id(webhooks.parse_form(body))
        except MappingError:  # stored all the same; the job reports what is wrong with it
            return "sha256:" + hashlib.sha256(body).hexdigest()

    def webhook_topic(self, headers: Mapping[str, str], body: bytes) -> str:
        try:
            return webhooks.parse_form(body).get("type") or "webhook"
        except MappingError:
            return "webhook"

    def webhook_records(self, headers: Mapping[str, str], body: bytes) -> list[SourceRecordData]:
        return webhooks.events_from_webhook(webhooks.parse_form(body))

    def events_from_webhook(self, form: Mapping[str, str]) -> list[SourceRecordData]:
        return webhooks.events_from_webhook(form)
