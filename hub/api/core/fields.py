"""Fields that declare the scopes they need; the check runs before the resolver, never inside it.

For a partner, a scoped field of a type that belongs to a customer (Customer,
and the types naming a ``customer_key``) also needs the scopes on THAT customer:
the token's scopes intersected with those of the sharing grants covering it
(``hub/api/core/sharing.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from inspect import isawaitable
from typing import Any

import graphene

from hub.access.audit import AUDITED_READ_SCOPES
from hub.access.scopes import Scope
from hub.api.core.errors import forbidden, not_granted
from hub.api.core.node import customer_of
from hub.api.core.sharing import known_scopes, scopes_on_customer


def _describe(description: str | None, required: frozenset[str]) -> str | None:
    if not required:
        return description
    needs = f"Requires scope: {', '.join(sorted(required))}."
    return f"{description} {needs}" if description else needs


def guard(resolver: Callable[..., Any], required: frozenset[str]) -> Callable[..., Any]:
    """Wrap a resolver so that a caller without the scopes gets null and a FORBIDDEN error."""

    def guarded(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        principal = info.context.principal
        if not required <= principal.scopes:
            raise forbidden(required - principal.scopes)
        if principal.is_partner:
            customer_id = customer_of(info.parent_type.name, root)
            if customer_id is not None:
                held = known_scopes(info.context, customer_id)
                if held is None:
                    return granted(root, info, customer_id, kwargs)
                if not required <= held:
                    raise not_granted(required - held)
        return resolver(root, info, **kwargs)

    async def granted(root: Any, info: graphene.ResolveInfo, customer_id: Any, kwargs: Any) -> Any:
        held = await scopes_on_customer(info.context, customer_id)
        if not required <= held:
            raise not_granted(required - held)
        return await resolved(resolver(root, info, **kwargs))

    # What is guarded, and how: read by ``hub.api.core.connections`` to load nested pages early.
    guarded.__wrapped__ = resolver  # type: ignore[attr-defined]
    guarded.required_scopes = required  # type: ignore[attr-defined]
    return guarded


class Field(graphene.Field):
    """``graphene.Field`` with ``scopes=``: the field answers null + FORBIDDEN without them."""

    def __init__(self, type_: Any, *args: Any, scopes: Iterable[Scope] = (), **kwargs: Any) -> None:
        self.required_scopes = frozenset(s.value for s in scopes)
        # A field needing an audited scope (customers:read_pii) is audited when read.
        self.audits_reads = bool(self.required_scopes & AUDITED_READ_SCOPES)
        kwargs["description"] = _describe(kwargs.get("description"), self.required_scopes)
        if self.required_scopes:
            # A field that can be refused must be able to answer null.
            type_ = _nullable(type_)
            kwargs.pop("required", None)
        super().__init__(type_, *args, **kwargs)

    def wrap_resolve(self, parent_resolver: Any) -> Any:
        resolver = super().wrap_resolve(parent_resolver)
        if self.audits_reads:
            # Inside the guard: only a read the caller was allowed is noted.
            resolver = noting_reads(resolver)
        return guard(resolver, self.required_scopes) if self.required_scopes else resolver


def noting_reads(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a resolver so that each read is noted on the request's audit trail, for its customer.

    The view writes the notes after execution, one event per customer
    (``hub.access.audit.AuditTrail``); the trail ignores callers it does not audit.
    """

    def noting(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        value = resolver(root, info, **kwargs)
        trail = info.context.audit
        if trail.audits_reads:
            type_name = info.parent_type.name
            if type_name == "Customer":
                trail.read("customer", root.id, info.field_name)
            else:
                field_name = f"{type_name}.{info.field_name}"
                trail.read("customer", getattr(root, "customer_id", None), field_name)
        return value

    noting.__wrapped__ = resolver  # type: ignore[attr-defined]
    return noting


def _nullable(type_: Any) -> Any:
    if isinstance(type_, graphene.NonNull):
        return type_.of_type
    return type_


def scoped(type_: Any, *, scopes: Iterable[Scope], **kwargs: Any) -> Field:
    """Shorthand for a scalar attribute that needs scopes: ``birth_date = scoped(Date, scopes=[...])``."""
    return Field(type_, scopes=scopes, **kwargs)


async def resolved(value: Any) -> Any:
    return await value if isawaitable(value) else value
