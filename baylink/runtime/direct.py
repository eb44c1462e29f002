"""Transactions run on the database driver's own connection: one program, two drivers.

Kept in one module although over 300 lines: the statements, the ops and the program they make
are one vocabulary, which every service's programs import as ``direct``.

Through the async engine every statement costs SQLAlchemy's execution context,
a greenlet switch and (on SQLite) a round trip to aiosqlite's thread, and a hot
transaction runs a dozen or more (figures: docs/performance.md). For such
transactions a service writes a *program*: a generator that yields ``Op``s
(a statement built once with SQLAlchemy Core, and its parameters) and receives
each one's result. ``Database.run_direct`` runs it in one transaction (through
``direct_drivers.py``):

- SQLite: the whole program runs in ``Database.write_sqlite``'s thread on its
  own ``sqlite3`` connection, so the transaction is one round trip from the
  event loop;
- PostgreSQL: each op is awaited on the asyncpg connection under SQLAlchemy's
  pooled one (asyncpg prepares each statement once per connection), in a
  transaction without sequential scans (see ``db._PG_DIRECT_BEGIN``).

A ``Statement`` is compiled once per dialect. Its bind parameters are passed
positionally through the columns' own bind processors (so a row written here
reads back through the engine exactly as one written there), and the rows it
returns go through the columns' result processors. An expanding ``IN``
parameter becomes one parameter: ``= ANY($n)`` (an array) on PostgreSQL, ``IN
(SELECT value FROM json_each(?))`` (a JSON array) on SQLite, so the SQL text of
a statement never depends on how many values it gets.

The program's logic between ops is plain Python (it may run in another thread):
it must not await, and it must touch nothing the event loop changes meanwhile.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

T = TypeVar("T")
Processor = Callable[[Any], Any]
_IN_LIST = re.compile(r"(?<!NOT) IN \(__\[POSTCOMPILE_(\w+)\]\)")
_PARAMETER = re.compile(r"\$(\d+)")  # asyncpg's positional parameters
_NO_DEFAULT = object()


@dataclass(frozen=True, slots=True)
class _Bind:
    name: str
    process: Processor | None
    expanding: bool
    default: Any  # the value a literal or a defaulted parameter carries, else _NO_DEFAULT


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    binds: tuple[_Bind, ...]  # in the driver's positional order
    row: Any  # the namedtuple type of a returned row, or None
    results: tuple[Processor | None, ...]

    def parameters(self, values: Mapping[str, Any], array: Callable[[list[Any]], Any]) -> tuple[Any, ...]:
        """The driver's positional parameters for one set of named values; ``array`` makes a
        list's one parameter (a JSON text on SQLite, a list for asyncpg)."""
        return self.parameter_rows([values], array)[0]

    def parameter_rows(
        self, rows: Sequence[Mapping[str, Any]], array: Callable[[list[Any]], Any]
    ) -> list[tuple[Any, ...]]:
        """``parameters`` of each of ``rows``, worked out column by column: a value the row before
        also had (the same object: a batch's one timestamp) is converted once."""
        if not self.binds:
            return [() for _ in rows]
        columns = []
        for bind in self.binds:
            name, default, process = bind.name, bind.default, bind.process
            column = [r.get(name, default) for r in rows]
            if default is _NO_DEFAULT and any(v is _NO_DEFAULT for v in column):
                raise KeyError(f"no value for bind parameter {name!r}")
            if bind.expanding:
                column = [array([process(v) for v in c] if process else list(c)) for c in column]
            elif process is not None:
                column = _converted(column, process)
            columns.append(column)
        return list(zip(*columns, strict=True))

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make, results = self.row._make, self.results
        if not any(results):
            return [make(r) for r in raw]
        return [make([p(v) if p is not None else v for p, v in zip(results, r, strict=True)]) for r in raw]


def _converted(values: list[Any], process: Processor) -> list[Any]:
    out, last_in, last_out = [], _NO_DEFAULT, None
    for value in values:
        if value is not last_in:
            last_in, last_out = value, process(value)
        out.append(last_out)
    return out


class Statement:
    """A Core statement (with bind parameters by name), compiled once per dialect for ``run_direct``.

    FOR UPDATE and FOR SHARE clauses are rendered where the dialect has them (PostgreSQL) and
    dropped where it has none (SQLite, which has one writer)."""

    def __init__(self, statement: sa.Executable):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found

    def __repr__(self) -> str:
        return f"Statement({str(self.statement)[:60]!r}…)"


