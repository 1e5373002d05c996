"""How a mutation appears in the audit log: declared once in ``Meta.audit``, recorded by the base.

Every mutation is audited. Without a declaration the event is named after the
mutation, verb last, as crmhub names them: ``CustomerTag`` -> action
``customer.tag`` on record type ``customer``; ``SharingGrantRevoke`` ->
``sharing_grant.revoke`` on ``sharing_grant``. The record is the argument
``id``, else ``<record type>_id`` (also looked for in an ``input`` object), else
the uuid the write's transaction returns (a record the write created).
``fields`` are the arguments given, in camelCase. Values are copied into
``details`` only when declared (``details=("tags",)``): free text such as a
note's body stays out of the log.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from graphene.utils.str_converters import to_camel_case

from hub.access.audit import AuditTrail
from hub.api.core.errors import ApiError
from hub.api.core.ids import from_global_id

_WORD = re.compile(r"[A-Z][a-z0-9]*")


@dataclass(frozen=True, slots=True)
class Audited:
    """The audit event of a mutation; ``None`` parts are derived from the mutation's name."""

    action: str | None = None
    record_type: str | None = None
    # Dotted path to the argument holding the record's id: "customer_id", "input.customer_id".
    record: str | None = None
    # Dotted paths to the arguments whose values go into the event's details.
    details: tuple[str, ...] = ()

    def bind(self, mutation_name: str) -> Audited:
        """This declaration with its defaults filled in for the mutation class ``mutation_name``."""
        words = [w.lower() for w in _WORD.findall(mutation_name)]
        if len(words) < 2 and self.action is None:
            raise TypeError(
                f"{mutation_name}: cannot name its audit action from one word; "
                'declare Meta.audit = Audited(action="record_type.verb")'
            )
        action = self.action or f"{'_'.join(words[:-1])}.{words[-1]}"
        record_type = self.record_type or action.split(".", 1)[0]
        return Audited(action, record_type, self.record, self.details)

    def expect(self, trail: AuditTrail, data: Mapping[str, Any]) -> None:
        """Put the event of this call on the request's trail, to be written with the change."""
        assert self.action is not None and self.record_type is not None
        path = self.record or _record_path(data, self.record_type)
        fields = sorted(_given(data, skip=path))
        details = {_last(p): _jsonable(_at(data, p)) for p in self.details if _at(data, p) is not None}
        record_id = _record_id(_at(data, path)) if path else None
        trail.expect_write(self.action, self.record_type, record_id, fields, details or None)


def _record_path(data: Mapping[str, Any], record_type: str) -> str | None:
    for name in ("id", f"{record_type}_id"):
        if data.get(name) is not None:
            return name
        inner = data.get("input")
        if isinstance(inner, Mapping) and inner.get(name) is not None:
            return f"input.{name}"
    return None


def _at(data: Mapping[str, Any], path: str | None) -> Any:
    value: Any = data
    for part in (path or "").split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _last(path: str) -> str:
    return to_camel_case(path.rsplit(".", 1)[-1])


def _given(data: Mapping[str, Any], skip: str | None, prefix: str = "") -> set[str]:
    names = set()
    for key, value in data.items():
        if value is None or f"{prefix}{key}" == skip:
            continue
        if key == "input" and isinstance(value, Mapping):
            names |= _given(value, skip, "input.")
        else:
            names.add(to_camel_case(key))
    return names


def _record_id(value: Any) -> str | None:
    """The uuid of a global id; anything else as given (the mutation will refuse it anyway)."""
    if value is None:
        return None
    try:
        return str(from_global_id(str(value))[1])
    except ApiError:  # an invalid id is the mutation's error to report
        return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
