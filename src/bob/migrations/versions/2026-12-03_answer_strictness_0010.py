"""answer strictness: how sure Bob must be before it answers, per tenant

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenant_engine_settings") as batch_op:
        batch_op.add_column(sa.Column("strictness", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant_engine_settings") as batch_op:
        batch_op.drop_column("strictness")
