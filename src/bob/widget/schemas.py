from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class WidgetKeyCreate(BaseModel):
    label: str = Field("", max_length=100)
    allowed_origins: list[str] = Field(default_factory=list, max_length=100)


class WidgetKeyUpdate(BaseModel):
    label: str | None = Field(None, max_length=100)
    allowed_origins: list[str] | None = Field(None, max_length=100)


class WidgetKeyRead(BaseModel):
    id: uuid.UUID
    key: str
    label: str
    allowed_origins: list[str]
    is_primary: bool
    status: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


class WidgetKeyPage(BaseModel):
    items: list[WidgetKeyRead]
    next_cursor: str | None = None
