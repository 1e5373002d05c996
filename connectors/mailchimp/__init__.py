"""Mailchimp: audiences, members with their consent, campaign activity, webhooks, write-back.

See ``docs/connectors/mailchimp.md``.
"""

from connectors.mailchimp.client import MailchimpConfig, MailchimpConnector, MailchimpCredentials

__all__ = ["MailchimpConfig", "MailchimpConnector", "MailchimpCredentials"]
