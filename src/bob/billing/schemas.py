from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from bob.schemas import WriteModel


class PlanRead(BaseModel):
    code: str
    name: str
    monthly_price_cents: int
    included_credits: int
    seats: int | None = Field(description="null means unlimited")
    integrations: int
    support: str


class PricebookRead(BaseModel):
    version: int
    status: str
    currency: str
    published_at: datetime | None
    plans: list[PlanRead]


class PricebookPage(BaseModel):
    items: list[PricebookRead]
    next_cursor: str | None = None


class PricebookDraft(WriteModel):
    plans: list[dict[str, Any]]
    currency: str = Field("USD", min_length=3, max_length=3)


class PricebookDraftUpdate(WriteModel):
    plans: list[dict[str, Any]]


class Counter(BaseModel):
    used: int
    limit: int | None


class CreditsRead(BaseModel):
    included: int
    used: int
    adjustments: int
    remaining: int
    overage: int


class BillingRead(BaseModel):
    plan: str
    plan_name: str
    pending_plan: str | None
    pricebook_version: int
    period_start: datetime
    period_end: datetime
    credits: CreditsRead
    seats: Counter
    integrations: Counter
    at_zero: str


class PlanChange(WriteModel):
    plan: Literal["starter", "pro", "enterprise"]


class BillingSettings(WriteModel):
    at_zero: Literal["handoff", "message_only", "overage"]


class LowCreditsRead(BaseModel):
    low_credits_threshold: int | None = Field(
        description="The business's own threshold in credits; null uses the plan's default."
    )
    default_threshold: int = Field(description="10% of the plan's monthly credits.")
    threshold: int = Field(description="The threshold that applies now.")
    remaining: int = Field(description="The current period's balance.")
    low: bool = Field(description="Whether the balance is at or below the threshold.")


class LowCreditsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low_credits_threshold: StrictInt | None = Field(
        description="credits.low fires when the balance falls to this many credits; null "
        "for 10% of the plan's monthly credits.",
        ge=0,
        le=10_000_000,
    )


class CreditAdjustment(WriteModel):
    delta: int = Field(ge=-10_000_000, le=10_000_000)
    reason: str = Field(min_length=1, max_length=300)


class CreditAdjusted(BaseModel):
    balance: int


class LedgerEntry(BaseModel):
    id: int
    kind: str
    delta: int
    reason: str
    period_start: datetime
    message_id: str | None
    created_at: datetime


class DailyUsage(BaseModel):
    day: str
    credits: int


class UsageRead(BaseModel):
    period_start: datetime
    period_end: datetime
    daily: list[DailyUsage]
    items: list[LedgerEntry]
    next_cursor: str | None
