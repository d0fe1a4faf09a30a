"""Metering replies: what a reply costs, charging it, and the usage a tenant sees.

Charging a reply happens in the transaction that stores the reply, under a lock on the
subscription row (PostgreSQL) or the single SQLite writer, so two visitors writing at once can
never take a balance below zero.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob.billing.models import CreditEntry, Subscription
from bob.billing.pricebook import PlanTerms
from bob.billing.subscriptions import (
    THRESHOLD_PERCENT,
    balance,
    current_subscription,
    integrations_used,
    low_threshold,
    plan_terms,
    seats_used,
)
from bob.db.types import utcnow
from bob.engines.base import EngineResult
from bob.events import outbox
from bob.settings import Settings
from bob.tenants.models import Tenant

# ---- metering replies ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyAllowance:
    allowed: bool
    at_zero: str = "handoff"
    reason: str | None = None


def reply_cost(settings: Settings, result: EngineResult) -> int:
    """1 per extractive reply; ceil(tokens / 1,000) times the model's multiplier, at least 1."""
    if result.engine != "openai":
        return 1
    tokens = result.total_tokens or 0
    return max(1, math.ceil(tokens / 1000) * model_multiplier(settings, result.model))


def model_multiplier(settings: Settings, model: str | None) -> int:
    """The configured multiplier for a model; providers report dated names such as
    `gpt-4o-2024-08-06`, so the longest configured name the reported one starts with counts."""
    table = settings.model_credit_multipliers
    if not model:
        return 1
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name + "-")]
    return table[max(prefixes, key=len)] if prefixes else 1


async def authorize_reply(*, session: AsyncSession, tenant_id: uuid.UUID) -> ReplyAllowance:
    """Before the engine runs: is there anything left to spend (or may it run over)?"""
    subscription = await current_subscription(session=session, tenant_id=tenant_id)
    left = await balance(
        session=session, tenant_id=tenant_id, period_start=subscription.period_start
    )
    if left > 0 or subscription.at_zero == "overage":
        return ReplyAllowance(allowed=True, at_zero=subscription.at_zero)
    return ReplyAllowance(allowed=False, at_zero=subscription.at_zero, reason="credits")


@dataclass(frozen=True)
class Charge:
    allowed: bool
    at_zero: str
    usage: int = 0
    overage: int = 0
    subscription: Subscription | None = None
    balance_before: int = 0


async def reserve(*, session: AsyncSession, tenant_id: uuid.UUID, cost: int) -> Charge:
    """Lock the subscription and decide whether a reply of `cost` may be stored."""
    subscription = await current_subscription(session=session, tenant_id=tenant_id, lock=True)
    left = await balance(
        session=session, tenant_id=tenant_id, period_start=subscription.period_start
    )
    if left >= cost:
        return Charge(True, subscription.at_zero, cost, 0, subscription, left)
    if subscription.at_zero == "overage":
        usage = max(left, 0)
        return Charge(True, "overage", usage, cost - usage, subscription, left)
    return Charge(False, subscription.at_zero, 0, 0, subscription, left)


