from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base, Timestamps, UUIDPrimaryKey
from bob.errors import Forbidden


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Plan(enum.StrEnum):
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Tenant(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint("status IN ('active', 'suspended')", name="status"),)

    business_id: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=TenantStatus.ACTIVE)
    plan: Mapped[str] = mapped_column(String(32), default=Plan.STARTER)
    suspended_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    def ensure_serving(self) -> Tenant:
        """Every visitors' door (door 1, the widget, their challenges) refuses a suspended
        business the same way; its team's logins say more (auth/service.py)."""
        if not self.is_active:
            raise Forbidden(
                "this business's assistant is not available right now", code="tenant_suspended"
            )
        return self
