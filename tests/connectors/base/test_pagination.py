"""Each paginator across several pages, through Stream.pages against the local API."""

from __future__ import annotations

from typing import ClassVar

import pytest

from connectors.base import (
    Action,
    CursorPaginator,
    DecodingError,
    HttpSession,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Stream,
)
from connectors.base.pagination import dig

ROWS = [{"id": i, "updated_at": f"2026-01-{i + 1:02d}T00:00:00Z"} for i in range(7)]


def ids(pages) -> list[list[int]]:
    return [[r["id"] for r in page.records] for page in pages]


def test_dig():
    body = {"paging": {"cursors": {"after": "QVFI"}}, "data": [{"id": 1}]}
    assert dig(body, "paging.cursors.after") == "QVFI"
    assert dig(body, "data.0.id") == 1
    assert dig(body, "data.5.id") is None and dig(body, "missing.deep") is None
    assert dig(body, None) is body


def test_offset_pages_until_the_total(api):
    def contacts(request):
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return 200, {}, {"items": ROWS[offset : offset + limit], "meta": {"total": len(ROWS)}}

    class Items(Stream):
        name = object_type = path = "items"
        record_path = "items"
        paginator = OffsetPaginator("limit", "offset", page_size=3, total_path="meta.total")

    api.route("GET", "/items", contacts)
    assert ids(Items().pages(HttpSession(api.url))) == [[0, 1, 2], [3, 4, 5], [6]]
    assert [s.query["offset"] for s in api.seen] == ["0", "3", "6"]


def test_offset_without_a_total_stops_on_a_short_page(api):
    def items(request):
        offset = int(request.query["offset"])
        return 200, {}, ROWS[:6][offset : offset + 3]

    class Items(Stream):
        name = object_type = path = "items"
        paginator = OffsetPaginator(page_size=3)

    api.route("GET", "/items", items)
    assert ids(Items().pages(HttpSession(api.url))) == [[0, 1, 2], [3, 4, 5], []]


def test_page_numbers_with_the_total_pages_header(api):
    def orders(request):
        page, size = int(request.query["page"]), int(request.query["per_page"])
        return 200, {"X-WP-TotalPages": "3"}, ROWS[(page - 1) * size : page * size]

    class Orders(Stream):
        name = object_type = path = "orders"
        paginator = PageNumberPaginator(page_size=3, total_pages_header="X-WP-TotalPages")

    api.route("GET", "/orders", orders)
    assert ids(Orders().pages(HttpSession(api.url))) == [[0, 1, 2], [3, 4, 5], [6]]


def test_cursor_sent_back_as_a_param(api):
    def notes(request):
        start = int(request.query.get("after", 0))
        more = start + 3 < len(ROWS)
        paging = {"cursors": {"after": str(start + 3) if more else None}}
        return 200, {}, {"data": ROWS[start : start + 3], "paging": paging}

    class Notes(Stream):
        name = object_type = path = "notes"
        record_path = "data"
        paginator = CursorPaginator(
            "paging.cursors.after", param="after", size_param="limit", page_size=3
        )

    api.route("GET", "/notes", notes)
    assert ids(Notes().pages(HttpSession(api.url))) == [[0, 1, 2], [3, 4, 5], [6]]
    assert [s.query.get("after") for s in api.seen] == [None, "3", "6"]
    assert all(s.query["limit"] == "3" for s in api.seen)


def test_cursor_as_a_next_url_is_followed_as_is(api):
    def feed(request):
        start = int(request.query.get("__after", 0))
        body = {"data": ROWS[start : start + 3], "paging": {}}
        if start + 3 < len(ROWS):
            body["paging"]["next"] = f"{api.url}/v19.0/feed?limit=3&__after={start + 3}"
        return 200, {}, body

    class Feed(Stream):
        name = object_type = "post"
        path = "v19.0/feed"
        record_path = "data"
        params: ClassVar[dict[str, str]] = {"fields": "id,message"}
        paginator = CursorPaginator("paging.next")

    api.route("GET", "/v19.0/feed", feed)
    assert ids(Feed().pages(HttpSession(api.url))) == [[0, 1, 2], [3, 4, 5], [6]]
    assert [s.query for s in api.seen[1:]] == [
        {"limit": "3", "__after": "3"},
        {"limit": "3", "__after": "6"},
    ]


def test_link_header_next_url_drops_other_params_like_shopify_wants(api):
    def customers(request):
        start = int(request.query.get("page_info", "cur0").removeprefix("cur"))
        headers = {}
        if start + 3 < len(ROWS):
            url = f"{api.url}/admin/api/2025-04/customers.json?limit=3&page_info=cur{start + 3}"
            headers["Link"] = f'<{api.url}/prev>; rel="previous", <{url}>; rel="next"'
        return 200, headers, {"customers": ROWS[start : start + 3]}

    class Customers(Stream):
        name = object_type = "customers"
        path = "admin/api/2025-04/customers.json"
        record_path = "customers"
        cursor_field, cursor_param = "updated_at", "updated_at_min"
        params: ClassVar[dict[str, object]] = {"limit": 3, "status": "any"}
        paginator = LinkHeaderPaginator(keep_params=("limit",))

    api.route("GET", "/admin/api/2025-04/customers.json", customers)
    pages = list(Customers().pages(HttpSession(api.url), {"updated_at": "2026-01-01T00:00:00Z"}))
    assert ids(pages) == [[0, 1, 2], [3, 4, 5], [6]]
    first, *rest = (seen.query for seen in api.seen)
    assert first == {"limit": "3", "status": "any", "updated_at_min": "2026-01-01T00:00:00Z"}
    # Shopify: a page_info request carries nothing but limit and fields; filters live in the cursor.
    assert rest == [{"limit": "3", "page_info": "cur3"}, {"limit": "3", "page_info": "cur6"}]


def test_an_unsorted_stream_moves_the_bookmark_only_on_its_last_page(api):
    shuffled = [ROWS[5], ROWS[1], ROWS[6], ROWS[0], ROWS[3], ROWS[2], ROWS[4]]

    def items(request):
        offset = int(request.query["offset"])
        return 200, {}, shuffled[offset : offset + 3]

    class Items(Stream):
        name = object_type = path = "items"
        cursor_field = "updated_at"
        paginator = OffsetPaginator(page_size=3)

    api.route("GET", "/items", items)
    start = {"updated_at": "2025-12-31T00:00:00+00:00"}
    bookmarks = [page.bookmark for page in Items().pages(HttpSession(api.url), start)]
    assert bookmarks == [start, start, {"updated_at": "2026-01-07T00:00:00+00:00"}]


def test_an_ignored_status_is_an_empty_last_page(api):
    class Gone(Stream):
        name = object_type = path = "gone"

    pages = list(Gone().pages(HttpSession(api.url, error_mapping={404: Action.IGNORE})))
    assert [(p.records, p.bookmark) for p in pages] == [([], None)]


def test_a_body_that_is_not_json_is_a_decoding_error(api):
    api.route("GET", "/html", [(200, {"Content-Type": "text/html"}, "<html>challenge</html>")])

    class Html(Stream):
        name = object_type = path = "html"

    with pytest.raises(DecodingError):
        list(Html().pages(HttpSession(api.url)))