def _compile(statement: sa.Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = list(compiled.positiontup or [])
    sql = str(compiled)

    def bind(name: str) -> _Bind:
        param = compiled.binds[name]
        process = param.type.dialect_impl(dialect).bind_processor(dialect)
        default = _NO_DEFAULT if param.required else param.effective_value
        return _Bind(name, process, bool(param.expanding), default)

    if dialect.paramstyle == "qmark":  # SQLite: one ? per occurrence, in order
        sql = _IN_LIST.sub(" IN (SELECT value FROM json_each(?))", sql)
        binds = tuple(bind(n) for n in names)
    elif dialect.paramstyle == "numeric_dollar":  # asyncpg: $k per distinct name; arrays after them
        plain = [n for n in names if not compiled.binds[n].expanding]
        expanding = [n for n in names if compiled.binds[n].expanding]
        numbers = {n: len(plain) + 1 + i for i, n in enumerate(expanding)}
        sql = _IN_LIST.sub(lambda m: f" = ANY(${numbers[m.group(1)]})", sql)
        binds = tuple(bind(n) for n in plain + expanding)
    else:
        raise NotImplementedError(f"direct statements for paramstyle {dialect.paramstyle!r}")
    if "POSTCOMPILE" in sql:
        raise NotImplementedError(f"only IN takes a list in a direct statement: {sql}")

    columns = list(getattr(statement, "exported_columns", []) or [])
    row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Compiled(sql, binds, row, results)


class PerDialect(Statement):
    """A statement written per dialect, for what Core spells differently on each (an upsert:
    ``sqlite.insert(...).on_conflict_do_update`` and ``postgresql.insert(...)`` alike).
    ``build(dialect_name)`` makes it; it is compiled once per dialect as any other."""

    def __init__(self, build: Callable[[str], sa.Executable]):
        super().__init__(build("postgresql"))
        self.build = build

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.build(dialect.name), dialect)
        return found


