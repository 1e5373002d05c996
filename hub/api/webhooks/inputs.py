"""What every webhook mutation checks in its input: who asks, the URL, the event types."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

import graphene

from hub.api.core.ids import from_global_id
from hub.api.core.mutations import UserError
from hub.api.webhooks.errors import WebhookErrorCode, refused
from hub.events.outbox import EVENT_TYPES
from hub.events.ssrf import TargetRefused, check_url

Code = WebhookErrorCode
FAMILIES = frozenset(t.split(".", 1)[0] for t in EVENT_TYPES)
MAX_DESCRIPTION = 200


def refuse_partners(info: graphene.ResolveInfo) -> None:
    # Events name every changed record in the hub, shared with the partner or not.
    if info.context.principal.is_partner:
        raise UserError(Code.PARTNER_NOT_ALLOWED,
                        "Partners cannot subscribe to webhooks: events cover every customer.")


async def checked_url(info: graphene.ResolveInfo, url: str) -> str:
    """The URL when the hub may call it; resolving its name blocks, so it runs in a thread."""
    url = url.strip()
    if len(url) > 2048:
        raise UserError(Code.INVALID_URL, "The URL is longer than 2048 characters.", "url")
    try:
        return await asyncio.to_thread(check_url, url, info.context.settings.webhooks)
    except TargetRefused as error:
        raise refused(error) from None


def event_types(given: Iterable[str]) -> list[str]:
    """Known types, ``family.*`` or ``*``, without repeats; at least one."""
    chosen: list[str] = []
    for name in given:
        name = name.strip()
        known = name == "*" or name in EVENT_TYPES or (
            name.endswith(".*") and name[:-2] in FAMILIES)
        if not known:
            raise UserError(Code.UNKNOWN_EVENT_TYPE,
                            f"{name!r} is not an event type; known: {', '.join(sorted(EVENT_TYPES))}"
                            " (or family.*, or *).", "eventTypes")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise UserError(Code.INVALID, "Name at least one event type.", "eventTypes")
    return chosen


def description(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_DESCRIPTION:
        raise UserError(Code.INVALID, f"The description is longer than {MAX_DESCRIPTION} "
                        "characters.", "description")
    return value


def record_id(global_id: str, type_name: str, field: str) -> uuid.UUID:
    """The uuid of a global id of ``type_name``; a wrong one is a NOT_FOUND payload error."""
    try:
        kind, id_ = from_global_id(global_id)
    except Exception:  # noqa: BLE001 - any malformed id is the caller's to fix
        kind, id_ = None, None
    if kind != type_name or id_ is None:
        raise UserError(Code.NOT_FOUND, f"{global_id!r} is not the id of a {type_name}.", field)
    return id_


def need(row: Any, what: str, field: str) -> Any:
    if row is None:
        raise UserError(Code.NOT_FOUND, f"No such {what}.", field)
    return row
