"""Mailchimp's streams: audiences, their members (live and archived), sent campaigns, activity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

from connectors.base import OffsetPaginator, Stream
from connectors.base.stream import cursor_moment
from connectors.mailchimp import mapping
from hub.sync.records import SourceRecordData

# Every Mailchimp collection: count (at most 1000) and offset, with total_items in the body.
PAGES = OffsetPaginator("count", "offset", page_size=1000, total_path="total_items")


def since(bookmark: str) -> str:
    """The bookmark less 1 ms, as Mailchimp's ``since_*`` filters take it (strictly after).

    Times are whole seconds and a page can end half way through the records changed in one
    second: the next run must see the rest of them, and re-reading the others changes nothing.
    """
    moment = cursor_moment(bookmark)
    if moment is None:
        return bookmark
    moment -= timedelta(milliseconds=1)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class Audiences(Stream):
    name = "lists"
    path = "lists"
    object_type = "audience"
    record_path = "lists"
    paginator = PAGES

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.audience(record)


class Members(Stream):
    name = "members"
    path = "lists/{list_id}/members"
    object_type = mapping.MEMBER
    parent = Audiences
    parent_keys: ClassVar[dict[str, str]] = {"list_id": "id"}
    cursor_field = "last_changed"
    cursor_param = "since_last_changed"
    is_sorted = True  # asked for below: oldest change first
    params: ClassVar[dict[str, str]] = {"sort_field": "last_changed", "sort_dir": "ASC"}
    record_path = "members"
    paginator = PAGES

    def cursor_value(self, bookmark: str) -> str:
        return since(bookmark)

    def partitions(self, session) -> Iterator[dict[str, Any]]:
        # Configured audiences are read as given, without listing the account's audiences.
        if self.config.list_ids:
            return iter([{"list_id": list_id} for list_id in self.config.list_ids])
        return super().partitions(session)

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.member(record)


class ArchivedMembers(Members):
    """Archived contacts are listed only when asked for by status; each is a tombstone."""

    name = "archived_members"
    params: ClassVar[dict[str, str]] = {**Members.params, "status": "archived"}


class Campaigns(Stream):
    name = "campaigns"
    path = "campaigns"
    object_type = "campaign"
    cursor_field = "send_time"
    cursor_param = "since_send_time"
    is_sorted = True  # asked for below: first sent first
    params: ClassVar[dict[str, str]] = {
        "status": "sent",
        "sort_field": "send_time",
        "sort_dir": "ASC",
    }
    record_path = "campaigns"
    paginator = PAGES

    def cursor_value(self, bookmark: str) -> str:
        return since(bookmark)

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.campaign(record)


class EmailActivity(Stream):
    name = "email_activity"
    path = "reports/{campaign_id}/email-activity"
    object_type = "email_activity"
    parent = Campaigns
    parent_keys: ClassVar[dict[str, str]] = {
        "campaign_id": "id",
        "list_id": "recipients.list_id",
    }
    cursor_field = "timestamp"
    cursor_param = "since"
    record_path = "emails"
    flatten = "activity"  # {email, activity: [open, click…]} -> one record per open or click
    paginator = PAGES

    def cursor_value(self, bookmark: str) -> str:
        return since(bookmark)

    def partitions(self, session) -> Iterator[dict[str, Any]]:
        # Activity in audiences left out of the config would name people never synced.
        wanted = set(self.config.list_ids)
        return (p for p in super().partitions(session) if not wanted or p["list_id"] in wanted)

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.activity(record)


STREAMS = (Audiences, Members, ArchivedMembers, Campaigns, EmailActivity)
