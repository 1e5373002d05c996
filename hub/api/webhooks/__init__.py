"""GraphQL for outbound webhooks (webhooks:manage): subscriptions, their deliveries and attempts."""
