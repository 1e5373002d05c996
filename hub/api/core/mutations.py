"""Mutations: scopes declared in Meta, expected failures returned as typed payload errors.

A mutation subclasses ``Mutation`` and sets ``Meta.scopes`` and
``Meta.error_type``; it implements ``perform(info, **input)`` and raises
``UserError`` for anything the caller can fix. Authorisation failures are
top-level errors (``extensions.code`` FORBIDDEN) raised before ``perform``.

Every mutation is audited by the base (``Meta.audit``, see ``hub.api.core.audited``):
the event is written inside the transaction that makes the change
(``RequestDB.transaction``), so it commits with the change or not at all. A
mutation that refuses, or whose transaction rolls back, leaves no event.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.errors import ApiError, forbidden
from hub.api.core.ids import expect_global_id


class UserError(Exception):
    """A failure the caller can fix: returned in the payload's ``errors``, never raised to the top."""

    def __init__(self, code: enum.Enum | str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = getattr(code, "value", code)
        self.message = message
        self.field = field


def id_argument(
    value: str, type_name: str, field: str, code: enum.Enum, message: str | None = None
) -> uuid.UUID:
    """The uuid of a mutation argument's global id of ``type_name``; for anything else a
    payload error ``code`` on ``field`` (``message``, or one naming the value and type)."""
    try:
        return expect_global_id(value, type_name)
    except ApiError:
        raise UserError(
            code, message or f"{value!r} is not the id of a {type_name}.", field
        ) from None


def error_type(name: str, codes: type[enum.Enum], description: str) -> type[graphene.ObjectType]:
    """A payload error type ``{field, code, message}`` with its own code enum."""
    code_enum = graphene.Enum.from_enum(codes, name=f"{name}Code", description=f"Why a {name} happened.")
    return type(
        name,
        (graphene.ObjectType,),
        {
            "__doc__": description,
            "field": graphene.String(description="The input field at fault, in camelCase; null for the whole input."),
            "code": graphene.Field(code_enum, required=True),
            "message": graphene.String(required=True),
        },
    )


class MutationOptions(graphene.types.mutation.MutationOptions):
    scopes: frozenset[str] = frozenset()
    error_type: Any = None
    audit: Audited = Audited()


class Mutation(graphene.Mutation):
    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(
        cls,
        scopes: tuple[Scope, ...] = (),
        error_type: Any = None,
        audit: Audited | None = None,
        _meta: Any = None,
        **options: Any,
    ) -> None:
        if _meta is None:
            _meta = MutationOptions(cls)
        _meta.scopes = frozenset(s.value for s in scopes)
        _meta.error_type = error_type
        _meta.audit = (audit or Audited()).bind(cls.__name__)
        needs = f"Requires scope: {', '.join(sorted(_meta.scopes))}." if _meta.scopes else None
        if needs:
            doc = (cls.__doc__ or "").strip()
            options.setdefault("description", f"{doc} {needs}".strip())
        options.setdefault("name", f"{cls.__name__}Payload")
        cls.errors = graphene.List(graphene.NonNull(error_type), required=True)
        super().__init_subclass_with_meta__(_meta=_meta, **options)

    @classmethod
    async def mutate(cls, root: Any, info: graphene.ResolveInfo, **data: Any) -> Any:
        ctx = info.context
        principal = ctx.principal
        if not cls._meta.scopes <= principal.scopes:
            raise forbidden(cls._meta.scopes - principal.scopes)
        cls._meta.audit.expect(ctx.audit, data)
        try:
            payload = await cls.perform(info, **data)
            if ctx.audit.writes:
                # The mutation wrote nothing through the request's transaction:
                # its event is written on its own.
                await ctx.db.transaction(_nothing)
        except UserError as error:
            return cls(errors=[{"field": error.field, "code": error.code, "message": error.message}])
        finally:
            ctx.audit.discard_writes()
            ctx.forget_loaded()
        return payload

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, **data: Any) -> Any:
        raise NotImplementedError


async def _nothing(conn: Any) -> None:
    return None
