"""The Shopify connector: one shop's Admin REST API with a custom app's access token.

Shopify made the REST Admin API legacy on 2024-10-01, and since 2025-04-01 new
public (App Store) apps must use the GraphQL Admin API only. This connector
is for a merchant's own custom app, which may still use REST; a public app
needs a GraphQL port of these streams (see docs/connectors/shopify.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator

from connectors.base import ApiKeyAuth, Connector
from connectors.shopify import webhooks
from connectors.shopify.actions import WRITE_ACTIONS
from connectors.shopify.streams import Customers, Orders
from hub.sync.records import SourceRecordData

# The newest stable version on 2026-11-23, supported until at least 2027-10-01. A retired
# version is not an error at Shopify: it silently "falls forward" to the oldest supported one.
DEFAULT_API_VERSION = "2026-10"

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class ShopifyConfig(BaseModel):
    shop_domain: str = Field(
        description="The shop's permanent domain, e.g. acme.myshopify.com (or just acme)."
    )
    api_version: str = Field(
        DEFAULT_API_VERSION,
        pattern=r"^\d{4}-(01|04|07|10)$",
        description="Admin API version (YYYY-01/04/07/10); keep it within Shopify's support window.",
    )

    @field_validator("shop_domain", mode="before")
    @classmethod
    def _myshopify(cls, value: Any) -> str:
        domain = str(value).strip().lower()
        domain = re.sub(r"^https?://", "", domain).split("/", 1)[0]
        if "." not in domain:
            domain += ".myshopify.com"
        # The token is sent to this host: only Shopify's own domains, never a storefront domain.
        if not _SHOP_DOMAIN.match(domain):
            raise ValueError("must be the shop's *.myshopify.com domain")
        return domain


class ShopifyCredentials(BaseModel):
    access_token: SecretStr = Field(
        description="Admin API access token of the custom app (shpat_…), sent as "
        "X-Shopify-Access-Token."
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="The app's client secret (or the store's webhook signing key), which signs "
        "webhook deliveries.",
    )

    @field_validator("access_token")
    @classmethod
    def _present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the access token is empty")
        return value


class ShopifyConnector(Connector):
    name = "shopify"
    title = "Shopify"
    config_model = ShopifyConfig
    credentials_model = ShopifyCredentials
    base_url = "https://{shop_domain}/admin/api/{api_version}"
    # Shopify's standard-plan leaky bucket: 40 calls, refilled at 2 per second. Bigger plans
    # allow more; a 429 with Retry-After is still honoured by the session.
    rate_limit = (40, 20.0)
    streams = (Customers, Orders)
    write_actions = WRITE_ACTIONS

    def auth(self, config, credentials: ShopifyCredentials, on_credentials_change):
        return ApiKeyAuth(credentials.access_token, header="X-Shopify-Access-Token")

    # -- webhooks (the contract in connectors/base/connector.py; the work in ``webhooks``) ----

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: Any,
        query: Mapping[str, str] | None = None,
        *,
        config: BaseModel | Mapping[str, Any] | None = None,
    ) -> None:
        webhooks.verify(headers, body, secret)
        # One app secret signs every shop's deliveries: refuse another shop's, and a delivery
        # without the event id and topic the inbox stores it under.
        self.webhook_delivery(headers, config)

    def webhook_event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        return self.webhook_delivery(headers).event_id

    def webhook_topic(self, headers: Mapping[str, str], body: bytes) -> str:
        return self.webhook_delivery(headers).topic

    def webhook_records(self, headers: Mapping[str, str], body: bytes) -> list[SourceRecordData]:
        delivery = self.webhook_delivery(headers)
        return webhooks.events_from_webhook(delivery.topic, body,
                                            triggered_at=delivery.triggered_at)

    def webhook_delivery(
        self, headers: Mapping[str, str], config: BaseModel | Mapping[str, Any] | None = None
    ) -> webhooks.Delivery:
        """Event id, topic and shop of a (verified) delivery; with ``config``, its shop only."""
        shop = self.parse_config(config).shop_domain if config is not None else None
        return webhooks.delivery(headers, shop_domain=shop)

    def events_from_webhook(
        self,
        topic: str,
        body: bytes | str | Mapping[str, Any],
        triggered_at: datetime | None = None,
    ) -> list[SourceRecordData]:
        return webhooks.events_from_webhook(topic, body, triggered_at=triggered_at)
