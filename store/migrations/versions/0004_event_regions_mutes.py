"""Events per region: each event's box, the event it continues and why; muted regions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("box", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reason", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            "fk_events_parent_id_events", "events", ["parent_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("cls", sa.String(length=64), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("level", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("lifted_at", sa.Double(), nullable=True),
        sa.Column("lifted_by", sa.String(length=100), nullable=True),
    )
    op.create_index("ix_mutes_camera_lifted", "mutes", ["camera_id", "lifted_at"])


def downgrade() -> None:
    op.drop_index("ix_mutes_camera_lifted", table_name="mutes")
    op.drop_table("mutes")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_constraint("fk_events_parent_id_events", type_="foreignkey")
        batch_op.drop_column("reason")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("box")
