"""Identity resolution (DESIGN §5): normalise -> block -> compare -> decide, as pure functions.

``hub.identity.resolve.resolve`` runs the pipeline over a batch of
``PersonRecord``; see docs/identity.md. Nothing is imported here, so that
``normalise`` stays cheap to import for the sync engine.
"""
