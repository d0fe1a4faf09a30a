from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from bob.anonymous.service import MAX_PER_DAY, MAX_PER_MINUTE


class Ceiling(BaseModel):
    limit: int = Field(description="What applies now: the business's own value, else the plan's.")
    override: int | None = Field(description="The business's own value; null uses the plan's.")
    plan_default: int


class AnonymousLimitsRead(BaseModel):
    plan: str
    replies_per_minute: Ceiling
    replies_per_day: Ceiling
    challenge: bool = Field(
        description="Whether a new conversation on doors 1 and 2 must first solve a "
        "proof-of-work challenge (header X-Altcha)."
    )


class AnonymousLimitsUpdate(BaseModel):
    """Fields left out keep their value; a null ceiling goes back to the plan's default."""

    model_config = ConfigDict(extra="forbid")

    replies_per_minute: StrictInt | None = Field(None, ge=1, le=MAX_PER_MINUTE)
    replies_per_day: StrictInt | None = Field(None, ge=1, le=MAX_PER_DAY)
    challenge: StrictBool = False


class ChallengeRead(BaseModel):
    """An ALTCHA v2 challenge: find a counter whose SHA-256 key starts with `keyPrefix`."""

    parameters: dict[str, Any]
    signature: str
