"""analytics: conversations by tenant and start time, for the dashboards

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 08:52:30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_tenant_id_created_at", "conversations", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_tenant_id_created_at", table_name="conversations")
