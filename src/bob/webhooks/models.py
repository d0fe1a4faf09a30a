from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base, UUIDPrimaryKey
from bob.db.types import utcnow


class Event(UUIDPrimaryKey, Base):
    """The transactional outbox: written with the change that caused it, delivered after commit."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_tenant_id_created_at", "tenant_id", "created_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
