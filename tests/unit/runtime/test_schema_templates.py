"""The tests' schema templates: a copied database is what running the migrations makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from baylink.runtime.db import Database
from tests.support.schema_templates import SchemaTemplates

GATEWAY = Path("services/gateway/adapters/migrations")
PAYMENTS = Path("services/payments/adapters/migrations")


def schema(path: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str]]]:
    with sqlite3.connect(path) as conn:
        objects = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
        revisions = conn.execute("SELECT version_num FROM alembic_version ORDER BY 1").fetchall()
    return objects, revisions


async def migrate_for_real(path: Path, locations: list[Path], templates: SchemaTemplates) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await templates.real_migrate(db, locations)
    await db.dispose()


@pytest.mark.parametrize("locations", [[GATEWAY], [PAYMENTS]], ids=["gateway", "payments"])
async def test_a_copied_database_has_the_schema_and_revisions_of_a_migrated_one(
    tmp_path: Path, schema_templates: SchemaTemplates, locations: list[Path]
) -> None:
    await migrate_for_real(tmp_path / "real.db", locations, schema_templates)
    copied = Database(f"sqlite+aiosqlite:///{tmp_path / 'copied.db'}")
    before = schema_templates.copies
    await copied.migrate(locations)
    await copied.dispose()

    assert schema_templates.copies == before + 1
    objects, revisions = schema(tmp_path / "copied.db")
    assert (objects, revisions) == schema(tmp_path / "real.db")
    assert revisions, "the copy carries Alembic's revision, so a later migrate() starts from it"


async def test_a_database_with_content_is_migrated_not_overwritten(
    tmp_path: Path, schema_templates: SchemaTemplates
) -> None:
    path = tmp_path / "kept.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE keep_me (x INTEGER)")
        conn.execute("INSERT INTO keep_me VALUES (7)")
    before = schema_templates.copies
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.migrate([GATEWAY])
    await db.dispose()

    assert schema_templates.copies == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT x FROM keep_me").fetchall() == [(7,)]
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] >= 1


def test_migration_sets_with_different_files_get_different_templates() -> None:
    from tests.support.schema_templates import migration_set_key

    assert migration_set_key([GATEWAY]) != migration_set_key([PAYMENTS])
    assert migration_set_key([GATEWAY]) == migration_set_key([GATEWAY])