class Insert(Statement):
    """``insert(table)``: a Statement that also knows its table, for ``insert_ids``."""

    def __init__(self, table: sa.Table, statement: sa.Executable):
        super().__init__(statement)
        self.table = table
        self._unnest: dict[tuple[str, bool], str] = {}

    def unnest_sql(self, dialect: Dialect, *, returning: bool) -> str:
        """PostgreSQL: the same rows in one statement, a parameter per column (an array of the
        column's values, in the order of the compiled insert's parameters), inserted in the
        order given, and with ``returning`` returning the autoincrement key of each:

        ``INSERT INTO t (a, b) SELECT a, b FROM unnest($1::A[], $2::B[]) WITH ORDINALITY AS
        v(a, b, n) ORDER BY n RETURNING id``

        The key's sequence numbers the rows in the order the SELECT produces them, so the keys
        sorted are the rows' keys in order (what SQLAlchemy's "insertmanyvalues" relies on too).
        One statement binds and runs once for all the rows, where an executemany does so per row,
        which costs the PostgreSQL backend more CPU per batch (docs/performance.md)."""
        found = self._unnest.get((dialect.name, returning))
        if found is None:
            quote = dialect.identifier_preparer.quote
            columns = [self.table.c[b.name] for b in self.compiled(dialect).binds]
            names = ", ".join(quote(c.name) for c in columns)
            arrays = ", ".join(
                f"${i}::{dialect.type_compiler_instance.process(c.type)}[]" for i, c in enumerate(columns, 1)
            )
            found = f"INSERT INTO {dialect.identifier_preparer.format_table(self.table)} ({names}) "
            found += f"SELECT {names} FROM unnest({arrays}) "
            if returning:
                key = self.table.autoincrement_column
                if key is None:
                    raise NotImplementedError(f"insert_ids needs an autoincrement key: {self.table.name}")
                found += f"WITH ORDINALITY AS v({names}, ordinality) ORDER BY ordinality RETURNING {quote(key.name)}"
            else:
                found += f"AS v({names})"
            self._unnest[(dialect.name, returning)] = found
        return found

    def columns(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """``rows`` as ``unnest_sql``'s parameters: one list per column."""
        return [list(c) for c in zip(*self.compiled(dialect).parameter_rows(rows, list), strict=True)]


class Reads(Statement):
    """SELECTs read together (``fetch_all``). PostgreSQL: one statement, ``SELECT ARRAY(SELECT r FROM
    (<first>) AS r), …``, each SELECT with its parameters (numbered on) and its locking clause; the
    columns are evaluated in order, so rows lock in the order of the SELECTs, each SELECT's in its
    ORDER BY. SQLite: one SELECT after the other."""

    def __init__(self, *statements: Statement):
        super().__init__(sa.select(sa.literal(1)))  # unused: each of ``statements`` is compiled instead
        self.statements = statements
        self._combined: dict[str, str] = {}

    def combined_sql(self, dialect: Dialect) -> str:
        found = self._combined.get(dialect.name)
        if found is None:
            columns, offset = [], 0
            for i, statement in enumerate(self.statements):
                compiled = statement.compiled(dialect)
                parts = _PARAMETER.split(compiled.sql)  # text, a parameter's number, text, …
                sql = "".join(f"${int(p) + offset}" if j % 2 else p for j, p in enumerate(parts))
                columns.append(f"ARRAY(SELECT r FROM ({sql}) AS r) AS read_{i}")
                offset += len(compiled.binds)
            found = self._combined[dialect.name] = "SELECT " + ", ".join(columns)
        return found

    def __repr__(self) -> str:
        return f"Reads({', '.join(repr(s) for s in self.statements)})"


def insert(table: sa.Table) -> Insert:
    """INSERT of one row of ``table``: a bind parameter per column, named by its key (all but an
    autoincrement key, which the database fills; no implicit RETURNING of it). A row may leave out
    a column with a scalar default (it gets the default) or a nullable one (NULL)."""
    values = {}
    for c in table.columns:
        if c is table.autoincrement_column:
            continue
        default = c.default.arg if c.default is not None and c.default.is_scalar else None  # type: ignore[attr-defined]
        optional = default is not None or c.nullable
        values[c.key] = sa.bindparam(c.key, value=default, type_=c.type, required=not optional)
    return Insert(table, sa.insert(table).values(values).inline())


@dataclass(frozen=True, slots=True)
class Op:
    """One step of a program. Its result, sent back into the program: the rows (``fetch``), the
    row count (``execute``), for ``execute_many`` the total row count where the driver counts
    one (sqlite3) and None where it does not (asyncpg), for ``insert_ids`` the rows' keys."""

    kind: str  # "fetch" | "execute" | "many" | "ids" | "fetches" (``fetch_all``: each read's rows)
    statement: Statement
    params: Any  # a mapping; for "many" and "ids" a list of mappings


def fetch(statement: Statement, **params: Any) -> Op:
    return Op("fetch", statement, params)


def fetch_all(reads: Reads, params: Sequence[Mapping[str, Any]]) -> Op:
    """Each of ``reads``' SELECTs with its mapping of ``params``: the rows of each, as ``fetch`` gives them."""
    if len(params) != len(reads.statements):
        raise ValueError(f"{len(reads.statements)} reads, {len(params)} sets of parameters")
    return Op("fetches", reads, list(params))


def execute(statement: Statement, **params: Any) -> Op:
    return Op("execute", statement, params)


def execute_many(statement: Statement, rows: Sequence[Mapping[str, Any]]) -> Op:
    """``statement`` once per row: an executemany, except an ``insert`` on PostgreSQL, which
    inserts all the rows in one statement (``Insert.unnest_sql``)."""
    return Op("many", statement, list(rows))


def insert_ids(statement: Insert, rows: Sequence[Mapping[str, Any]]) -> Op:
    """Insert ``rows`` (``execute_many`` of an ``insert``) and get the autoincrement key each row
    was given, in the order of ``rows``. SQLite: the keys are consecutive, because the rows go in
    under the database's only write lock (BEGIN IMMEDIATE) and SQLite gives a row without an
    explicit rowid the largest rowid so far plus one (sqlite.org/autoinc.html), so the last one
    (``last_insert_rowid()``) gives them all; PostgreSQL: one statement (``Insert.unnest_sql``)."""
    return Op("ids", statement, list(rows))


Program = Generator[Op, Any, T]


def alone(op: Op) -> Program[Any]:
    """A program of the one step ``op``; its result is that step's (the rows of a ``fetch``, the
    row count of an ``execute``)."""
    return (yield op)
