"""Root fields of the cases domain."""

from __future__ import annotations

import graphene

from hub.access.scopes import Scope
from hub.api.cases.mutations.case_assign import CaseAssign
from hub.api.cases.mutations.case_comment_add import CaseCommentAdd
from hub.api.cases.mutations.case_create import CaseCreate
from hub.api.cases.mutations.case_share import CaseShare, CaseUnshare
from hub.api.cases.mutations.case_update import CaseUpdate
from hub.api.cases.resolvers import resolve_cases
from hub.api.cases.types import CASE_SORTS, CaseConnection, CaseFilter
from hub.api.core.fields import Field
from hub.api.core.pagination import page_arguments


class CaseQueries(graphene.ObjectType):
    cases = Field(
        CaseConnection,
        required=True,
        args={
            **page_arguments(),
            "filter": graphene.Argument(CaseFilter),
            "order_by": graphene.Argument(CASE_SORTS.input),
        },
        resolver=resolve_cases,
        scopes=[Scope.CASES_READ],
        description="Service cases, newest first unless ordered otherwise; a partner sees the "
        "cases shared with it.",
    )


class CaseMutations(graphene.ObjectType):
    case_create = CaseCreate.Field()
    case_update = CaseUpdate.Field()
    case_assign = CaseAssign.Field()
    case_comment_add = CaseCommentAdd.Field()
    case_share = CaseShare.Field()
    case_unshare = CaseUnshare.Field()
