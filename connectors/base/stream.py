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

A child stream names its ``parent`` and reads its path once per parent record:

    class Members(Stream):
        path = "lists/{list_id}/members"
        parent = Lists
        parent_keys = {"list_id": "id"}  # path field -> dot path in a Lists record

Its bookmark keeps one entry per partition (``{"partitions": {"list_id=…": {…}}}``),
so each audience resumes from its own place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel

from connectors.base.errors import DecodingError
from connectors.base.pagination import Paginator, dig
from hub.sync.records import SourceRecordData

if TYPE_CHECKING:
    from connectors.base.http import HttpSession

log = logging.getLogger(__name__)

PARTITIONS = "partitions"  # the key of a child stream's per-partition bookmarks


@dataclass
class Page:
    """One page of raw records and the bookmark that holds once they are stored."""

    records: list[dict[str, Any]]
    bookmark: dict[str, Any] | None


def partition_key(partition: Mapping[str, Any]) -> str:
    """A partition as a stable bookmark key: ``"list_id=a36b032126"``."""
    return "&".join(f"{name}={partition[name]}" for name in sorted(partition))


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
    # A child stream: its path is read once per distinct record of ``parent`` (read in full),
    # with each path field taken from the dot path ``parent_keys`` gives it.
    parent: ClassVar[type[Stream] | None] = None
    parent_keys: ClassVar[Mapping[str, str]] = {}
    # The items of this list field become the records, each with its record's other fields
    # (Mailchimp's email activity: one record per open or click, not one per recipient).
    flatten: ClassVar[str | None] = None

    def __init__(self, config: BaseModel | Mapping[str, Any] | None = None) -> None:
        self.config = config

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        """One raw record in the canonical model's words."""
        raise NotImplementedError(f"{type(self).__name__} declares no mapping")

    def cursor_value(self, bookmark: str) -> str:
        """The bookmark as ``cursor_param`` wants it (override for, e.g., Unix seconds)."""
        return bookmark

    def request_path(self, partition: Mapping[str, Any] | None = None) -> str:
        if "{" not in self.path or (self.config is None and not partition):
            return self.path
        values: dict[str, Any] = {}
        if self.config is not None:
            values.update(
                self.config.model_dump() if isinstance(self.config, BaseModel) else self.config
            )
        # A value read from a parent record is one path segment, whatever it contains.
        values.update({k: quote(str(v), safe="") for k, v in (partition or {}).items()})
        return self.path.format(**values)

    def partitions(self, session: HttpSession) -> Iterator[dict[str, Any]]:
        """The path values of each read: one per distinct parent record (only with a parent)."""
        if self.parent is None:
            yield {}
            return
        seen: set[str] = set()
        for page in self.parent(self.config).pages(session):
            for record in page.records:
                partition = {field: dig(record, path) for field, path in self.parent_keys.items()}
                if any(value is None or value == "" for value in partition.values()):
                    # One bad parent record must not stop the others' children being read.
                    log.warning(
                        "%s: a %s record lacks %s; skipped",
                        self.name,
                        self.parent.name,
                        ", ".join(self.parent_keys.values()),
                    )
                    continue
                key = partition_key(partition)
                if key not in seen:  # offset pages over a changing list can repeat a record
                    seen.add(key)
                    yield partition

    def pages(
        self, session: HttpSession, start_bookmark: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        """Every page from the bookmark on; each carries the bookmark to store with it."""
        if self.parent is None:
            yield from self._partition_pages(session, {}, start_bookmark)
            return
        marks = dict((start_bookmark or {}).get(PARTITIONS) or {})
        for partition in self.partitions(session):
            key = partition_key(partition)
            for page in self._partition_pages(session, partition, marks.get(key)):
                if page.bookmark is not None:
                    marks[key] = page.bookmark
                yield Page(page.records, {PARTITIONS: dict(marks)} if marks else None)

    def _partition_pages(
        self, session: HttpSession, partition: dict[str, Any], start_bookmark: dict | None
    ) -> Iterator[Page]:
        start = (start_bookmark or {}).get(self.cursor_field) if self.cursor_field else None
        params = dict(self.params)
        if start and self.cursor_param:
            params[self.cursor_param] = self.cursor_value(start)
        request = self.paginator.first(self.request_path(partition), params)
        start_moment = cursor_moment(start)
        high = start_moment
        number = 0
        while request is not None:
            number += 1
            response = session.get(request.url, params=request.params)
            if not response.ok:  # a status the error mapping IGNOREs: nothing (more) to read
                yield Page([], self._bookmark(high))
                return
            where = ", ".join([*(f"{k}={v}" for k, v in partition.items()), f"page {number}"])
            raw = self._records(response, where)
            # The paginator counts what the platform returned, before any flattening.
            request = self.paginator.next(request, response, raw)
            records = self._flattened(raw, where)
            high = self._highest(records, high)
            safe = high if self.is_sorted or request is None else start_moment
            yield Page(records, self._bookmark(safe))

    def _records(self, response: Any, where: str = "") -> list[dict[str, Any]]:
        name = f"{self.name} ({where})" if where else self.name
        try:
            body = response.json()
        except ValueError:
            raise DecodingError(f"{name}: the response is not JSON") from None
        records = dig(body, self.record_path)
        if records is None:
            return []
        if not isinstance(records, list):
            raise DecodingError(f"{name}: {self.record_path or 'the body'} is not a list")
        return records

    def _flattened(self, records: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
        if not self.flatten:
            return records
        flat = []
        for record in records:
            items = record.get(self.flatten) if isinstance(record, dict) else None
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise DecodingError(
                    f"{self.name} ({where}): {self.flatten} is not a list of objects"
                )
            outer = {k: v for k, v in record.items() if k != self.flatten}
            flat += [{**outer, **item} for item in items]
        return flat

    def _highest(self, records: list[dict[str, Any]], high: datetime | None) -> datetime | None:
        if not self.cursor_field:
            return None
        moments = [cursor_moment(dig(record, self.cursor_field)) for record in records]
        return max([m for m in [high, *moments] if m is not None], default=None)

    def _bookmark(self, moment: datetime | None) -> dict[str, str] | None:
        if not self.cursor_field or moment is None:
            return None
        return {self.cursor_field: moment.astimezone(UTC).isoformat()}
