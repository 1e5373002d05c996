"""A connector declares a platform: its config, its streams, its session, its write-back actions.

    class Shopify(Connector):
        name, title = "shopify", "Shopify"
        config_model = ShopifyConfig
        credentials_model = ShopifyCredentials
        base_url = "https://{shop}.myshopify.com/admin/api/2025-04"
        rate_limit = (2, 1.0)
        streams = [Customers, Orders]

        def auth(self, config, credentials, on_credentials_change):
            return ApiKeyAuth(credentials.access_token, header="X-Shopify-Access-Token")

A write action is a name, a pydantic input model and a function of the
session and the validated input; ``run_action`` executes it inside the
session's idempotency key so a retried write is applied once.

A connector whose platform pushes events implements the webhook hooks, which
the hub's ``/webhooks/{connection}`` route (``hub/webhooks.py``) and inbox job
(``hub/sync/inbox.py``) call in this order:

- ``webhook_challenge(query, config, credentials)``: a GET, the platform's check
  of a new callback URL (Facebook's ``hub.challenge``, Mailchimp's ping);
- ``webhook_secret(config, credentials)``: the key deliveries are checked with;
- ``verify_webhook(headers, body, secret, query, config=...)``: raise
  ``SignatureError`` unless the raw delivery is the platform's;
- ``webhook_event_id(headers, body)`` and ``webhook_topic(headers, body)``:
  what the delivery is stored under (the inbox keeps each event id once);
- ``webhook_records(headers, body)``: later, in a job, what it means.

Nothing on the first four may call the platform: they run while the platform
waits for its acknowledgement.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import requests
from pydantic import BaseModel, ValidationError

from connectors.base.budget import RateBudget
from connectors.base.credentials import reveal
from connectors.base.errors import ConnectorError, CredentialsError, SignatureError
from connectors.base.http import DEFAULT_TIMEOUTS, HttpSession, Timeouts
from connectors.base.policy import Action, RetryPolicy, Verdict
from connectors.base.stream import Stream
from hub.sync.records import SourceRecordData


class NoConfig(BaseModel):
    """A connector that needs no configuration."""


@dataclass(frozen=True)
class WriteAction:
    """A declared write-back: ``run(session, input)`` with ``input`` an ``input_model``.

    ``carries`` names the hub changes the action takes to the platform
    (``customer.tag``, ``customer.untag``, ``consent.marketing_email``,
    ``interaction.reply``) and ``plan(record, change)`` gives its input for one
    source record of the connection (``object_type``, ``external_id``,
    ``payload``), or None when the action does not apply to that record;
    ``change["change"]`` is the name of the change (see docs/connectors/write-back.md).
    """

    name: str
    input_model: type[BaseModel]
    run: Callable[[HttpSession, Any], Any]
    description: str = ""
    carries: tuple[str, ...] = ()
    plan: Callable[[Any, Mapping[str, Any]], dict[str, Any] | None] | None = None


class Connector:
    """The base of every connector; subclasses declare, the base builds sessions and streams."""

    name: ClassVar[str]
    title: ClassVar[str]
    config_model: ClassVar[type[BaseModel]] = NoConfig
    credentials_model: ClassVar[type[BaseModel] | None] = None
    streams: ClassVar[Sequence[type[Stream]]] = ()
    write_actions: ClassVar[Sequence[WriteAction]] = ()
    base_url: ClassVar[str] = ""  # may name config fields: "https://{shop}.myshopify.com/…"
    headers: ClassVar[Mapping[str, str]] = {}
    error_mapping: ClassVar[Mapping[int, Action]] = {}
    rate_limit: ClassVar[tuple[int, float] | None] = None  # (requests, per seconds)
    timeout: ClassVar[Timeouts] = DEFAULT_TIMEOUTS
    retry: ClassVar[RetryPolicy] = RetryPolicy()

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.config_model.model_json_schema()

    @classmethod
    def credentials_schema(cls) -> dict[str, Any] | None:
        return cls.credentials_model.model_json_schema() if cls.credentials_model else None

    def parse_config(self, config: BaseModel | Mapping[str, Any]) -> BaseModel:
        if isinstance(config, self.config_model):
            return config
        return self.config_model.model_validate(dict(config))

    def parse_credentials(self, credentials: BaseModel | Mapping[str, Any] | None) -> Any:
        if self.credentials_model is None or isinstance(credentials, self.credentials_model):
            return credentials
        try:
            return self.credentials_model.model_validate(dict(credentials or {}))
        except ValidationError as error:
            # pydantic's message quotes the input, which here is a secret: name the fields only.
            fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
            raise CredentialsError(f"{self.name} credentials are invalid: {fields}") from None

    def auth(
        self,
        config: BaseModel,
        credentials: Any,
        on_credentials_change: Callable[[dict[str, Any]], None] | None,
    ) -> requests.auth.AuthBase | None:
        """The request signer; OAuth ones pass new credentials to ``on_credentials_change``."""
        return None

    def token_expired(self, response: requests.Response) -> bool:
        """A provider's own expired-token signal beyond 401 (Facebook: error code 190)."""
        return False

    def interpret(self, response: requests.Response) -> Verdict | None:
        """What a response means beyond its status (Facebook: throttling codes in a 400)."""
        return None

    def session(
        self,
        config: BaseModel | Mapping[str, Any],
        credentials: BaseModel | Mapping[str, Any] | None,
        *,
        on_credentials_change: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> HttpSession:
        """The connection's one HTTP session (one per connection, so one rate budget)."""
        config = self.parse_config(config)
        credentials = self.parse_credentials(credentials)
        budget = RateBudget(*self.rate_limit, clock=clock, sleep=sleep) if self.rate_limit else None
        return HttpSession(
            self.base_url.format(**config.model_dump()),
            headers=self.headers,
            auth=self.auth(config, credentials, on_credentials_change),
            timeout=self.timeout,
            retry=self.retry,
            error_mapping=self.error_mapping,
            auth_expired=self.token_expired,
            interpret=self.interpret,
            budget=budget,
            sleep=sleep,
        )

    def stream(self, name: str, config: BaseModel | Mapping[str, Any]) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream(self.parse_config(config))
        raise ConnectorError(f"{self.name} has no stream {name!r}")

    def run_action(
        self, session: HttpSession, name: str, data: Mapping[str, Any], idempotency_key: str
    ) -> Any:
        """Validate ``data`` and run the write action ``name`` under ``idempotency_key``."""
        action = next((a for a in self.write_actions if a.name == name), None)
        if action is None:
            raise ConnectorError(f"{self.name} has no write action {name!r}")
        payload = action.input_model.model_validate(dict(data))
        with session.idempotency(idempotency_key):
            return action.run(session, payload)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "verify_webhook" in cls.__dict__:
            cls.verify_webhook = _with_webhook_context(cls.__dict__["verify_webhook"])

    # -- inbound webhooks (see the module docstring for the order the hub calls them in) -----

    def webhook_secret(self, config: BaseModel, credentials: Any) -> str:
        """The key this connection's deliveries are checked with; "" when none is configured.

        By default the credentials' ``webhook_secret`` field: the secret is sealed with the
        other credentials, never kept in the plain connection config.
        """
        return reveal(getattr(credentials, "webhook_secret", None)) or ""

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
        query: Mapping[str, str] | None = None,
        *,
        config: BaseModel | None = None,
    ) -> None:
        """Raise SignatureError unless the delivery is the platform's (see ``webhooks``).

        ``body`` is the raw request body, ``query`` the callback URL's query (Mailchimp
        puts its secret there), ``config`` the connection's (Shopify refuses another
        shop's delivery). Headers are matched case-insensitively.
        """
        raise SignatureError(f"{self.title} does not send webhooks")

    def webhook_event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """The platform's id of this event, which the inbox stores once per connection.

        Platforms that send none get a hash of the body: a redelivery of the same
        event is byte-identical, so it hashes the same.
        """
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def webhook_topic(self, headers: Mapping[str, str], body: bytes) -> str:
        """What kind of event this is, as the platform names it (``customers/update``)."""
        return "webhook"

    def webhook_records(self, headers: Mapping[str, str], body: bytes) -> list[SourceRecordData]:
        """What a stored delivery means for the hub; MappingError says what is wrong with it.

        Called by the inbox job, with the headers as stored (signatures dropped).
        """
        raise ConnectorError(f"{self.title} does not send webhooks")

    def webhook_challenge(
        self, query: Mapping[str, str], config: BaseModel | None = None, credentials: Any = None
    ) -> str | None:
        """The answer to the platform's GET check of the callback URL, or None if it sends none.

        Raise SignatureError when the check names a token or secret that is not this
        connection's (Facebook's ``hub.verify_token``).
        """
        return None


def _with_webhook_context(verify: Callable[..., None]) -> Callable[..., None]:
    """``verify`` taking the whole contract's arguments, for overrides written before it had them.

    An override of ``verify_webhook(headers, body, secret)`` keeps working: the hub
    always passes ``query`` and ``config``, and this drops what the override does not name.
    """
    params = inspect.signature(verify).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return verify
    named = {name for name in ("query", "config") if name in params}
    if named == {"query", "config"}:
        return verify

    @functools.wraps(verify)
    def adapted(self: Connector, headers: Mapping[str, str], body: bytes, secret: str,
                query: Mapping[str, str] | None = None, *,
                config: BaseModel | None = None) -> None:
        context = {"query": query, "config": config}
        verify(self, headers, body, secret, **{k: v for k, v in context.items() if k in named})

    del adapted.__wrapped__  # its signature is the contract's, not the override's
    return adapted
