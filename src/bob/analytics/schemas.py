from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class WindowRead(BaseModel):
    start: datetime = Field(description="Start of the first UTC day counted.")
    end: datetime = Field(description="Now: the window runs up to the moment of the request.")
    days: int


class ConversationStats(BaseModel):
    total: int = Field(description="Conversations started in the window.")
    ai_resolved: int = Field(
        description="Closed, or idle for 24 hours, without a person being asked for."
    )
    handed_off: int = Field(description="A person was asked for (by the visitor, Bob or the team).")
    open: int = Field(description="Neither yet: active within the last 24 hours, no handoff.")
    ai_resolved_share: float = Field(description="ai_resolved / total (0 when there are none).")
    handed_off_share: float


class MessageStats(BaseModel):
    visitor: int
    assistant: int
    operator: int


class DayRead(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD.")
    conversations: int
    handed_off: int
    credits: int = Field(description="Credits charged that day (usage and overage).")


class CreditsRead(BaseModel):
    period_start: datetime
    period_end: datetime
    included: int
    used: int
    adjustments: int
    remaining: int
    overage: int


class BusinessMetrics(BaseModel):
    tenant_id: uuid.UUID
    business_id: str
    name: str
    plan: str
    window: WindowRead
    today: ConversationStats = Field(description="Conversations started today (UTC).")
    conversations: ConversationStats
    messages: MessageStats
    credits: CreditsRead = Field(description="The current billing period.")
    daily: list[DayRead]


class TenantActivityRead(BaseModel):
    tenant_id: uuid.UUID
    business_id: str
    name: str
    conversations: int


class TenantCounts(BaseModel):
    total: int
    by_status: dict[str, int]
    by_plan: dict[str, int]


class DeliveryStats(BaseModel):
    pending: int
    succeeded: int
    failed: int
    failure_rate: float = Field(description="failed / (succeeded + failed), 0 when none ended.")


class PlatformOverview(BaseModel):
    window: WindowRead
    tenants: TenantCounts
    today: ConversationStats
    conversations: ConversationStats
    messages: MessageStats
    credits_used: int = Field(description="Credits charged across tenants in the window.")
    webhooks: DeliveryStats = Field(description="Webhook deliveries created in the window.")
    busiest_tenants: list[TenantActivityRead]
    daily: list[DayRead]
