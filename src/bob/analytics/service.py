"""Numbers behind the dashboards: conversations, how they ended, messages, credits, webhooks.

Definitions (docs/analytics.md): a conversation counts in the window it was *started* in. It is
**handed off** once a person was asked for (`handoff_at` set), **AI-resolved** when it was closed,
or has been idle for 24 hours, without a handoff, and **open** otherwise.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob.billing.models import CreditEntry
from bob.chat.models import Conversation, ConversationStatus, Message
from bob.events.models import DeliveryStatus, WebhookDelivery
from bob.tenants.models import Tenant

AI_RESOLVED_IDLE = timedelta(hours=24)
MAX_DAYS = 366


@dataclass(frozen=True)
class Window:
    """Whole UTC days: from the start of the first day up to `now`."""

    start: datetime
    end: datetime
    days: int

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Window:
        first = datetime.combine(now.date(), time(), tzinfo=UTC) - timedelta(days=days - 1)
        return cls(first, now, days)

    @classmethod
    def between(cls, start: datetime, now: datetime) -> Window:
        first = datetime.combine(start.astimezone(UTC).date(), time(), tzinfo=UTC)
        return cls(first, now, (now.date() - first.date()).days + 1)

    def day_names(self) -> list[str]:
        return [(self.start + timedelta(days=i)).date().isoformat() for i in range(self.days)]


@dataclass(frozen=True)
class ConversationCounts:
    total: int
    ai_resolved: int
    handed_off: int
    open: int

    def share(self, part: int) -> float:
        return round(part / self.total, 4) if self.total else 0.0


@dataclass(frozen=True)
class Day:
    day: str
    conversations: int
    handed_off: int
    credits: int


def _utc_day(column: Any, dialect: str) -> ColumnElement[str]:
    """`YYYY-MM-DD` of a stored UTC timestamp, computed by the database."""
    if dialect == "postgresql":
        # Independent of the session's TimeZone setting.
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps ISO text in UTC


def _tenant_filter(column: Any, tenant_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    return [] if tenant_id is None else [column == tenant_id]


async def conversation_counts(
    *, session: AsyncSession, tenant_id: uuid.UUID | None, start: datetime, now: datetime
) -> ConversationCounts:
    handed_off = Conversation.handoff_at.is_not(None)
    resolved = Conversation.handoff_at.is_(None) & (
        (Conversation.status == ConversationStatus.CLOSED)
        | (Conversation.last_message_at < now - AI_RESOLVED_IDLE)
    )
    total, handed, ai = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((handed_off, 1), else_=0)), 0),
                func.coalesce(func.sum(case((resolved, 1), else_=0)), 0),
            ).where(
                Conversation.created_at >= start,
                Conversation.created_at <= now,
                *_tenant_filter(Conversation.tenant_id, tenant_id),
            )
        )
    ).one()
    total, handed, ai = int(total), int(handed), int(ai)
    return ConversationCounts(total, ai, handed, total - handed - ai)


async def message_counts(
    *, session: AsyncSession, tenant_id: uuid.UUID | None, window: Window
) -> dict[str, int]:
    rows = await session.execute(
        select(Message.role, func.count())
        .where(
            Message.created_at >= window.start,
            Message.created_at <= window.end,
            *_tenant_filter(Message.tenant_id, tenant_id),
        )
        .group_by(Message.role)
    )
    counts = {"visitor": 0, "assistant": 0, "operator": 0}
    for role, count in rows:
        if role in counts:
            counts[role] = int(count)
    return counts


async def daily(*, session: AsyncSession, tenant_id: uuid.UUID | None, window: Window) -> list[Day]:
    """One row per day of the window, days without activity included."""
    dialect = session.get_bind().dialect.name
    day = _utc_day(Conversation.created_at, dialect)
    conversations = await session.execute(
        select(
            day,
            func.count(),
            func.coalesce(func.sum(case((Conversation.handoff_at.is_not(None), 1), else_=0)), 0),
        )
        .where(
            Conversation.created_at >= window.start,
            Conversation.created_at <= window.end,
            *_tenant_filter(Conversation.tenant_id, tenant_id),
        )
        .group_by(day)
    )
    by_day = {d: (int(c), int(h)) for d, c, h in conversations}
    credit_day = _utc_day(CreditEntry.created_at, dialect)
    credits = await session.execute(
        select(credit_day, -func.sum(CreditEntry.delta))
        .where(
            CreditEntry.kind.in_(("usage", "overage")),
            CreditEntry.created_at >= window.start,
            CreditEntry.created_at <= window.end,
            *_tenant_filter(CreditEntry.tenant_id, tenant_id),
        )
        .group_by(credit_day)
    )
    spent = {d: int(total or 0) for d, total in credits}
    return [Day(name, *by_day.get(name, (0, 0)), spent.get(name, 0)) for name in window.day_names()]


# ---- the platform ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantActivity:
    tenant_id: uuid.UUID
    business_id: str
    name: str
    conversations: int


async def tenant_counts(*, session: AsyncSession) -> dict[str, Any]:
    by_status = dict(
        (await session.execute(select(Tenant.status, func.count()).group_by(Tenant.status))).all()
    )
    by_plan = dict(
        (await session.execute(select(Tenant.plan, func.count()).group_by(Tenant.plan))).all()
    )
    return {
        "total": int(sum(by_status.values())),
        "by_status": {str(k): int(v) for k, v in by_status.items()},
        "by_plan": {str(k): int(v) for k, v in by_plan.items()},
    }


async def busiest_tenants(
    *, session: AsyncSession, window: Window, limit: int = 10
) -> list[TenantActivity]:
    count = func.count(Conversation.id).label("conversations")
    rows = await session.execute(
        select(Tenant.id, Tenant.business_id, Tenant.name, count)
        .join(Conversation, Conversation.tenant_id == Tenant.id)
        .where(Conversation.created_at >= window.start, Conversation.created_at <= window.end)
        .group_by(Tenant.id, Tenant.business_id, Tenant.name)
        .order_by(count.desc(), Tenant.business_id)
        .limit(limit)
    )
    return [TenantActivity(i, b, n, int(c)) for i, b, n, c in rows]


async def delivery_counts(*, session: AsyncSession, window: Window) -> dict[str, int]:
    rows = await session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.created_at >= window.start, WebhookDelivery.created_at <= window.end)
        .group_by(WebhookDelivery.status)
    )
    counts = {str(status): int(n) for status, n in rows}
    return {s.value: counts.get(s.value, 0) for s in DeliveryStatus}
