"""Running a direct program (``baylink.runtime.direct``) on a driver's own connection.

``Database.run_direct`` calls one of these inside a transaction it began: ``run_sqlite`` in the
thread of the database's own sqlite3 connection (the whole program, one hop from the event loop),
``run_asyncpg`` op by op on the asyncpg connection under a pooled one.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from baylink.runtime.direct import Insert, Program, Reads

T = TypeVar("T")

_LAST_ROWID = "SELECT last_insert_rowid()"


def run_sqlite(program: Program[T], connection: sqlite3.Connection, dialect: Dialect) -> T:
    """Run ``program`` to its end on ``connection`` (inside the caller's transaction)."""
    result: Any = None
    while True:
        try:
            op = program.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if op.kind == "fetches":
            assert isinstance(op.statement, Reads)
            result = []
            for statement, params in zip(op.statement.statements, op.params, strict=True):
                read = statement.compiled(dialect)
                result.append(read.rows(connection.execute(read.sql, read.parameters(params, json.dumps)).fetchall()))
            continue
        compiled = op.statement.compiled(dialect)
        if op.kind in ("many", "ids"):
            if not op.params:
                result = 0 if op.kind == "many" else []
                continue
            cursor = connection.executemany(compiled.sql, compiled.parameter_rows(op.params, json.dumps))
            result = cursor.rowcount
            if op.kind == "ids":
                (last,) = connection.execute(_LAST_ROWID).fetchone()
                result = list(range(last - len(op.params) + 1, last + 1))
        else:
            cursor = connection.execute(compiled.sql, compiled.parameters(op.params, json.dumps))
            result = compiled.rows(cursor.fetchall()) if op.kind == "fetch" else cursor.rowcount


async def run_asyncpg(program: Program[T], connection: Any, dialect: Dialect) -> T:
    """Run ``program`` to its end on an asyncpg ``connection`` (inside the caller's transaction)."""
    result: Any = None
    while True:
        try:
            op = program.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if op.kind == "fetches":  # one statement for all the reads
            assert isinstance(op.statement, Reads)
            reads = [s.compiled(dialect) for s in op.statement.statements]
            args = [a for read, params in zip(reads, op.params, strict=True) for a in read.parameters(params, list)]
            arrays = await connection.fetchrow(op.statement.combined_sql(dialect), *args)
            result = [read.rows(rows) for read, rows in zip(reads, arrays, strict=True)]
            continue
        compiled = op.statement.compiled(dialect)
        if op.kind == "many":
            if isinstance(op.statement, Insert) and op.params:  # one statement for all the rows
                statement, columns = op.statement, op.statement.columns(dialect, op.params)
                await connection.execute(statement.unnest_sql(dialect, returning=False), *columns)
            elif op.params:
                await connection.executemany(compiled.sql, compiled.parameter_rows(op.params, list))
            result = None
        elif op.kind == "ids":
            result = []
            if op.params:
                assert isinstance(op.statement, Insert)
                statement, columns = op.statement, op.statement.columns(dialect, op.params)
                keys = await connection.fetch(statement.unnest_sql(dialect, returning=True), *columns)
                result = sorted(r[0] for r in keys)
        elif op.kind == "fetch":
            result = compiled.rows(await connection.fetch(compiled.sql, *compiled.parameters(op.params, list)))
        else:
            status = await connection.execute(compiled.sql, *compiled.parameters(op.params, list))
            result = int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0


async def run_adapted(program: Program[T], adapted: Any, dialect: Dialect) -> T:
    """Run ``program`` inside the transaction SQLAlchemy holds on ``adapted`` (its DBAPI adapter of
    an aiosqlite or asyncpg connection): on SQLite the whole program in aiosqlite's thread (one
    hop), on PostgreSQL op by op, once SQLAlchemy's transaction on the connection has begun."""
    driver = adapted.driver_connection
    if dialect.name == "sqlite":
        try:
            return await driver._execute(run_sqlite, program, driver._conn, dialect)  # type: ignore[no-any-return]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
    if dialect.driver != "asyncpg":
        raise RuntimeError("direct programs need SQLite or PostgreSQL through asyncpg")
    if not driver.is_in_transaction():  # SQLAlchemy begins it lazily, with its first statement
        await adapted._start_transaction()
    return await run_asyncpg(program, driver, dialect)
