"""Sync a generated stream into a database, page by page, printing each committed page.

Run by test_crash.py as ``python -m tests.sync.crash_sync URL CONNECTION_ID COUNT PAGE_SIZE``;
it resumes from the stream's bookmark, like a scheduled run after a crash would.
"""

from __future__ import annotations

import sys
import uuid

from hub.db import create_sync_engine
from hub.settings import Settings
from hub.sync.engine import run_stream, start_bookmark
from tests.sync.factory import generated, map_record, pages_of

NAMESPACE = "crash"
STREAM = "customers"


def main(url: str, connection: str, count: str, page_size: str) -> None:
    engine = create_sync_engine(Settings(database_url=url))
    connection_id = uuid.UUID(connection)
    bookmark = start_bookmark(engine, connection_id, STREAM) or {"position": 0}
    pages = pages_of(generated(NAMESPACE, int(count)), int(page_size), bookmark["position"])

    def committed(records: int) -> None:
        print(f"committed {records}", flush=True)

    run = run_stream(engine, connection_id, STREAM, pages, map_record, progress=committed)
    print(f"done {run.status} {run.records_read}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
