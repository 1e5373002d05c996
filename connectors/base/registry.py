"""Installed connectors, found through the ``crmhub.connectors`` entry-point group.

A third party ships a connector as a package declaring

    [project.entry-points."crmhub.connectors"]
    acme = "crmhub_acme:AcmeConnector"

A plugin that fails to import is logged and left out rather than taking the
hub down with it.
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points

from connectors.base.connector import Connector
from connectors.base.errors import ConnectorError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "crmhub.connectors"


class UnknownConnector(ConnectorError):
    """No installed connector has this name."""


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(entry: EntryPoint) -> type[Connector]:
    connector = entry.load()
    if not (isinstance(connector, type) and issubclass(connector, Connector)):
        raise TypeError(f"{entry.value} is not a Connector subclass")
    return connector


def discover() -> dict[str, type[Connector]]:
    """Every installed connector that loads, by entry-point name, sorted."""
    found: dict[str, type[Connector]] = {}
    for name, entry in sorted(_entry_points().items()):
        try:
            found[name] = _load(entry)
        except Exception:  # a broken plugin must not hide the others
            log.exception("connector plugin %r (%s) failed to load", name, entry.value)
    return found


def get_connector(name: str) -> type[Connector]:
    """The connector class installed as ``name``."""
    entry = _entry_points().get(name)
    if entry is None:
        raise UnknownConnector(f"no connector named {name!r} is installed")
    return _load(entry)
