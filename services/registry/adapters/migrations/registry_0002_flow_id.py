"""Applications: the flow id (the correlation id of the drafting call) every event of theirs carries.

Revision ID: registry_0002
Revises: registry_0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0002"
down_revision = "registry_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("flow_id", sa.String(128), nullable=True))
    # Applications drafted before flow ids existed: their own id is their flow's.
    applications = sa.table("applications", sa.column("application_id", sa.String), sa.column("flow_id", sa.String))
    op.execute(
        applications.update().where(applications.c.flow_id.is_(None)).values(flow_id=applications.c.application_id)
    )


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("flow_id")
