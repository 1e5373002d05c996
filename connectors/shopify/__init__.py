"""Shopify: customers and orders from a shop's Admin REST API, webhooks, tag and consent write-back.

See docs/connectors/shopify.md for setup, scopes, limits and the privacy topics.
"""

from connectors.shopify.client import ShopifyConfig, ShopifyConnector, ShopifyCredentials

__all__ = ["ShopifyConfig", "ShopifyConnector", "ShopifyCredentials"]
