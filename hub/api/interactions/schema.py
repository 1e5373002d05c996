"""Root fields of the interactions domain."""

from __future__ import annotations

import graphene

from hub.api.interactions.mutations.interaction_log import InteractionLog
from hub.api.interactions.mutations.interaction_reply import InteractionReply


class InteractionMutations(graphene.ObjectType):
    interaction_log = InteractionLog.Field()
    interaction_reply = InteractionReply.Field()
