from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


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


class PricebookDraft(BaseModel):
    plans: list[dict[str, Any]]
    currency: str = Field("USD", min_length=3, max_length=3)


class PricebookDraftUpdate(BaseModel):
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


class PlanChange(BaseModel):
    plan: Literal["starter", "pro", "enterprise"]


class BillingSettings(BaseModel):
    at_zero: Literal["handoff", "message_only", "overage"]


class CreditAdjustment(BaseModel):
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
