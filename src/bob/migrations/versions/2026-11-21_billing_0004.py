"""billing: pricebook versions (V1 seeded), subscriptions, the credit ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 07:00:14.433435
"""

import calendar
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pricebook_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("plans", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')",
            name=op.f("ck_pricebook_versions_status"),
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_pricebook_versions")),
    )
    with op.batch_alter_table("pricebook_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pricebook_versions_one_published",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'published'"),
            postgresql_where=sa.text("status = 'published'"),
        )

    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("pricebook_version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pending_plan", sa.String(length=32), nullable=True),
        sa.Column("at_zero", sa.String(length=16), nullable=False),
        sa.Column("threshold_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exhausted_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "at_zero IN ('handoff', 'message_only', 'overage')",
            name=op.f("ck_subscriptions_at_zero"),
        ),
        sa.ForeignKeyConstraint(
            ["pricebook_version"],
            ["pricebook_versions.version"],
            name=op.f("fk_subscriptions_pricebook_version_pricebook_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_subscriptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_subscriptions")),
    )
    op.create_table(
        "credit_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('grant', 'usage', 'adjustment', 'reset', 'overage')",
            name=op.f("ck_credit_entries_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_credit_entries_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_credit_entries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
    )
    with op.batch_alter_table("credit_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_entries_tenant_id_period_start", ["tenant_id", "period_start"], unique=False
        )

    _seed()


def downgrade() -> None:
    with op.batch_alter_table("credit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_entries_tenant_id_period_start")

    op.drop_table("credit_entries")
    op.drop_table("subscriptions")
    with op.batch_alter_table("pricebook_versions", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_pricebook_versions_one_published",
            sqlite_where=sa.text("status = 'published'"),
            postgresql_where=sa.text("status = 'published'"),
        )

    op.drop_table("pricebook_versions")


# pricebook-seed V1: USD/month, included AI credits/month, seats (None = unlimited),
# included standard integrations, support.
V1_PLANS = [
    {
        "code": "starter",
        "name": "Starter",
        "monthly_price_cents": 7900,
        "included_credits": 15000,
        "seats": 3,
        "integrations": 1,
        "support": "email",
    },
    {
        "code": "pro",
        "name": "Pro",
        "monthly_price_cents": 24900,
        "included_credits": 75000,
        "seats": 10,
        "integrations": 3,
        "support": "priority",
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "monthly_price_cents": 89900,
        "included_credits": 250000,
        "seats": None,
        "integrations": 10,
        "support": "dedicated",
    },
]


def _one_month_later(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _seed() -> None:
    now = datetime.now(UTC)
    versions = sa.table(
        "pricebook_versions",
        sa.column("version", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("currency", sa.String()),
        sa.column("plans", sa.JSON()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("published_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        versions,
        [
            {
                "version": 1,
                "status": "published",
                "currency": "USD",
                "plans": V1_PLANS,
                "created_at": now,
                "published_at": now,
            }
        ],
    )
    # Tenants that exist already start a subscription on their plan, priced on V1, today.
    tenants = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("plan", sa.String()))
    subscriptions = sa.table(
        "subscriptions",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("plan", sa.String()),
        sa.column("pricebook_version", sa.Integer()),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("period_index", sa.Integer()),
        sa.column("period_start", sa.DateTime(timezone=True)),
        sa.column("period_end", sa.DateTime(timezone=True)),
        sa.column("at_zero", sa.String()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    entries = sa.table(
        "credit_entries",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("period_start", sa.DateTime(timezone=True)),
        sa.column("kind", sa.String()),
        sa.column("delta", sa.Integer()),
        sa.column("reason", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    credits = {p["code"]: p["included_credits"] for p in V1_PLANS}
    for tenant_id, plan in op.get_bind().execute(sa.select(tenants.c.id, tenants.c.plan)):
        plan = plan if plan in credits else "starter"
        op.execute(
            subscriptions.insert().values(
                tenant_id=tenant_id,
                plan=plan,
                pricebook_version=1,
                started_at=now,
                period_index=0,
                period_start=now,
                period_end=_one_month_later(now),
                at_zero="handoff",
                updated_at=now,
            )
        )
        op.execute(
            entries.insert().values(
                tenant_id=tenant_id,
                period_start=now,
                kind="grant",
                delta=credits[plan],
                reason=f"{plan} plan, pricebook v1",
                created_at=now,
            )
        )
