"""Many new rows into one table: ``COPY ... FROM STDIN`` on PostgreSQL (psycopg), else ``executemany``.

psycopg's ``executemany`` still sends each row as a statement of its own (pipelined);
a ``COPY`` of a page's new people takes about a third of the time. ``insert_rows``
takes the rows as an ``insert(table)`` would (dicts by column key, the same keys in
every row) and stores the same values: each value goes through its column type's
``bind_processor`` for the connection's dialect (enums to their names, JSON
serialised as the engine would, timestamps checked aware and moved to UTC), and a
column the rows leave out gets its Python-side default, row by row, as SQLAlchemy
would give it. The ``COPY`` runs on the connection's own driver connection, so in
its transaction.

SQLAlchemy's cursor events do not see a ``COPY`` sent through the driver (a
listener counting or logging statements at the engine misses it; the tests count
it at psycopg's ``Cursor.copy``). A failure comes back as SQLAlchemy's: a value that cannot be converted as a
``StatementError`` (raised before anything is sent), a driver error as the
``DBAPIError`` subclass SQLAlchemy would have raised (``IntegrityError``, ``DataError``...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

Processor = Callable[[Any], Any] | None


def insert_rows(db: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in one statement; nothing when there are none."""
    if not rows:
        return
    if db.dialect.driver != "psycopg":
        db.execute(insert(table), rows)
        return
    columns = _columns(table, rows[0])
    quote = db.dialect.identifier_preparer
    names = ", ".join(quote.format_column(column) for column, _ in columns)
    statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
    values = _converted(db.dialect, statement, columns, rows)
    cursor = db.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    except db.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(statement, None, error,
                                  db.dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()


def _columns(table: Table, given: Mapping[str, Any]
             ) -> list[tuple[Column[Any], Callable[[Mapping[str, Any]], Any]]]:
    """The columns to fill and how to get each one's value from a row, in table order."""
    columns = []
    for column in table.columns:
        if column.key in given:
            columns.append((column, _given(column.key)))
        elif column.default is not None:
            columns.append((column, _default(column)))
    unknown = set(given) - {column.key for column in table.columns}
    if unknown:
        raise LookupError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    return columns


def _given(key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda row: row[key]


def _default(column: Column[Any]) -> Callable[[Mapping[str, Any]], Any]:
    default: Any = column.default
    if default.is_scalar:
        return lambda _: default.arg
    if default.is_callable:
        return lambda _: default.arg(None)
    raise NotImplementedError(f"{column} has a default COPY cannot give: {default!r}")


def _converted(dialect: Dialect, statement: str,
               columns: Sequence[tuple[Column[Any], Callable[..., Any]]],
               rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Every row's values as the column types bind them, or a ``StatementError``."""
    processors: list[Processor] = [column.type.dialect_impl(dialect).bind_processor(dialect)
                                   for column, _ in columns]
    pairs = list(zip(columns, processors, strict=True))
    try:
        return [tuple(value(row) if process is None else process(value(row))
                      for (_, value), process in pairs) for row in rows]
    except KeyError as error:
        raise StatementError(f"A value is required for column {error}", statement, None,
                             error) from error
    except Exception as error:
        raise StatementError(f"({type(error).__module__}.{type(error).__qualname__}) {error}",
                             statement, None, error) from error
