from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base
from bob.db.types import utcnow


class PricebookVersion(Base):
    """A numbered set of plans. Drafts are edited, one version is published, old ones archived."""

    __tablename__ = "pricebook_versions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        # Exactly one published version at any moment.
        Index(
            "ix_pricebook_versions_one_published",
            "status",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    plans: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]


class Subscription(Base):
    """A tenant's plan, the version it was priced on, and its current monthly period."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("at_zero IN ('handoff', 'message_only', 'overage')", name="at_zero"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    plan: Mapped[str] = mapped_column(String(32))
    pricebook_version: Mapped[int] = mapped_column(ForeignKey("pricebook_versions.version"))
    # Periods are monthly, anchored on the day the subscription started.
    started_at: Mapped[datetime]
    period_index: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    pending_plan: Mapped[str | None] = mapped_column(String(32))
    at_zero: Mapped[str] = mapped_column(String(16), default="handoff")
    threshold_notified_at: Mapped[datetime | None]
    exhausted_notified_at: Mapped[datetime | None]
    # credits.low fires when the balance reaches this many credits; None: 10% of the plan's.
    low_credits_threshold: Mapped[int | None]
    low_credits_notified_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CreditEntry(Base):
    """Append-only ledger. A period's balance is the sum of its entries (overage excluded)."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('grant', 'usage', 'adjustment', 'reset', 'overage')", name="kind"
        ),
        Index("ix_credit_entries_tenant_id_period_start", "tenant_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    period_start: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    actor_label: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
