from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bob.db.base import Base, UUIDPrimaryKey
from bob.db.types import utcnow


class WidgetKey(UUIDPrimaryKey, Base):
    """A publishable key (`pk_live_…`) that lets the widget on allowed origins talk to Bob."""

    __tablename__ = "widget_keys"
    __table_args__ = (CheckConstraint("status IN ('active', 'revoked')", name="status"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    origins: Mapped[list[WidgetKeyOrigin]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="WidgetKeyOrigin.origin"
    )

    @property
    def allowed_origins(self) -> list[str]:
        return [o.origin for o in self.origins]


class WidgetKeyOrigin(UUIDPrimaryKey, Base):
    """One allowed origin of a key; a row each so a preflight finds its keys by index."""

    __tablename__ = "widget_key_origins"
    __table_args__ = (UniqueConstraint("key_id", "origin"),)

    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widget_keys.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(300), index=True)


class WidgetSettings(Base):
    """How a tenant's widget looks and behaves; absent until first changed (defaults apply)."""

    __tablename__ = "widget_settings"
    __table_args__ = (
        CheckConstraint("position IN ('bottom-right', 'bottom-left')", name="position"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[str] = mapped_column(String(16), default="bottom-right")
    color: Mapped[str] = mapped_column(String(7), default="#0b5cad")
    launcher_label: Mapped[str | None] = mapped_column(String(40))
    open_on_load: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(8), default="auto")
    greeting: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
