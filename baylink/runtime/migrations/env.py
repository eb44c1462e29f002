"""Alembic environment shared by every service.

Migrations run on a connection handed in by ``Database.migrate`` (async engines
run them through ``run_sync``), so there is no URL or ini file here.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
