"""The Admin REST streams: customers and orders, 250 a page, incremental on ``updated_at``.

Shopify pages with an opaque ``page_info`` cursor in the ``Link`` header. A
request carrying ``page_info`` may add only ``limit`` and ``fields`` (the
filters, ``updated_at_min`` and ``status`` included, live in the cursor), so the
paginator follows the next link as is and lets only ``limit`` follow it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import DecodingError, LinkHeaderPaginator, Stream
from connectors.shopify.mapping import CUSTOMER, ORDER, customer_record, order_record
from hub.sync.records import SourceRecordData

PAGE_SIZE = 250  # Shopify's maximum


class ShopifyStream(Stream):
    """What every Shopify list shares; a subclass names its path and mapping."""

    cursor_field = "updated_at"
    cursor_param = "updated_at_min"  # inclusive: the boundary record comes again, unchanged
    # Shopify promises no updated_at order, so only a finished run moves the bookmark.
    is_sorted = False
    paginator = LinkHeaderPaginator(keep_params=("limit",))

    def _records(self, response: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        # Shopify always names its list: a 200 without it is an error page, not the last page.
        records = super()._records(response, *args, **kwargs)
        if not records:
            body = response.json()
            if not isinstance(body, dict) or self.record_path not in body:
                raise DecodingError(
                    f"{self.name}: the response has no {self.record_path!r} list "
                    f"(got {_shape(body)}); nothing after the last stored page was read"
                )
        return records


def _shape(body: Any) -> str:
    if isinstance(body, dict):
        return "keys " + ", ".join(sorted(map(str, body))[:5]) if body else "an empty object"
    return type(body).__name__


class Customers(ShopifyStream):
    name = "customers"
    path = "customers.json"
    object_type = CUSTOMER
    record_path = "customers"
    params: ClassVar[dict[str, Any]] = {"limit": PAGE_SIZE}

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return customer_record(record)


class Orders(ShopifyStream):
    name = "orders"
    path = "orders.json"
    object_type = ORDER
    record_path = "orders"
    # Without status=any Shopify lists open orders only; the full resource keeps lines,
    # refunds and addresses, so no ``fields`` filter.
    params: ClassVar[dict[str, Any]] = {"status": "any", "limit": PAGE_SIZE}

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return order_record(record)
