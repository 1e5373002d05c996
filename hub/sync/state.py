"""Stream bookmarks: where each stream of a connection got to.

A bookmark is only ever saved inside the transaction that writes the records
it covers (see ``engine.run_stream``), so it can never run ahead of the data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.models import StreamState


def start_bookmark(engine: Engine, connection_id: uuid.UUID, stream_name: str, *,
                   full_refresh: bool = False) -> dict[str, Any] | None:
    """The bookmark a run of this stream starts from; None for a first run or a full refresh."""
    if full_refresh:
        return None
    with Session(engine) as session:
        return session.scalar(
            select(StreamState.bookmark).where(
                StreamState.connection_id == connection_id, StreamState.stream == stream_name
            )
        )


def save_bookmark(session: Session, connection_id: uuid.UUID, stream_name: str,
                  bookmark: dict[str, Any], now: datetime) -> None:
    state = session.get(StreamState, (connection_id, stream_name))
    if state is None:
        session.add(StreamState(connection_id=connection_id, stream=stream_name,
                                bookmark=bookmark, updated_at=now))
    else:
        state.bookmark = bookmark
        state.updated_at = now
