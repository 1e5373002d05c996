from __future__ import annotations

from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader
from hub.models import Order, OrderLine


class OrderByIdLoader(ByIdLoader):
    table = Order.__table__


class LinesByOrderLoader(ListByKeyLoader):
    table = OrderLine.__table__
    key = "order_id"
    order = ("position",)
