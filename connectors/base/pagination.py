"""Paginators: given the last request, its response and its records, the next request or None.

A paginator is declared once on a stream class and shared, so it keeps no
state: where it is lives in the ``PageRequest`` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


def dig(data: Any, path: str | None) -> Any:
    """The value at dot ``path`` ("paging.cursors.after", "data.0.id"); the data itself for ""."""
    for key in path.split(".") if path else ():
        if isinstance(data, list) and key.isdigit():
            data = data[int(key)] if int(key) < len(data) else None
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class PageRequest:
    """What to fetch: a path under the base URL (or an absolute next URL) and its query."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)


class Paginator:
    """One request, no next page; the base of the others."""

    def first(self, url: str, params: dict[str, Any]) -> PageRequest:
        return PageRequest(url, dict(params))

    def next(
        self, previous: PageRequest, response: requests.Response, records: list[dict]
    ) -> PageRequest | None:
        return None


SinglePage = Paginator


@dataclass(frozen=True)
class OffsetPaginator(Paginator):
    """``limit``/``offset`` (Mailchimp count/offset, LinkedIn count/start).

    With ``total_path`` the total decides the end (an API capping the page size
    below ours still pages right); without it a short page is the last.
    """

    limit_param: str = "limit"
    offset_param: str = "offset"
    page_size: int = 100
    total_path: str | None = None

    def first(self, url: str, params: dict[str, Any]) -> PageRequest:
        first = {self.limit_param: self.page_size, self.offset_param: 0}
        return PageRequest(url, {**params, **first})

    def next(self, previous, response, records):
        if not records:
            return None
        offset = int(previous.params[self.offset_param]) + len(records)
        total = dig(_json(response), self.total_path) if self.total_path else None
        if total is not None:
            if offset >= int(total):
                return None
        elif len(records) < self.page_size:
            return None
        return PageRequest(previous.url, {**previous.params, self.offset_param: offset})


@dataclass(frozen=True)
class PageNumberPaginator(Paginator):
    """``page``/``per_page`` (WooCommerce); the total pages from the body or a header if known."""

    page_param: str = "page"
    size_param: str = "per_page"
    page_size: int = 100
    start: int = 1
    total_pages_path: str | None = None
    total_pages_header: str | None = None  # WooCommerce: X-WP-TotalPages

    def first(self, url: str, params: dict[str, Any]) -> PageRequest:
        first = {self.size_param: self.page_size, self.page_param: self.start}
        return PageRequest(url, {**params, **first})

    def next(self, previous, response, records):
        if not records:
            return None
        page = int(previous.params[self.page_param])
        total = None
        if self.total_pages_header:
            total = response.headers.get(self.total_pages_header)
        elif self.total_pages_path:
            total = dig(_json(response), self.total_pages_path)
        if total is not None:
            if page - self.start + 1 >= int(total):
                return None
        elif len(records) < self.page_size:
            return None
        return PageRequest(previous.url, {**previous.params, self.page_param: page + 1})


@dataclass(frozen=True)
class CursorPaginator(Paginator):
    """A cursor in the body: sent back as ``param``, or, with no param, a next URL followed as is.

    ``CursorPaginator("paging.cursors.after", param="after")`` or
    ``CursorPaginator("paging.next")`` for Facebook;
    ``CursorPaginator("meta.next_token", "pagination_token")`` for X.
    """

    cursor_path: str
    param: str | None = None
    size_param: str | None = None
    page_size: int | None = None

    def first(self, url: str, params: dict[str, Any]) -> PageRequest:
        if self.size_param and self.page_size:
            params = {**params, self.size_param: self.page_size}
        return PageRequest(url, dict(params))

    def next(self, previous, response, records):
        cursor = dig(_json(response), self.cursor_path)
        if not cursor:
            return None
        if self.param is None:
            url = urljoin(response.url, str(cursor))
            return None if url == previous.url else PageRequest(url, {})
        if previous.params.get(self.param) == cursor:
            return None  # a cursor that does not move would loop forever
        return PageRequest(previous.url, {**previous.params, self.param: cursor})


@dataclass(frozen=True)
class LinkHeaderPaginator(Paginator):
    """RFC 8288 ``Link: <…>; rel="next"`` (Shopify, WooCommerce, GitHub).

    The next URL is followed exactly; every other parameter is dropped, as
    Shopify requires of a ``page_info`` request (its filters live in the
    cursor). ``keep_params`` names those allowed to follow (Shopify: limit,
    fields) when the URL does not already carry them.
    """

    keep_params: tuple[str, ...] = ()

    def next(self, previous, response, records):
        url = next(
            (
                link["url"]
                for link in response.links.values()
                if "next" in link.get("rel", "").split() and link.get("url")
            ),
            None,
        )
        if url is None:
            return None
        url = urljoin(response.url, url)
        present = parse_qs(urlsplit(url).query)
        kept = {
            k: v for k, v in previous.params.items() if k in self.keep_params and k not in present
        }
        return PageRequest(url, kept)
