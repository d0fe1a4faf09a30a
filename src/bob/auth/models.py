from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bob.db.base import Base, Timestamps, UUIDPrimaryKey
from bob.db.types import utcnow
from bob.tenants.models import Tenant


class User(UUIDPrimaryKey, Timestamps, Base):
    """A platform admin (no tenant) or a member of one tenant's team."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('platform_admin', 'owner', 'admin', 'agent', 'viewer')", name="role"
        ),
        CheckConstraint(
            "(tenant_id IS NULL AND role = 'platform_admin') "
            "OR (tenant_id IS NOT NULL AND role <> 'platform_admin')",
            name="tenant_matches_role",
        ),
    )

    # Emails are unique across the installation: the tenant login takes only email + password.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    tenant: Mapped[Tenant | None] = relationship(lazy="joined")

    @property
    def is_platform_admin(self) -> bool:
        return self.tenant_id is None


class AuthSession(UUIDPrimaryKey, Base):
    """Server side of a login; tokens name it, so logging out revokes them at once."""

    __tablename__ = "auth_sessions"
    __table_args__ = (CheckConstraint("kind IN ('bearer', 'cookie')", name="kind"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")


class Invite(UUIDPrimaryKey, Base):
    """A one-time link for a new team member to set a password; only its hash is stored."""

    __tablename__ = "invites"
    __table_args__ = (Index("ix_invites_token_hash", "token_hash", unique=True),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
