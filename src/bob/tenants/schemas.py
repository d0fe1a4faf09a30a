from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class TenantBrief(BaseModel):
    """A tenant as its own users see it (the login and /me replies)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    business_id: str
    name: str