async def record_charge(
    *,
    session: AsyncSession,
    tenant: Tenant,
    charge: Charge,
    message_id: uuid.UUID | None,
    reason: str = "AI reply",
) -> None:
    """Write the reserved charge and any threshold events, in the reply's transaction.
    `message_id` is None for a reply nobody stored (the portal's answer preview)."""
    subscription = charge.subscription
    if subscription is None or not charge.allowed:
        return
    for kind, amount in (("usage", charge.usage), ("overage", charge.overage)):
        if amount:
            session.add(
                CreditEntry(
                    tenant_id=tenant.id,
                    period_start=subscription.period_start,
                    kind=kind,
                    delta=-amount,
                    reason=reason,
                    message_id=message_id,
                )
            )
    await session.flush()
    left = charge.balance_before - charge.usage
    granted = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(
            CreditEntry.tenant_id == tenant.id,
            CreditEntry.period_start == subscription.period_start,
            CreditEntry.kind.in_(("grant", "adjustment")),
            CreditEntry.delta > 0,
        )
    )
    granted = int(granted or 0)
    now = utcnow()
    # Whole numbers: in floating point 15000 * (1 - 0.8) is 2999.9999..., one credit late.
    reached = left * 100 <= granted * (100 - THRESHOLD_PERCENT)
    threshold = THRESHOLD_PERCENT / 100
    if granted and subscription.threshold_notified_at is None and reached:
        subscription.threshold_notified_at = now
        await outbox.emit(
            session=session,
            tenant=tenant,
            type="credits.threshold_reached",
            data={"credits": {"granted": granted, "remaining": left, "threshold": threshold}},
        )
    terms = await plan_terms(session=session, subscription=subscription)
    low = low_threshold(subscription, terms)
    if charge.balance_before > low:
        # The balance was above the threshold before this reply, whatever happened since the
        # last alert (a top-up, a higher threshold): this is a new crossing.
        subscription.low_credits_notified_at = None
    if left <= low and subscription.low_credits_notified_at is None:
        subscription.low_credits_notified_at = now
        await outbox.emit(
            session=session,
            tenant=tenant,
            type="credits.low",
            data={"credits": {"granted": granted, "remaining": left, "threshold": low}},
        )
    if left <= 0 and subscription.exhausted_notified_at is None:
        subscription.exhausted_notified_at = now
        await outbox.emit(
            session=session,
            tenant=tenant,
            type="credits.exhausted",
            data={"credits": {"granted": granted, "remaining": 0, "at_zero": subscription.at_zero}},
        )
    await session.flush()


# ---- usage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    subscription: Subscription
    terms: PlanTerms
    included: int
    used: int
    adjustments: int
    remaining: int
    overage: int
    seats: int
    integrations: int


async def usage(*, session: AsyncSession, tenant_id: uuid.UUID) -> Usage:
    subscription = await current_subscription(session=session, tenant_id=tenant_id)
    terms = await plan_terms(session=session, subscription=subscription)
    rows = await session.execute(
        select(CreditEntry.kind, func.sum(CreditEntry.delta))
        .where(
            CreditEntry.tenant_id == tenant_id,
            CreditEntry.period_start == subscription.period_start,
        )
        .group_by(CreditEntry.kind)
    )
    sums = {kind: int(total or 0) for kind, total in rows}
    return Usage(
        subscription=subscription,
        terms=terms,
        included=sums.get("grant", 0),
        used=-sums.get("usage", 0),
        adjustments=sums.get("adjustment", 0),
        remaining=sums.get("grant", 0)
        + sums.get("usage", 0)
        + sums.get("adjustment", 0)
        + sums.get("reset", 0),
        overage=-sums.get("overage", 0),
        seats=await seats_used(session=session, tenant_id=tenant_id),
        integrations=await integrations_used(session=session, tenant_id=tenant_id),
    )


async def daily_usage(
    *, session: AsyncSession, tenant_id: uuid.UUID, period_start: datetime
) -> list[tuple[str, int]]:
    rows = await session.scalars(
        select(CreditEntry).where(
            CreditEntry.tenant_id == tenant_id,
            CreditEntry.period_start == period_start,
            CreditEntry.kind.in_(("usage", "overage")),
        )
    )
    days: dict[str, int] = {}
    for entry in rows:
        day = entry.created_at.date().isoformat()
        days[day] = days.get(day, 0) - entry.delta
    return sorted(days.items())


async def ledger(
    *, session: AsyncSession, tenant_id: uuid.UUID, limit: int, before_id: int | None
) -> list[CreditEntry]:
    query = select(CreditEntry).where(CreditEntry.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(CreditEntry.id < before_id)
    return list(await session.scalars(query.order_by(CreditEntry.id.desc()).limit(limit + 1)))
