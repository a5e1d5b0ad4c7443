"""Baseline: the schema when migrations were introduced.

Frozen here as it was (later revisions change it; the models in the code do not). Tables that
already exist are left as they are, so a database created before migrations existed is taken
over without touching its data.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE = sa.MetaData()

sa.Table(
    "departments",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("webhook_url", sa.String(length=2000), nullable=False),
    sa.Column("secret", sa.String(length=200), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("escalation_minutes", sa.Double(), nullable=True),
    sa.Column("auto_classes", sa.JSON(), nullable=False),
    sa.Column("auto_cameras", sa.JSON(), nullable=False),
    sa.Column("auto_min_score", sa.Double(), nullable=False),
    sa.Column("auto_unconfirmed", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("name"),
)
sa.Table(
    "events",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("camera_id", sa.String(length=64), nullable=False),
    sa.Column("camera_name", sa.String(length=200), nullable=False),
    sa.Column("cls", sa.String(length=64), nullable=False),
    sa.Column(
        "status",
        sa.Enum("open", "confirmed", "dismissed", name="eventstatus", native_enum=False, length=16),
        nullable=False,
    ),
    sa.Column("started_at", sa.Double(), nullable=False),
    sa.Column("last_seen_at", sa.Double(), nullable=False),
    sa.Column("ended_at", sa.Double(), nullable=True),
    sa.Column("peak_score", sa.Double(), nullable=False),
    sa.Column("last_score", sa.Double(), nullable=False),
    sa.Column("regions", sa.JSON(), nullable=False),
    sa.Column("operator", sa.String(length=100), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("decided_at", sa.Double(), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
)
sa.Index(
    "ix_events_camera_started",
    BASELINE.tables["events"].c.camera_id,
    BASELINE.tables["events"].c.started_at,
)
sa.Index("ix_events_started_at", BASELINE.tables["events"].c.started_at)
sa.Index("ix_events_status", BASELINE.tables["events"].c.status)
sa.Table(
    "runtime_cameras",
    BASELINE,
    sa.Column("camera_id", sa.String(length=64), nullable=False),
    sa.Column("definition", sa.JSON(), nullable=True),
    sa.Column("masks", sa.JSON(), nullable=True),
    sa.Column("deleted", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint("camera_id"),
)
sa.Table(
    "users",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("name", sa.String(length=64), nullable=False),
    sa.Column(
        "role",
        sa.Enum("viewer", "operator", "admin", name="role", native_enum=False, length=16),
        nullable=False,
    ),
    sa.Column("password_hash", sa.String(length=200), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("name"),
)
sa.Table(
    "api_tokens",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("digest", sa.String(length=64), nullable=False),
    sa.Column("label", sa.String(length=100), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("digest"),
)
sa.Index("ix_api_tokens_user_id", BASELINE.tables["api_tokens"].c.user_id)
sa.Table(
    "event_locations",
    BASELINE,
    sa.Column("event_id", sa.Integer(), nullable=False),
    sa.Column("camera_id", sa.String(length=64), nullable=False),
    sa.Column("started_at", sa.Double(), nullable=False),
    sa.Column("bearing_deg", sa.Double(), nullable=False),
    sa.Column("latitude", sa.Double(), nullable=True),
    sa.Column("longitude", sa.Double(), nullable=True),
    sa.Column("paired_event_id", sa.Integer(), nullable=True),
    sa.Column("distance_km", sa.Double(), nullable=True),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("event_id"),
)
sa.Index("ix_event_locations_started_at", BASELINE.tables["event_locations"].c.started_at)
sa.Table(
    "event_scores",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("event_id", sa.Integer(), nullable=False),
    sa.Column("ts", sa.Double(), nullable=False),
    sa.Column("score", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
)
sa.Index(
    "ix_event_scores_event_ts",
    BASELINE.tables["event_scores"].c.event_id,
    BASELINE.tables["event_scores"].c.ts,
)
sa.Table(
    "publications",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("uid", sa.String(length=36), nullable=False),
    sa.Column("event_id", sa.Integer(), nullable=False),
    sa.Column("publisher", sa.String(length=100), nullable=True),
    sa.Column("automatic", sa.Boolean(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("uid"),
)
sa.Index("ix_publications_event", BASELINE.tables["publications"].c.event_id)
sa.Table(
    "sessions",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("digest", sa.String(length=64), nullable=False),
    sa.Column("csrf", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("expires_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("digest"),
)
sa.Index("ix_sessions_user_id", BASELINE.tables["sessions"].c.user_id)
sa.Table(
    "snapshots",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("event_id", sa.Integer(), nullable=False),
    sa.Column(
        "kind",
        sa.Enum("opened", "peak", name="snapshotkind", native_enum=False, length=16),
        nullable=False,
    ),
    sa.Column("ts", sa.Double(), nullable=False),
    sa.Column("score", sa.Double(), nullable=False),
    sa.Column("path_annotated", sa.String(length=500), nullable=False),
    sa.Column("path_clean", sa.String(length=500), nullable=False),
    sa.Column("width", sa.Integer(), nullable=False),
    sa.Column("height", sa.Integer(), nullable=False),
    sa.Column("regions", sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("event_id", "kind", name="uq_snapshots_event_kind"),
)
sa.Table(
    "deliveries",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("uid", sa.String(length=36), nullable=False),
    sa.Column("publication_id", sa.Integer(), nullable=False),
    sa.Column("event_id", sa.Integer(), nullable=False),
    sa.Column("department_id", sa.Integer(), nullable=True),
    sa.Column("department_name", sa.String(length=100), nullable=False),
    sa.Column("automatic", sa.Boolean(), nullable=False),
    sa.Column(
        "status",
        sa.Enum(
            "queued",
            "delivered",
            "failing",
            "acknowledged",
            "cancelled",
            name="deliverystatus",
            native_enum=False,
            length=16,
        ),
        nullable=False,
    ),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.Double(), nullable=True),
    sa.Column("last_attempt_at", sa.Double(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("last_status_code", sa.Integer(), nullable=True),
    sa.Column("delivered_at", sa.Double(), nullable=True),
    sa.Column("ack_token", sa.String(length=64), nullable=False),
    sa.Column("acknowledged_at", sa.Double(), nullable=True),
    sa.Column("escalations", sa.Integer(), nullable=False),
    sa.Column("escalated_at", sa.Double(), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["department_id"], ["departments.id"], ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["publication_id"], ["publications.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("ack_token"),
    sa.UniqueConstraint("uid"),
)
sa.Index("ix_deliveries_event", BASELINE.tables["deliveries"].c.event_id)
sa.Index(
    "ix_deliveries_status_next",
    BASELINE.tables["deliveries"].c.status,
    BASELINE.tables["deliveries"].c.next_attempt_at,
)


def upgrade() -> None:
    BASELINE.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    BASELINE.drop_all(op.get_bind(), checkfirst=True)
