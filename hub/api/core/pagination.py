"""Relay cursor connections over keyset pagination.

Cursors carry the sort key and id of a row, so pages stay stable while rows
are added and the database seeks by index instead of counting an offset.
A cursor made under one ordering is refused under another.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import graphene
import orjson
from sqlalchemy import ColumnElement, Select, and_, literal, or_
from sqlalchemy.sql.elements import KeyedColumnElement

from hub.api.core.errors import ApiError, ErrorCode
from hub.settings import ApiSettings


class SortDirection(graphene.Enum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class Ordering:
    """A sort: its name (checked against cursors), the key column and the tie-breaking id."""

    name: str
    key: KeyedColumnElement[Any]
    id: KeyedColumnElement[Any]
    descending: bool

    def order_by(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        desc = self.descending != reverse
        return [c.desc() if desc else c.asc() for c in (self.key, self.id)]

    def beyond(self, cursor: tuple[Any, uuid.UUID], reverse: bool = False) -> ColumnElement[bool]:
        """Rows strictly after the cursor in this order (before it when reversed)."""
        value, id_ = cursor
        k, i = literal(value, self.key.type), literal(id_, self.id.type)
        if self.descending != reverse:
            return or_(self.key < k, and_(self.key == k, self.id < i))
        return or_(self.key > k, and_(self.key == k, self.id > i))

    def cursor(self, row: Any) -> str:
        return encode_cursor(self.name, getattr(row, self.key.key), row.id)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "d" in value:
            return Decimal(value["d"])
        raise ValueError
    return value


def encode_cursor(ordering: str, key: Any, id_: uuid.UUID) -> str:
    raw = orjson.dumps([ordering, _jsonable(key), id_.hex])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: str) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
        name, key, id_hex = orjson.loads(raw)
        found = (_from_jsonable(key), uuid.UUID(hex=id_hex))
    except (ValueError, TypeError, UnicodeError, binascii.Error, orjson.JSONDecodeError):
        raise ApiError(f"{cursor!r} is not a valid cursor.", ErrorCode.BAD_USER_INPUT) from None
    if name != ordering:
        raise ApiError(
            f"This cursor was made for the ordering {name}, not {ordering}.",
            ErrorCode.BAD_USER_INPUT,
        )
    return found


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    backwards: bool
    after: str | None
    before: str | None

    @classmethod
    def from_args(cls, api: ApiSettings, **args: Any) -> PageRequest:
        first, last = args.get("first"), args.get("last")
        if first is not None and last is not None:
            raise ApiError("Pass either `first` or `last`, not both.", ErrorCode.BAD_USER_INPUT)
        for name, value in (("first", first), ("last", last)):
            if value is None:
                continue
            if value < 0:
                raise ApiError(f"`{name}` must not be negative.", ErrorCode.BAD_USER_INPUT)
            if value > api.max_page_size:
                raise ApiError(
                    f"`{name}` is {value}; the most one page may hold is {api.max_page_size}.",
                    ErrorCode.PAGE_SIZE_EXCEEDED,
                    maxPageSize=api.max_page_size,
                )
        limit = first if first is not None else last if last is not None else api.default_page_size
        return cls(limit, last is not None, args.get("after"), args.get("before"))

    def bounds(self, ordering: Ordering) -> list[ColumnElement[bool]]:
        clauses = []
        if self.after is not None:
            clauses.append(ordering.beyond(decode_cursor(self.after, ordering.name)))
        if self.before is not None:
            clauses.append(
                ordering.beyond(decode_cursor(self.before, ordering.name), reverse=True)
            )
        return clauses

    def apply(self, stmt: Select[Any], ordering: Ordering) -> Select[Any]:
        """The page's statement: bounded by the cursors, one row more than asked to see if more exist."""
        return (
            stmt.where(*self.bounds(ordering))
            .order_by(*ordering.order_by(reverse=self.backwards))
            .limit(self.limit + 1)
        )

    def page(
        self,
        rows: Sequence[Any],
        ordering: Ordering,
        count: Callable[[], Awaitable[int]],
        total: int | None = None,
    ) -> Page:
        """The page of ``rows`` (one more than asked when more exist); ``total`` when already
        counted, else ``count`` is called if the query asks for ``totalCount``."""
        more = len(rows) > self.limit
        rows = list(rows[: self.limit])
        if self.backwards:
            rows.reverse()
        edges = [Edge(row, ordering) for row in rows]
        info = PageInfo(
            has_next_page=more if not self.backwards else self.before is not None,
            has_previous_page=more if self.backwards else self.after is not None,
            first=edges[0] if edges else None,
            last=edges[-1] if edges else None,
        )
        return Page(edges, info, count, total)


@dataclass(slots=True)
class Edge:
    """A row of a page; its cursor is made only when the query asks for it."""

    node: Any
    ordering: Ordering

    @property
    def cursor(self) -> str:
        return self.ordering.cursor(self.node)


@dataclass(slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    first: Edge | None
    last: Edge | None

    @property
    def start_cursor(self) -> str | None:
        return self.first.cursor if self.first is not None else None

    @property
    def end_cursor(self) -> str | None:
        return self.last.cursor if self.last is not None else None


@dataclass(slots=True)
class Page:
    edges: list[Edge]
    page_info: PageInfo
    count: Callable[[], Awaitable[int]] = field(repr=False)
    total: int | None = None


class CountableConnection(graphene.relay.Connection):
    """A Relay connection with ``totalCount``, counted only when asked for."""

    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="Rows matching the filters, all pages.")

    @staticmethod
    def resolve_total_count(root: Page, info: graphene.ResolveInfo) -> Any:
        # Known already when the page's statement counted; an awaitable otherwise.
        return root.total if root.total is not None else root.count()


def page_arguments() -> dict[str, Any]:
    return {
        "first": graphene.Int(description="Page size from the start (or after `after`)."),
        "after": graphene.String(),
        "last": graphene.Int(description="Page size from the end (or before `before`)."),
        "before": graphene.String(),
    }
