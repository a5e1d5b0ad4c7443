"""Departments: an MQTT topic as a third channel."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch_op:
        batch_op.add_column(sa.Column("mqtt_topic", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch_op:
        batch_op.drop_column("mqtt_topic")
