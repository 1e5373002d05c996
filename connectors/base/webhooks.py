"""Webhook signature checks: HMAC over the raw body, compared in constant time.

``verify_hmac`` covers the table in API_FACTS §9: Shopify and WooCommerce
(base64), Meta (``sha256=`` + hex), X (``sha256=`` + base64), LinkedIn (hex).
Always verify the raw request bytes, before any JSON parsing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import ItemsView, Iterable, Iterator, Mapping
from typing import Literal

from connectors.base.credentials import Secret, reveal
from connectors.base.errors import SignatureError

Encoding = Literal["hex", "base64"]


class Headers(Mapping[str, str]):
    """A delivery's headers, looked up by name in any case (a repeated name keeps its last value).

    The hub hands connectors one of these; ``Headers.of`` takes it as it is and wraps
    any other mapping, so a connector reads headers the same way whoever calls it.
    """

    __slots__ = ("_values",)

    def __init__(self, headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        self._values = {name.lower(): value for name, value in pairs}

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> Headers:
        return headers if isinstance(headers, cls) else cls(headers)

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """From an ASGI scope's ``headers`` (byte pairs, latin-1 as HTTP has it)."""
        headers = cls.__new__(cls)
        headers._values = {name.decode("latin-1").lower(): value.decode("latin-1")
                           for name, value in raw}
        return headers

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._values.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def items(self) -> ItemsView[str, str]:  # the dict's own view: no lookup per name
        return self._values.items()

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({sorted(self._values)!r})"  # names only: values may be secrets


def _digest(secret: str | bytes | Secret, message: bytes, digest: str) -> bytes:
    key = secret if isinstance(secret, bytes) else reveal(secret).encode()
    return hmac.new(key, message, getattr(hashlib, digest)).digest()


def hmac_hex(secret: str | bytes | Secret, body: bytes, digest: str = "sha256") -> str:
    return _digest(secret, body, digest).hex()


def hmac_base64(secret: str | bytes | Secret, body: bytes, digest: str = "sha256") -> str:
    return base64.b64encode(_digest(secret, body, digest)).decode("ascii")


def verify_hmac(
    secret: str | bytes | Secret,
    body: bytes,
    signature: str | None,
    encoding: Encoding = "hex",
    prefix: str | None = None,
    digest: str = "sha256",
) -> None:
    """Raise SignatureError unless ``signature`` signs ``body``; ``prefix`` is e.g. "sha256="."""
    if not signature:
        raise SignatureError("missing signature")
    signature = signature.strip()
    if prefix is not None:
        if not signature.startswith(prefix):
            raise SignatureError(f"signature lacks the {prefix!r} prefix")
        signature = signature[len(prefix) :]
    if encoding == "hex":
        expected, signature = hmac_hex(secret, body, digest), signature.lower()
    elif encoding == "base64":
        expected = hmac_base64(secret, body, digest)
    else:
        raise ValueError(f"unknown signature encoding {encoding!r}")
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise SignatureError("signature does not match")


def check_timestamp(
    timestamp: str | float | None, tolerance: float = 300, now: float | None = None
) -> None:
    """Raise SignatureError unless ``timestamp`` (Unix seconds) is within ``tolerance`` of now.

    Replays of an old, validly signed delivery are refused this way.
    """
    try:
        sent = float(timestamp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SignatureError("missing or malformed timestamp") from None
    now = time.time() if now is None else now
    if abs(now - sent) > tolerance:
        raise SignatureError("timestamp outside the tolerance window")
