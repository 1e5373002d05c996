"""crmhub: one canonical customer model, fed by connectors, served through one GraphQL endpoint."""

__version__ = "0.1.0"
