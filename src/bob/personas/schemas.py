from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from bob.schemas import WriteModel

# The published persona object spells it `systemPrompt`; `system_prompt` is accepted too.

# Trimmed before the length check, so a name of only spaces is refused rather than stored empty.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class PersonaCreate(WriteModel):
    name: Name
    description: str = Field("", max_length=2000)
    tone: str = Field("", max_length=200)
    system_prompt: str = Field(
        "",
        validation_alias=AliasChoices("systemPrompt", "system_prompt"),
        max_length=8000,
    )


class PersonaUpdate(WriteModel):
    name: Name | None = None
    description: str | None = Field(None, max_length=2000)
    tone: str | None = Field(None, max_length=200)
    system_prompt: str | None = Field(
        None,
        validation_alias=AliasChoices("systemPrompt", "system_prompt"),
        max_length=8000,
    )


class PersonaRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    name: str
    description: str
    tone: str
    system_prompt: str = Field(serialization_alias="systemPrompt")
    is_default: bool
    created_at: datetime
    updated_at: datetime


class PersonaPage(BaseModel):
    items: list[PersonaRead]
    next_cursor: str | None
