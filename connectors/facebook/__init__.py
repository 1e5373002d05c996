"""Facebook Pages: Messenger conversations and messages, post comments, reviews; webhooks; replies.

See docs/connectors/facebook.md for setup, permissions, limits and webhooks.
"""

from connectors.facebook.client import FacebookConfig, FacebookConnector, FacebookCredentials

__all__ = ["FacebookConfig", "FacebookConnector", "FacebookCredentials"]
