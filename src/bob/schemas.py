"""What the request schemas of every domain share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WriteModel(BaseModel):
    """A request body. A field it does not name is refused (422 naming the field) rather than
    ignored, so a misspelt or unsupported field never looks as if it had worked."""

    model_config = ConfigDict(extra="forbid")
