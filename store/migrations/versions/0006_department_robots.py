"""Departments: the format of a webhook (group robots, templates) and a template's settings.

The template is a JSON value stored as sealed text (store.sealing): its headers may carry a
gateway's API key."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch_op:
        batch_op.add_column(
            sa.Column(
                "webhook_format", sa.String(length=16), nullable=False, server_default="emberwatch"
            )
        )
        batch_op.add_column(sa.Column("webhook_template", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch_op:
        batch_op.drop_column("webhook_template")
        batch_op.drop_column("webhook_format")
