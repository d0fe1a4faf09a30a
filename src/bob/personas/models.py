from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base, Timestamps, UUIDPrimaryKey


class Persona(UUIDPrimaryKey, Timestamps, Base):
    """How a tenant's assistant presents itself: name, description, tone and system prompt."""

    __tablename__ = "personas"
    __table_args__ = (
        # At most one default persona per tenant.
        Index(
            "ix_personas_one_default",
            "tenant_id",
            unique=True,
            sqlite_where="is_default",
            postgresql_where="is_default",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    tone: Mapped[str] = mapped_column(String(200), default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)
