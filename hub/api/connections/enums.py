"""The connections domain's enums, made from the model's vocabularies."""

from __future__ import annotations

import graphene

from hub.models import enums

ConnectionStatusEnum = graphene.Enum.from_enum(
    enums.ConnectionStatus,
    name="ConnectionStatus",
    description="ACTIVE syncs on schedule; PAUSED does not; NEEDS_REAUTH waits for new "
    "credentials; FAILING had a stream fail in its last sync.",
)
SyncRunStatusEnum = graphene.Enum.from_enum(
    enums.SyncRunStatus,
    name="SyncRunStatus",
    description="RUNNING, then SUCCEEDED, PARTIAL (some records went to the dead letters) "
    "or FAILED.",
)
