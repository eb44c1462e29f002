"""Tests only: a SQLite database that a test migrates starts as a copy of a template.

Every service host and many fixtures migrate a fresh SQLite file; running every Alembic
migration again for each of them is most of what such a test's set-up costs. Here the
migrations run once per test process and migration set, into a template file; a fresh
database is a copy of it (SQLite's backup API), which is the same schema and the same Alembic
revision. A database that already has content is migrated for real, as are PostgreSQL
databases. ``tests/unit/runtime/test_schema_templates.py`` shows a copy equals a migration.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from baylink.runtime.db import MIGRATIONS_DIR, Database

Migrate = Callable[[Database, Sequence[Path]], Coroutine[Any, Any, None]]


def migration_set_key(version_locations: Sequence[Path]) -> str:
    """A digest of every migration file the set consists of (names and contents)."""
    digest = hashlib.sha256()
    for location in sorted({MIGRATIONS_DIR / "versions", *map(Path, version_locations)}):
        for path in sorted(location.glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def copy_sqlite(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


class SchemaTemplates:
    """Migrate fresh SQLite files by copying a template migrated once per migration set."""

    def __init__(self, directory: Path, real_migrate: Migrate) -> None:
        self.directory = directory
        self.real_migrate = real_migrate
        self.copies = 0

    async def migrate(self, db: Database, version_locations: Sequence[Path] = ()) -> None:
        target = _fresh_sqlite_file(db)
        if target is None:
            await self.real_migrate(db, version_locations)
            return
        template = self.directory / f"{migration_set_key(version_locations)}.db"
        if not template.exists():
            building = Database(f"sqlite+aiosqlite:///{template}")
            try:
                await self.real_migrate(building, version_locations)
            finally:
                await building.dispose()
        copy_sqlite(template, target)
        self.copies += 1


def _fresh_sqlite_file(db: Database) -> Path | None:
    """The database's file, if it is SQLite and holds nothing yet; else None."""
    if db.dialect != "sqlite":
        return None
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    if path.exists() and path.stat().st_size > 0:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
