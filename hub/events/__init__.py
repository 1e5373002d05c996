"""Outbound webhooks after the Standard Webhooks spec: the outbox, delivery, and the SSRF guard."""
