"""The example API's two streams: contacts (offset pages, incremental) and notes (cursor pages)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from connectors.base import CursorPaginator, OffsetPaginator, Stream
from hub.models.enums import Channel, ContactPointKind, Direction, InteractionKind
from hub.sync.records import ContactPointData, InteractionData, PersonData, SourceRecordData


class Contacts(Stream):
    name = "contacts"
    path = "contacts"
    object_type = "contact"
    cursor_field = "updated_at"
    cursor_param = "updated_since"
    is_sorted = True  # asked for below: oldest change first
    params: ClassVar[dict[str, str]] = {"sort": "updated_at"}
    record_path = "data"
    paginator = OffsetPaginator("limit", "offset", page_size=100, total_path="meta.total")

    def map(self, record: dict) -> SourceRecordData:
        emails = tuple(
            ContactPointData(
                ContactPointKind.EMAIL, e["address"], e.get("label"), bool(e.get("primary"))
            )
            for e in record.get("emails", ())
        )
        return SourceRecordData(
            object_type=self.object_type,
            external_id=str(record["id"]),
            payload=record,
            source_updated_at=datetime.fromisoformat(record["updated_at"]),
            deleted=bool(record.get("deleted")),
            person=PersonData(
                given_name=record.get("first_name"),
                family_name=record.get("last_name"),
                contact_points=emails,
            ),
        )


class Notes(Stream):
    name = "notes"
    path = "notes"
    object_type = "note"
    record_path = "data"
    paginator = CursorPaginator("meta.next_cursor", "cursor", size_param="limit", page_size=50)

    def map(self, record: dict) -> SourceRecordData:
        created = datetime.fromisoformat(record["created_at"])
        return SourceRecordData(
            object_type=self.object_type,
            external_id=str(record["id"]),
            payload=record,
            source_updated_at=created,
            person_ref=("contact", str(record["contact_id"])),
            interaction=InteractionData(
                channel=Channel.WEB,
                kind=InteractionKind.NOTE,
                direction=Direction.INTERNAL,
                occurred_at=created,
                subject=record.get("subject"),
                body=record.get("body"),
            ),
        )
