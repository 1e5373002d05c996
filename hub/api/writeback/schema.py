"""Root fields of the write-back domain: wiring only."""

from __future__ import annotations

import graphene

from hub.api.writeback.mutations.write_back_run import WriteBackRun


class WriteBackMutations(graphene.ObjectType):
    write_back_run = WriteBackRun.Field()
