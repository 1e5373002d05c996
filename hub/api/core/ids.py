"""Relay global ids: base64 of ``Type:uuid``, opaque to clients."""

from __future__ import annotations

import base64
import binascii
import uuid

from hub.api.core.errors import ApiError, ErrorCode


def to_global_id(type_name: str, id_: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id_.hex}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    """Decode a global id; anything that is not one gets a clear INVALID_ID error."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        type_name, _, raw = text.partition(":")
        if not type_name or not raw:
            raise ValueError
        return type_name, uuid.UUID(hex=raw)
    except (ValueError, UnicodeError, binascii.Error):
        raise ApiError(f"{global_id!r} is not a valid id.", ErrorCode.INVALID_ID) from None


def expect_global_id(global_id: str, type_name: str) -> uuid.UUID:
    kind, id_ = from_global_id(global_id)
    if kind != type_name:
        raise ApiError(f"{global_id!r} is not the id of a {type_name}.", ErrorCode.INVALID_ID)
    return id_
