"""The customers and orders streams replayed from cassettes: paging, increments, failures."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.base import AuthExpired, DecodingError
from tests.connectors.shopify.conftest import CONFIG, TOKEN

BOB, JOHN = 207119551, 112223902


def read(connector, session, stream_name, bookmark=None):
    stream = connector.stream(stream_name, CONFIG)
    return stream, list(stream.pages(session, bookmark))


def queries(played):
    return [parse_qs(urlsplit(request.uri).query) for request in played.requests]


def test_customers_page_through_the_link_header(connector, session, cassette):
    with cassette("customers_pages.yaml") as played:
        stream, pages = read(connector, session, "customers")
    assert played.all_played
    assert [[r["id"] for r in page.records] for page in pages] == [[BOB], [JOHN]]
    # The second request is the next link as given: page_info and limit, nothing else.
    assert queries(played)[1] == {
        "limit": ["250"],
        "page_info": [queries(played)[1]["page_info"][0]],
    }
    # Unsorted source: only the finished run moves the bookmark, to the newest updated_at seen.
    assert [page.bookmark for page in pages] == [None, {"updated_at": "2015-05-27T22:11:24+00:00"}]
    people = [stream.map(record) for page in pages for record in page.records]
    assert [(p.object_type, p.external_id) for p in people] == [
        ("customer", str(BOB)),
        ("customer", str(JOHN)),
    ]
    assert people[1].person.tags == ("Buyer", "Canadian")


def test_orders_ask_for_every_status_and_drop_filters_with_page_info(connector, session, cassette):
    with cassette("orders_pages.yaml") as played:
        stream, pages = read(connector, session, "orders")
    assert played.all_played
    first, second = queries(played)
    assert first == {"status": ["any"], "limit": ["250"]}
    assert set(second) == {"limit", "page_info"}
    orders = [stream.map(record) for page in pages for record in page.records]
    assert [o.order.number for o in orders] == ["#1001", "#1002"]
    assert orders[0].order.total == Decimal("598.94")
    assert [len(o.order.lines) for o in orders] == [3, 3]
    assert pages[-1].records[0]["fulfillments"]  # the raw payload keeps everything
    assert pages[0].records[0]["refunds"][0]["id"] == 509562969


def test_a_second_run_starts_from_the_bookmark(connector, session, cassette):
    with cassette("customers_incremental.yaml") as played:
        stream, first_run = read(connector, session, "customers")
        bookmark = first_run[-1].bookmark
        _, second_run = read(connector, session, "customers", bookmark)
    assert played.all_played
    assert queries(played)[2] == {"limit": ["250"], "updated_at_min": ["2015-05-27T22:11:24+00:00"]}
    assert [r["id"] for page in second_run for r in page.records] == [BOB]
    assert second_run[-1].bookmark == {"updated_at": "2015-06-01T13:30:00+00:00"}
    bob = stream.map(second_run[0].records[0])
    assert bob.person.tags == ("Léon", "Noël")
    assert bob.person.consents[0].status.value == "GRANTED"


def test_a_429_waits_what_retry_after_says_then_reads_the_page(connector, session, sleep, cassette):
    with cassette("orders_rate_limited.yaml") as played:
        _, pages = read(connector, session, "orders")
    assert played.all_played
    assert sleep.sleeps == [2.0]  # Retry-After: "2.0", a decimal string
    assert [r["id"] for page in pages for r in page.records] == [450789469]


def test_a_refused_token_is_auth_expired_with_shopifys_reason(connector, session, cassette):
    with cassette("customers_unauthorized.yaml"), pytest.raises(AuthExpired) as caught:
        read(connector, session, "customers")
    message = str(caught.value)
    assert caught.value.status_code == 401
    assert "Invalid API key or access token" in message
    assert "customers.json" in message
    assert TOKEN not in message


def test_an_html_page_is_a_clear_error_after_the_good_pages(connector, session, cassette):
    stream = connector.stream("customers", CONFIG)
    received = []
    with cassette("customers_malformed_page.yaml"), pytest.raises(DecodingError) as caught:
        for page in stream.pages(session, {"updated_at": "2010-01-01T00:00:00+00:00"}):
            received.append(page)  # noqa: PERF402 - the pages before the failure are the point
    assert str(caught.value).startswith("customers")
    assert "the response is not JSON" in str(caught.value)
    # The page before it arrived whole, and its bookmark did not skip what was never read.
    assert [[r["id"] for r in page.records] for page in received] == [[BOB]]
    assert received[0].bookmark == {"updated_at": "2010-01-01T00:00:00+00:00"}


def test_a_page_without_its_list_is_a_clear_error(connector, session, cassette):
    stream = connector.stream("orders", CONFIG)
    received = []
    with cassette("orders_missing_key.yaml"), pytest.raises(DecodingError) as caught:
        for page in stream.pages(session, None):
            received.append(page)  # noqa: PERF402 - the pages before the failure are the point
    assert "orders: the response has no 'orders' list" in str(caught.value)
    assert "errors" in str(caught.value)
    assert [[r["id"] for r in page.records] for page in received] == [[450789469]]
    assert received[0].bookmark is None


def test_the_token_travels_in_the_shopify_header(connector, session, cassette):
    with cassette("customers_unauthorized.yaml"):
        response = session.send("GET", session.url("customers.json?limit=250"), auth=session.auth)
    assert response.request.headers["X-Shopify-Access-Token"] == TOKEN
    assert response.request.url.startswith(
        "https://crmhub-test.myshopify.com/admin/api/2026-10/customers.json"
    )
