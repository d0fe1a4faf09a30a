"""widget settings: position, colour, greeting, language, launcher label, open on load

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:29:54.658574
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "widget_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.String(length=16), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("launcher_label", sa.String(length=40), nullable=True),
        sa.Column("open_on_load", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("greeting", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "position IN ('bottom-right', 'bottom-left')", name=op.f("ck_widget_settings_position")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_widget_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_widget_settings")),
    )


def downgrade() -> None:
    op.drop_table("widget_settings")
