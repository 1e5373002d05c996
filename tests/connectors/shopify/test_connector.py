"""The connector as the hub sees it: plugin, config, credentials, declarations, clean cassettes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.base import CredentialsError, discover, get_connector
from connectors.shopify import ShopifyConnector
from connectors.shopify.client import DEFAULT_API_VERSION
from tests.connectors.shopify.conftest import CASSETTES, TOKEN, WEBHOOK_SECRET


def test_installed_as_a_plugin():
    assert get_connector("shopify") is ShopifyConnector
    assert discover()["shopify"] is ShopifyConnector


def test_declares_its_streams_and_actions():
    connector = ShopifyConnector()
    assert [s.name for s in connector.streams] == ["customers", "orders"]
    assert [a.name for a in connector.write_actions] == [
        "tag_customer",
        "untag_customer",
        "set_email_marketing_consent",
    ]
    assert set(connector.credentials_schema()["properties"]) == {"access_token", "webhook_secret"}


@pytest.mark.parametrize(
    ("given", "domain"),
    [
        ("acme", "acme.myshopify.com"),
        ("Acme-Store.myshopify.com", "acme-store.myshopify.com"),
        ("https://acme.myshopify.com/admin", "acme.myshopify.com"),
    ],
)
def test_shop_domain_is_normalised(given, domain):
    config = ShopifyConnector().parse_config({"shop_domain": given})
    assert (config.shop_domain, config.api_version) == (domain, DEFAULT_API_VERSION)


@pytest.mark.parametrize(
    "config",
    [
        {"shop_domain": "shop.example.com"},  # a storefront domain: the token must not go there
        {"shop_domain": "evil.com/x.myshopify.com"},
        {"shop_domain": "acme", "api_version": "2026-05"},
        {"shop_domain": "acme", "api_version": "latest"},
    ],
)
def test_bad_config_is_refused(config):
    with pytest.raises(ValidationError):
        ShopifyConnector().parse_config(config)


def test_the_api_version_is_configurable():
    session = ShopifyConnector().session(
        {"shop_domain": "acme", "api_version": "2026-07"}, {"access_token": TOKEN}
    )
    assert session.base_url == "https://acme.myshopify.com/admin/api/2026-07/"


@pytest.mark.parametrize("credentials", [{}, {"access_token": "  "}, {"access_token": [TOKEN]}])
def test_bad_credentials_name_the_field_not_the_secret(credentials):
    with pytest.raises(CredentialsError) as caught:
        ShopifyConnector().session({"shop_domain": "acme"}, credentials)
    assert "access_token" in str(caught.value) and TOKEN not in str(caught.value)


def test_no_cassette_holds_a_secret():
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        text = path.read_text()
        for secret in (
            TOKEN,
            WEBHOOK_SECRET,
            "shpat_",
            "shpss_",
            "X-Shopify-Access-Token",
            "Authorization",
        ):
            assert secret not in text, f"{path.name} holds {secret!r}"
