"""Departments: e-mail recipients as a second channel; the webhook URL becomes optional."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch_op:
        batch_op.add_column(sa.Column("email_to", sa.String(length=2000), nullable=True))
        batch_op.alter_column("webhook_url", existing_type=sa.String(length=2000), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch_op:
        batch_op.alter_column("webhook_url", existing_type=sa.String(length=2000), nullable=False)
        batch_op.drop_column("email_to")
