from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base
from bob.db.types import utcnow


class AnonymousDoorSettings(Base):
    """A tenant's own ceilings on the anonymous doors and its challenge switch; absent until
    first changed, so the plan's defaults apply (a null ceiling also means the plan's default)."""

    __tablename__ = "anonymous_door_settings"
    __table_args__ = (
        CheckConstraint("replies_per_minute IS NULL OR replies_per_minute > 0", name="per_minute"),
        CheckConstraint("replies_per_day IS NULL OR replies_per_day > 0", name="per_day"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    replies_per_minute: Mapped[int | None]
    replies_per_day: Mapped[int | None]
    challenge: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
