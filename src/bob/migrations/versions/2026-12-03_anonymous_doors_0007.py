"""anonymous doors: per-tenant ceilings and challenge switch; the credits.low threshold

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anonymous_door_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("replies_per_minute", sa.Integer(), nullable=True),
        sa.Column("replies_per_day", sa.Integer(), nullable=True),
        sa.Column("challenge", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "replies_per_minute IS NULL OR replies_per_minute > 0",
            name=op.f("ck_anonymous_door_settings_per_minute"),
        ),
        sa.CheckConstraint(
            "replies_per_day IS NULL OR replies_per_day > 0",
            name=op.f("ck_anonymous_door_settings_per_day"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_anonymous_door_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_anonymous_door_settings")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("low_credits_threshold", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("low_credits_notified_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("low_credits_notified_at")
        batch_op.drop_column("low_credits_threshold")
    op.drop_table("anonymous_door_settings")
