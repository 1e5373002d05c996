"""One file per mutation of the webhooks domain."""
