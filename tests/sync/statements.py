"""Counting what the sync sends to the database, at the engine and at the driver."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Self

import psycopg
from sqlalchemy import event


class Statements:
    """Statements the engine sends from this thread (not the run's heartbeat), by text.

    By their first three words, or two for a ``COPY``. The page's new people go to
    PostgreSQL by ``COPY`` on the driver's cursor (``hub.sync.copy``), which the
    engine's cursor events do not see: those are counted at psycopg's ``Cursor.copy``.
    """

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, Counter()
        self.thread = threading.get_ident()
        self._copy = psycopg.Cursor.copy

    def __enter__(self) -> Self:
        event.listen(self.engine, "before_cursor_execute", self._count)
        copy, note = self._copy, self._note

        def counted(cursor: psycopg.Cursor, statement: Any, *args: Any, **kwargs: Any) -> Any:
            note(str(statement))
            return copy(cursor, statement, *args, **kwargs)

        psycopg.Cursor.copy = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        psycopg.Cursor.copy = self._copy  # type: ignore[method-assign]
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self._note(statement)

    def _note(self, statement: str) -> None:
        if threading.get_ident() == self.thread:
            words = statement.split()
            self.seen[" ".join(words[:2] if words[0] == "COPY" else words[:3])] += 1

    @property
    def total(self) -> int:
        return sum(self.seen.values())
