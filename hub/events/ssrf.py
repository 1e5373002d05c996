"""Which webhook targets the hub may call: no private, loopback or otherwise internal address.

A subscription's URL is checked when it is saved (``check_url``: scheme, host, and
every address its name resolves to) and again on every delivery, on the socket
itself (``GuardedAdapter``): the address checked is the address connected to, so a
name that resolves to a public address when subscribing and to 127.0.0.1 later
(DNS rebinding) is refused too. ``[webhooks] allow_private_targets`` lifts the rule,
``allowed_networks`` lets listed networks through, ``allow_http`` allows http://.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from hub.settings import WebhooksSettings

__all__ = ["GuardedAdapter", "TargetRefused", "check_address", "check_url"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """A webhook target the hub will not call; ``code`` says why (the API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return (address.is_private or address.is_loopback or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified
            or not address.is_global)


def check_address(address: str | Address, settings: WebhooksSettings) -> None:
    """Raise ``TargetRefused`` when ``address`` is internal and not allowed by ``settings``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if settings.allow_private_targets or not _internal(ip):
        return
    if any(ip in network for network in settings.allowed_networks):
        return
    raise TargetRefused(
        "PRIVATE_ADDRESS",
        f"{ip} is a private, loopback, link-local, multicast or reserved address; "
        "webhooks are not sent there unless [webhooks] allows it",
    )


def _resolve(host: str, port: int) -> Iterable[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused("UNRESOLVABLE", f"the host {host!r} does not resolve: {error}") from None
    return {info[4][0] for info in infos}


def check_url(url: str, settings: WebhooksSettings, *, resolve: bool = True) -> str:
    """The URL as given when the hub may POST to it; raises ``TargetRefused`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetRefused("INVALID_URL", f"not a valid URL: {error}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("INVALID_URL", "the URL must be absolute, https:// (or http://)")
    if parts.scheme == "http" and not settings.allow_http:
        raise TargetRefused("HTTPS_REQUIRED", "webhook URLs must use https://")
    if parts.username or parts.password:
        raise TargetRefused("INVALID_URL", "the URL must not carry a user name or password")
    host = parts.hostname
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal, settings)
        return url
    # A name: every address it resolves to must be allowed.
    if resolve:
        for address in _resolve(host, port or (443 if parts.scheme == "https" else 80)):
            check_address(address, settings)
    return url


# -- at delivery time: the connected socket's peer is checked before anything is sent ----------


def _guarded(connection_class: type[HTTPConnection], settings: WebhooksSettings) -> type:
    class Guarded(connection_class):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            try:
                check_address(sock.getpeername()[0], settings)
            except TargetRefused:
                sock.close()
                raise
            return sock

    Guarded.__name__ = f"Guarded{connection_class.__name__}"
    return Guarded


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse internal peers (``check_address``)."""

    def __init__(self, settings: WebhooksSettings, **kwargs: object) -> None:
        self._webhooks = settings
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_connection = _guarded(HTTPConnection, self._webhooks)
        https_connection = _guarded(HTTPSConnection, self._webhooks)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": http_connection}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": https_connection}),
        }
