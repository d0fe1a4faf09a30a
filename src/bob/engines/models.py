from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base, Timestamps


class TenantEngineSettings(Timestamps, Base):
    """A tenant's override of the installation's engine; the API key is stored encrypted."""

    __tablename__ = "tenant_engine_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    engine: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(String(500))
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    # How sure Bob must be before it answers (text/grounding.py); None: the default.
    strictness: Mapped[str | None] = mapped_column(String(16))
