from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from bob.schemas import WriteModel


class WidgetKeyCreate(WriteModel):
    label: str = Field("", max_length=100)
    allowed_origins: list[str] = Field(default_factory=list, max_length=100)


class WidgetKeyUpdate(WriteModel):
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


WidgetLanguage = Literal["auto", "en", "pt", "es", "fr", "de", "it", "nl", "pl", "ja"]


class WidgetAppearanceRead(BaseModel):
    position: Literal["bottom-right", "bottom-left"]
    color: str
    greeting: dict[str, str] = Field(description="Greeting per language; empty uses the default.")
    language: WidgetLanguage
    launcher_label: str | None
    open_on_load: bool


class WidgetAppearanceUpdate(WriteModel):
    position: Literal["bottom-right", "bottom-left"] | None = None
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    greeting: dict[str, Annotated[str, Field(max_length=500)]] | None = None
    language: WidgetLanguage | None = None
    launcher_label: str | None = Field(None, max_length=40)
    open_on_load: bool | None = None


class WidgetCode(BaseModel):
    tenant_id: uuid.UUID
    script_tag: str
    bundle_url: str
    widget_key: str | None
    allowed_origins: list[str]
    loader_tag: str | None = Field(
        None, description="The legacy loader tag, for sites that embed with a key."
    )
