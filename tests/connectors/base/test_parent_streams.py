"""Child streams read once per parent record, with a bookmark per partition; flattened records."""

from __future__ import annotations

from typing import ClassVar

import pytest

from connectors.base import DecodingError, HttpSession, OffsetPaginator, Stream
from connectors.base.stream import partition_key

LISTS = [{"id": "l1"}, {"id": "l2"}, {"id": "l1"}, {"name": "no id"}, {"id": "a/b"}]
MEMBERS = {
    "l1": [{"id": f"m{i}", "changed": f"2026-01-0{i + 1}T00:00:00+00:00"} for i in range(3)],
    "l2": [{"id": "n0", "changed": "2026-02-01T00:00:00+00:00"}],
    "a/b": [],
}


class Lists(Stream):
    name = object_type = path = "lists"
    record_path = "lists"
    paginator = OffsetPaginator("count", "offset", page_size=2, total_path="total")


class Members(Stream):
    name = object_type = "members"
    path = "lists/{list_id}/members"
    parent = Lists
    parent_keys: ClassVar[dict[str, str]] = {"list_id": "id"}
    cursor_field = "changed"
    cursor_param = "since"
    is_sorted = True
    record_path = "members"
    paginator = OffsetPaginator("count", "offset", page_size=2, total_path="total")


@pytest.fixture
def routes(api):
    def lists(request):
        offset = int(request.query["offset"])
        return 200, {}, {"lists": LISTS[offset : offset + 2], "total": len(LISTS)}

    def members(list_id):
        def answer(request):
            rows = [m for m in MEMBERS[list_id] if m["changed"] > request.query.get("since", "")]
            offset = int(request.query["offset"])
            return 200, {}, {"members": rows[offset : offset + 2], "total": len(rows)}

        return answer

    api.route("GET", "/lists", lists)
    api.route("GET", "/lists/l1/members", members("l1"))
    api.route("GET", "/lists/l2/members", members("l2"))
    api.route("GET", "/lists/a%2Fb/members", members("a/b"))
    return api


def test_a_child_reads_each_distinct_parent_once_with_a_bookmark_per_partition(routes):
    pages = list(Members().pages(HttpSession(routes.url)))
    assert [[r["id"] for r in p.records] for p in pages] == [["m0", "m1"], ["m2"], ["n0"], []]
    member_paths = [s.path for s in routes.seen if s.path != "/lists"]
    # l1 is listed twice and a record without an id is skipped; a/b stays one path segment.
    assert member_paths == [
        "/lists/l1/members",
        "/lists/l1/members",
        "/lists/l2/members",
        "/lists/a%2Fb/members",
    ]
    assert pages[0].bookmark == {
        "partitions": {"list_id=l1": {"changed": "2026-01-02T00:00:00+00:00"}}
    }
    assert pages[-1].bookmark == {
        "partitions": {
            "list_id=l1": {"changed": "2026-01-03T00:00:00+00:00"},
            "list_id=l2": {"changed": "2026-02-01T00:00:00+00:00"},
        }
    }


def test_each_partition_resumes_from_its_own_bookmark(routes):
    start = {"partitions": {"list_id=l1": {"changed": "2026-01-02T00:00:00+00:00"}}}
    pages = list(Members().pages(HttpSession(routes.url), start))
    assert [[r["id"] for r in p.records] for p in pages] == [["m2"], ["n0"], []]
    since = [(s.path, s.query.get("since")) for s in routes.seen if s.path != "/lists"]
    assert since == [
        ("/lists/l1/members", "2026-01-02T00:00:00+00:00"),
        ("/lists/l2/members", None),
        ("/lists/a%2Fb/members", None),
    ]
    # A partition with nothing new keeps its bookmark in every later page.
    assert pages[-1].bookmark["partitions"]["list_id=l1"] == {
        "changed": "2026-01-03T00:00:00+00:00"
    }


def test_partitions_can_be_narrowed_by_an_override(routes):
    class OneList(Members):
        def partitions(self, session):
            return iter([{"list_id": "l2"}])

    pages = list(OneList().pages(HttpSession(routes.url)))
    assert [[r["id"] for r in p.records] for p in pages] == [["n0"]]
    assert [s.path for s in routes.seen] == ["/lists/l2/members"]
    assert partition_key({"b": 2, "a": 1}) == "a=1&b=2"


class Activity(Stream):
    name = object_type = path = "activity"
    record_path = "emails"
    flatten = "activity"
    cursor_field = "timestamp"
    paginator = OffsetPaginator("count", "offset", page_size=2, total_path="total")


def test_flatten_makes_one_record_per_item_and_pages_by_the_platform_count(api):
    emails = [
        {
            "email": "a",
            "activity": [
                {"action": "open", "timestamp": "2026-01-01T00:00:00Z"},
                {"action": "click", "timestamp": "2026-01-02T00:00:00Z"},
            ],
        },
        {"email": "b", "activity": []},
        {"email": "c", "activity": [{"action": "open", "timestamp": "2026-01-03T00:00:00Z"}]},
    ]

    def activity(request):
        offset = int(request.query["offset"])
        return 200, {}, {"emails": emails[offset : offset + 2], "total": len(emails)}

    api.route("GET", "/activity", activity)
    pages = list(Activity().pages(HttpSession(api.url)))
    assert [[(r["email"], r["action"]) for r in p.records] for p in pages] == [
        [("a", "open"), ("a", "click")],
        [("c", "open")],
    ]
    assert [s.query["offset"] for s in api.seen] == ["0", "2"]
    assert "activity" not in pages[0].records[0]
    assert pages[-1].bookmark == {"timestamp": "2026-01-03T00:00:00+00:00"}


def test_a_malformed_page_names_the_stream_the_partition_and_the_page(routes):
    routes.route("GET", "/lists/l2/members", [(200, {}, {"members": {"oops": 1}, "total": 1})])
    pages = Members().pages(HttpSession(routes.url))
    read = [next(pages), next(pages)]  # l1 is read and kept before l2 fails
    assert [r["id"] for p in read for r in p.records] == ["m0", "m1", "m2"]
    with pytest.raises(
        DecodingError, match=r"members \(list_id=l2, page 1\): members is not a list"
    ):
        next(pages)


def test_a_flattened_field_that_is_not_a_list_is_a_decoding_error(api):
    api.route("GET", "/activity", [(200, {}, {"emails": [{"activity": "x"}], "total": 1})])
    with pytest.raises(DecodingError, match="activity is not a list"):
        list(Activity().pages(HttpSession(api.url)))
