"""The Page's streams: Messenger conversations and their messages, post comments, reviews.

Every Graph edge pages the same way: ``{"data": [...], "paging": {"cursors",
"next"}}``, and ``next`` is absent on the last page (a short page is not the
end). Following ``next`` as given keeps each edge's own paging, cursor or
time based (a feed pages by ``until``/``__paging_token``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base import CursorPaginator, Stream
from connectors.facebook import mapping
from hub.sync.records import SourceRecordData

GRAPH_PAGES = CursorPaginator("paging.next")


class GraphEdge(Stream):
    record_path = "data"
    paginator = GRAPH_PAGES

    @property
    def page_id(self) -> str:
        return str(self.config.page_id)


class Conversations(GraphEdge):
    # The edge has no time-based paging (Graph API reference): read in full, newest first.
    name = "conversations"
    path = "{page_id}/conversations"
    object_type = "conversation"
    params: ClassVar[dict[str, Any]] = {
        "platform": "messenger",
        "fields": "id,link,updated_time,message_count,unread_count,snippet,participants",
        "limit": 50,
    }

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.conversation(record, self.page_id)


class Messages(GraphEdge):
    name = "messages"
    path = "{conversation_id}/messages"
    object_type = "message"
    parent = Conversations
    parent_keys: ClassVar[dict[str, str]] = {"conversation_id": "id"}
    params: ClassVar[dict[str, Any]] = {"fields": "id,created_time,from,to,message", "limit": 50}

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.message(record, self.page_id)


class Posts(GraphEdge):
    """The Page's feed, the parent of ``comments`` (not synced as records of its own)."""

    name = "posts"
    path = "{page_id}/feed"
    object_type = "post"
    params: ClassVar[dict[str, Any]] = {"fields": "id,created_time", "limit": 50}


class Comments(GraphEdge):
    name = "comments"
    path = "{post_id}/comments"
    object_type = "comment"
    parent = Posts
    parent_keys: ClassVar[dict[str, str]] = {"post_id": "id"}
    cursor_field = "created_time"
    cursor_param = "since"
    is_sorted = True  # filter=stream&order=chronological: replies too, oldest first
    params: ClassVar[dict[str, Any]] = {
        "fields": "id,created_time,from,message,permalink_url,parent{id,from},is_hidden",
        "filter": "stream",
        "order": "chronological",
        "limit": 100,
    }

    def cursor_value(self, bookmark: str) -> str:
        # Graph's ``since`` takes Unix seconds.
        moment = datetime.fromisoformat(bookmark)
        return str(int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()))

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.comment(record, self.page_id)


class Ratings(GraphEdge):
    # Recommendations can be read up to Graph API v21.0; v22.0+ answers error code 12.
    name = "ratings"
    path = "{page_id}/ratings"
    object_type = "rating"
    params: ClassVar[dict[str, Any]] = {
        "fields": "created_time,recommendation_type,review_text,rating,has_rating,has_review,"
        "reviewer{id,name}",
        "limit": 50,
    }

    def map(self, record: dict[str, Any]) -> SourceRecordData:
        return mapping.rating(record, self.page_id)
