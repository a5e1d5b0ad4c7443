"""Scale-out: messages of the events stream recorded once, episodes of worker processes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bus_transitions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("events.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("recorded_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "bus_episodes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(length=200), nullable=False, unique=True),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("incarnation", sa.String(length=64), nullable=False),
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("events.id", ondelete="SET NULL"), nullable=True
        ),
    )
    op.create_index("ix_bus_episodes_camera", "bus_episodes", ["camera_id"])


def downgrade() -> None:
    op.drop_index("ix_bus_episodes_camera", table_name="bus_episodes")
    op.drop_table("bus_episodes")
    op.drop_table("bus_transitions")
