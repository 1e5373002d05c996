"""Service cases: the workflow, SLA clocks, case numbers, and the rules that open cases.

The functions here take a synchronous SQLAlchemy ``Connection``: the sync
writer calls them directly, the GraphQL mutations through ``run_sync`` inside
their own transaction.
"""
