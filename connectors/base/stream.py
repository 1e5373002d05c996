"""A stream is declared, not coded: where its records are, how they page, how they map.

    class Customers(Stream):
        name = "customers"
        path = "customers.json"
        object_type = "customer"
        cursor_field = "updated_at"
        cursor_param = "updated_at_min"
        record_path = "customers"
        paginator = LinkHeaderPaginator(keep_params=("limit",))

        def map(self, record): return SourceRecordData(...)

``pages`` owns the loop: first request (static params plus the bookmark),
paging, record extraction and the bookmark after each page. The sync engine
owns storing it, with the records it covers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from connectors.base.errors import DecodingError
from connectors.base.pagination import Paginator, dig
from hub.sync.records import SourceRecordData

if TYPE_CHECKING:
    from connectors.base.http import HttpSession


@dataclass
class Page:
    """One page of raw records and the bookmark that holds once they are stored."""

    records: list[dict[str, Any]]
    bookmark: dict[str, str] | None


def cursor_moment(value: Any) -> datetime | None:
    """A cursor value as an aware datetime: ISO (naive read as UTC), Unix s or ms; else None."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, UTC)
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return None  # a cursor we cannot read never moves the bookmark
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Stream:
    """Declare the class attributes and ``map``; everything else is the framework's."""

    name: ClassVar[str]
    # Under the connector's base URL; may name config fields: "lists/{list_id}/members".
    path: ClassVar[str]
    object_type: ClassVar[str]
    primary_key: ClassVar[str] = "id"
    cursor_field: ClassVar[str | None] = None  # set for incremental streams
    cursor_param: ClassVar[str | None] = None  # the query parameter that takes the bookmark
    # True when the platform returns records in ascending cursor order, so that every page's
    # bookmark is safe to commit; otherwise only the last page moves it.
    is_sorted: ClassVar[bool] = False
    record_path: ClassVar[str | None] = None  # dot path to the list in the body; None: the body
    paginator: ClassVar[Paginator] = Paginator()
    params: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, config: BaseModel | Mapping[str, Any] | None = None) -> None:
        self.config = config

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        """One raw record in the canonical model's words."""
        raise NotImplementedError(f"{type(self).__name__} declares no mapping")

    def cursor_value(self, bookmark: str) -> str:
        """The bookmark as ``cursor_param`` wants it (override for, e.g., Unix seconds)."""
        return bookmark

    def request_path(self) -> str:
        if self.config is None or "{" not in self.path:
            return self.path
        values = self.config.model_dump() if isinstance(self.config, BaseModel) else self.config
        return self.path.format(**values)

    def pages(
        self, session: HttpSession, start_bookmark: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        """Every page from the bookmark on; each carries the bookmark to store with it."""
        start = (start_bookmark or {}).get(self.cursor_field) if self.cursor_field else None
        params = dict(self.params)
        if start and self.cursor_param:
            params[self.cursor_param] = self.cursor_value(start)
        request = self.paginator.first(self.request_path(), params)
        start_moment = cursor_moment(start)
        high = start_moment
        while request is not None:
            response = session.get(request.url, params=request.params)
            if not response.ok:  # a status the error mapping IGNOREs: nothing (more) to read
                yield Page([], self._bookmark(high))
                return
            records = self._records(response)
            high = self._highest(records, high)
            request = self.paginator.next(request, response, records)
            safe = high if self.is_sorted or request is None else start_moment
            yield Page(records, self._bookmark(safe))

    def _records(self, response: Any) -> list[dict[str, Any]]:
        try:
            body = response.json()
        except ValueError:
            raise DecodingError(f"{self.name}: the response is not JSON") from None
        records = dig(body, self.record_path)
        if records is None:
            return []
        if not isinstance(records, list):
            raise DecodingError(f"{self.name}: {self.record_path or 'the body'} is not a list")
        return records

    def _highest(self, records: list[dict[str, Any]], high: datetime | None) -> datetime | None:
        if not self.cursor_field:
            return None
        moments = [cursor_moment(dig(record, self.cursor_field)) for record in records]
        return max([m for m in [high, *moments] if m is not None], default=None)

    def _bookmark(self, moment: datetime | None) -> dict[str, str] | None:
        if not self.cursor_field or moment is None:
            return None
        return {self.cursor_field: moment.astimezone(UTC).isoformat()}
