"""API tokens: an expiry time (null: valid until revoked, as every token issued before).
Secrets at rest: department webhook URLs and secrets, and camera definitions, become text
columns holding sealed values (store.sealing), which are longer than the plain ones."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.Double(), nullable=True))
    with op.batch_alter_table("departments") as batch_op:
        batch_op.alter_column(
            "webhook_url", type_=sa.Text(), existing_type=sa.String(2000), existing_nullable=True
        )
        batch_op.alter_column(
            "secret", type_=sa.Text(), existing_type=sa.String(200), existing_nullable=False
        )
    with op.batch_alter_table("runtime_cameras") as batch_op:
        batch_op.alter_column(
            "definition",
            type_=sa.Text(),
            existing_type=sa.JSON(),
            existing_nullable=True,
            postgresql_using="definition::text",
        )


def downgrade() -> None:
    # Sealed values do not fit the old column sizes: downgrading keeps the text columns.
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("expires_at")
