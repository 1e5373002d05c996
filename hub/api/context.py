"""Per-request context: the caller, one database connection, its audit trail and DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.access.audit import AuditTrail
from hub.access.principal import Principal
from hub.settings import Settings

L = TypeVar("L")


class RequestDB:
    """One pooled connection per request, opened on first use.

    DataLoaders of different relations dispatch in the same event-loop tick;
    the lock makes their statements take turns on the one connection instead
    of each checking out its own.

    Writes go through ``transaction``, which commits them; everything else reads. So a
    request whose statements all succeeded ends its transaction of reads with a commit,
    which changes nothing, rather than a rollback: the PostgreSQL driver (psycopg)
    forgets every statement it has prepared on the connection at each rollback, and the
    server would then parse and plan each of the next request's statements again (the
    partner's, with their sharing conditions, cost about twice as much to plan).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._failed = False  # a statement raised: the transaction ends with a rollback
        # Run inside every write transaction just before it commits: the audit
        # event of a change commits with the change, or not at all.
        # Each hook gets the connection and what ``fn`` returned.
        self.before_commit: list[Callable[[AsyncConnection, Any], Awaitable[None]]] = []

    async def all(self, statement: Executable) -> Sequence[Row[Any]]:
        return await self.using(_all, statement)

    async def scalar(self, statement: Executable) -> Any:
        return await self.using(_scalar, statement)

    async def using(self, fn: Any, *args: Any) -> Any:
        """Call ``fn(connection, *args)`` with the request's connection, in turn with loaders.

        ``fn`` reads, or commits (or rolls back) what it writes before it returns.
        """
        async with self._lock:
            try:
                return await fn(await self._connection(), *args)
            except BaseException:
                self._failed = True
                raise

    async def transaction(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(connection, *args)`` in its own transaction, committed when it returns."""
        async with self._lock:
            conn = await self._connection()
            if conn.in_transaction():
                # Reads so far ran in an implicit transaction; the write starts afresh.
                await conn.commit()
            async with conn.begin():
                result = await fn(conn, *args)
                for hook in self.before_commit:
                    await hook(conn, result)
                return result

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self._engine.connect()
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            if self._conn.in_transaction() and not self._failed:
                await self._conn.commit()  # reads only: see the class's docstring
            else:
                await self._conn.rollback()
            await self._conn.close()
            self._conn = None


async def _all(conn: AsyncConnection, statement: Executable) -> Sequence[Row[Any]]:
    return (await conn.execute(statement)).all()


async def _scalar(conn: AsyncConnection, statement: Executable) -> Any:
    return (await conn.execute(statement)).scalar()


class RequestContext:
    def __init__(
        self,
        *,
        principal: Principal,
        db: RequestDB,
        settings: Settings,
        audit: AuditTrail | None = None,
    ) -> None:
        self.principal = principal
        self.db = db
        self.settings = settings
        # What the request must leave in the audit log (hub.access.audit).
        self.audit = audit if audit is not None else AuditTrail.of(principal)
        db.before_commit.append(self.audit.flush_writes)
        self._loaders: dict[Any, Any] = {}

    def forget_loaded(self) -> None:
        """Drop every loader's cache: after a write, reads must see the new rows."""
        self._loaders.clear()

    def loader(self, cls: type[L], *key: Any) -> L:
        """The request's single instance of a DataLoader class (per extra key, e.g. page arguments)."""
        cache_key = (cls, *key)
        found = self._loaders.get(cache_key)
        if found is None:
            found = self._loaders[cache_key] = cls(self, *key)  # type: ignore[call-arg]
        return found
