"""The reports behind the analytics API, the Customer Portal's dashboard and Mission Control's
overview: the service's counts (analytics/service.py) shaped as the API's schemas."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bob.analytics import service as analytics
from bob.analytics.schemas import (
    BusinessMetrics,
    ConversationStats,
    CreditsRead,
    DayRead,
    DeliveryStats,
    MessageStats,
    PlatformOverview,
    TenantActivityRead,
    TenantCounts,
    WindowRead,
)
from bob.billing import metering
from bob.db.types import utcnow
from bob.tenants.models import Tenant


def _stats(counts: analytics.ConversationCounts) -> ConversationStats:
    return ConversationStats(
        total=counts.total,
        ai_resolved=counts.ai_resolved,
        handed_off=counts.handed_off,
        open=counts.open,
        ai_resolved_share=counts.share(counts.ai_resolved),
        handed_off_share=counts.share(counts.handed_off),
    )


def _window(window: analytics.Window) -> WindowRead:
    return WindowRead(start=window.start, end=window.end, days=window.days)


def _days(rows: list[analytics.Day]) -> list[DayRead]:
    return [DayRead.model_validate(d, from_attributes=True) for d in rows]


async def _conversations(
    session: AsyncSession, tenant_id: uuid.UUID | None, window: analytics.Window
) -> ConversationStats:
    counts = await analytics.conversation_counts(
        session=session, tenant_id=tenant_id, start=window.start, now=window.end
    )
    return _stats(counts)


async def business_metrics(
    session: AsyncSession, tenant: Tenant, window: analytics.Window
) -> BusinessMetrics:
    """Also behind the Customer Portal's dashboard."""
    today = analytics.Window.last_days(1, window.end)
    usage = await metering.usage(session=session, tenant_id=tenant.id)
    return BusinessMetrics(
        tenant_id=tenant.id,
        business_id=tenant.business_id,
        name=tenant.name,
        plan=tenant.plan,
        window=_window(window),
        today=await _conversations(session, tenant.id, today),
        conversations=await _conversations(session, tenant.id, window),
        messages=MessageStats(
            **await analytics.message_counts(session=session, tenant_id=tenant.id, window=window)
        ),
        credits=CreditsRead(
            period_start=usage.subscription.period_start,
            period_end=usage.subscription.period_end,
            included=usage.included,
            used=usage.used,
            adjustments=usage.adjustments,
            remaining=usage.remaining,
            overage=usage.overage,
        ),
        daily=_days(await analytics.daily(session=session, tenant_id=tenant.id, window=window)),
    )


async def overview(session: AsyncSession, days: int) -> PlatformOverview:
    """Also behind Mission Control's overview page."""
    now = utcnow()
    window = analytics.Window.last_days(days, now)
    today = analytics.Window.last_days(1, now)
    rows = await analytics.daily(session=session, tenant_id=None, window=window)
    deliveries = await analytics.delivery_counts(session=session, window=window)
    ended = deliveries["succeeded"] + deliveries["failed"]
    return PlatformOverview(
        window=_window(window),
        tenants=TenantCounts(**await analytics.tenant_counts(session=session)),
        today=await _conversations(session, None, today),
        conversations=await _conversations(session, None, window),
        messages=MessageStats(
            **await analytics.message_counts(session=session, tenant_id=None, window=window)
        ),
        credits_used=sum(d.credits for d in rows),
        webhooks=DeliveryStats(
            **deliveries,
            failure_rate=round(deliveries["failed"] / ended, 4) if ended else 0.0,
        ),
        busiest_tenants=[
            TenantActivityRead.model_validate(t, from_attributes=True)
            for t in await analytics.busiest_tenants(session=session, window=window)
        ],
        daily=_days(rows),
    )
