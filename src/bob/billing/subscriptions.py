"""Subscriptions and their monthly periods, plan changes, the low-credits alert, seats and
integrations against the plan's terms.

Money and credits are integers. A period's balance is the sum of its ledger entries (overage
entries are billed separately and never count against it).
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.auth.models import User
from bob.billing.models import CreditEntry, Subscription
from bob.billing.pricebook import PLAN_CODES, PlanTerms, get_version, published_version, terms_of
from bob.db.types import utcnow
from bob.errors import Conflict, NotFound, ValidationFailed
from bob.events import outbox
from bob.tenants.models import Tenant

AT_ZERO = ("handoff", "message_only", "overage")
THRESHOLD_PERCENT = 80  # credits.threshold_reached once this share of the credits is used
LOW_CREDITS_PERCENT = 10  # credits.low, unless the tenant set its own threshold
MAX_LOW_CREDITS_THRESHOLD = 10_000_000

# What counts as an integration (webhook endpoints; later, channel connectors). Each domain
# supplies its own count, and the plan's limit applies to their sum.
IntegrationCounter = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]
INTEGRATION_COUNTERS: list[IntegrationCounter] = [outbox.count_endpoints]


# ---- subscriptions and periods -------------------------------------------------------------


def add_months(anchor: datetime, months: int) -> datetime:
    """The same day of the month `months` later, or the month's last day when it is shorter."""
    total = anchor.month - 1 + months
    year, month = anchor.year + total // 12, total % 12 + 1
    return anchor.replace(
        year=year, month=month, day=min(anchor.day, calendar.monthrange(year, month)[1])
    )


async def start_subscription(*, session: AsyncSession, tenant: Tenant, plan: str) -> Subscription:
    version = await published_version(session=session)
    terms = terms_of(version)
    if plan not in terms:
        raise ValidationFailed(f"plan: must be one of {', '.join(terms)}")
    now = utcnow()
    subscription = Subscription(
        tenant_id=tenant.id,
        plan=plan,
        pricebook_version=version.version,
        started_at=now,
        period_index=0,
        period_start=now,
        period_end=add_months(now, 1),
        at_zero="handoff",
    )
    session.add(subscription)
    session.add(
        CreditEntry(
            tenant_id=tenant.id,
            period_start=now,
            kind="grant",
            delta=terms[plan].included_credits,
            reason=f"{plan} plan, pricebook v{version.version}",
        )
    )
    await session.flush()
    return subscription


async def balance(*, session: AsyncSession, tenant_id: uuid.UUID, period_start: datetime) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(
            CreditEntry.tenant_id == tenant_id,
            CreditEntry.period_start == period_start,
            CreditEntry.kind != "overage",
        )
    )
    return int(total or 0)


async def current_subscription(
    *, session: AsyncSession, tenant_id: uuid.UUID, lock: bool = False
) -> Subscription:
    """The subscription, renewed first if its period has ended (locked when `lock`)."""
    query = select(Subscription).where(Subscription.tenant_id == tenant_id)
    subscription = await session.scalar(query.with_for_update() if lock else query)
    if subscription is None:
        raise NotFound("this business has no subscription")
    now = utcnow()
    if subscription.period_end <= now:
        if not lock:  # renew under the lock, so two requests never renew twice
            subscription = await session.scalar(
                query.with_for_update().execution_options(populate_existing=True)
            )
            assert subscription is not None
        if subscription.period_end <= now:
            await _renew(session, subscription, now)
    return subscription


async def _renew(session: AsyncSession, subscription: Subscription, now: datetime) -> None:
    """Close the ended period(s) and open the current one, priced on the published version."""
    version = await published_version(session=session)
    terms = terms_of(version)
    left = await balance(
        session=session, tenant_id=subscription.tenant_id, period_start=subscription.period_start
    )
    if left:
        # Unused credits do not carry over: the closing period ends at zero, visibly.
        session.add(
            CreditEntry(
                tenant_id=subscription.tenant_id,
                period_start=subscription.period_start,
                kind="reset",
                delta=-left,
                reason="period ended",
            )
        )
    while subscription.period_end <= now:
        subscription.period_index += 1
        subscription.period_start = subscription.period_end
        subscription.period_end = add_months(subscription.started_at, subscription.period_index + 1)
    kept = ""
    if subscription.pending_plan is not None:
        # Members may have been added since the downgrade was scheduled; a plan the business
        # no longer fits into is not forced on it: it stays, and the period's grant says why.
        wanted = terms[subscription.pending_plan]
        seats = await seats_used(session=session, tenant_id=subscription.tenant_id)
        integrations = await integrations_used(session=session, tenant_id=subscription.tenant_id)
        if (wanted.seats is None or seats <= wanted.seats) and integrations <= wanted.integrations:
            subscription.plan = subscription.pending_plan
        else:
            kept = (
                f"; kept instead of {wanted.code}: {seats} members and {integrations} "
                f"integrations exceed it"
            )
        subscription.pending_plan = None
    subscription.pricebook_version = version.version
    subscription.threshold_notified_at = None
    subscription.exhausted_notified_at = None
    subscription.low_credits_notified_at = None
    tenant = await session.get(Tenant, subscription.tenant_id)
    if tenant is not None:
        tenant.plan = subscription.plan
    session.add(
        CreditEntry(
            tenant_id=subscription.tenant_id,
            period_start=subscription.period_start,
            kind="grant",
            delta=terms[subscription.plan].included_credits,
            reason=f"{subscription.plan} plan, pricebook v{version.version}{kept}",
        )
    )
    await session.flush()


async def plan_terms(*, session: AsyncSession, subscription: Subscription) -> PlanTerms:
    version = await get_version(session=session, version=subscription.pricebook_version)
    return terms_of(version)[subscription.plan]


# ---- the low-credits alert -----------------------------------------------------------------


def default_low_threshold(terms: PlanTerms) -> int:
    return terms.included_credits * LOW_CREDITS_PERCENT // 100


def low_threshold(subscription: Subscription, terms: PlanTerms) -> int:
    """The balance at or below which credits count as low (credits.low, the portal's banner)."""
    if subscription.low_credits_threshold is not None:
        return subscription.low_credits_threshold
    return default_low_threshold(terms)


@dataclass(frozen=True)
class LowCredits:
    threshold: int
    custom: int | None  # the tenant's own threshold; None while the plan's default applies
    default: int
    remaining: int

    @property
    def low(self) -> bool:
        return self.remaining <= self.threshold


async def low_credits(*, session: AsyncSession, tenant_id: uuid.UUID) -> LowCredits:
    subscription = await current_subscription(session=session, tenant_id=tenant_id)
    terms = await plan_terms(session=session, subscription=subscription)
    remaining = await balance(
        session=session, tenant_id=tenant_id, period_start=subscription.period_start
    )
    return LowCredits(
        threshold=low_threshold(subscription, terms),
        custom=subscription.low_credits_threshold,
        default=default_low_threshold(terms),
        remaining=remaining,
    )


async def low_credits_notice(session: AsyncSession, tenant_id: uuid.UUID) -> LowCredits | None:
    """The portal's banner: the tenant's credits when they are low, else None (also for a tenant
    without a subscription, which has no credits to run low on)."""
    try:
        state = await low_credits(session=session, tenant_id=tenant_id)
    except NotFound:
        return None
    return state if state.low else None


async def set_low_credits_threshold(
    *,
    session: AsyncSession,
    actor: Actor,
    tenant_id: uuid.UUID,
    threshold: int | None,
) -> LowCredits:
    """The tenant's own threshold for credits.low, or None for the plan's default."""
    if threshold is not None and (
        not isinstance(threshold, int)
        or isinstance(threshold, bool)
        or not 0 <= threshold <= MAX_LOW_CREDITS_THRESHOLD
    ):
        raise ValidationFailed(
            f"low_credits_threshold: a whole number of credits from 0 to "
            f"{MAX_LOW_CREDITS_THRESHOLD:,}, or null for {LOW_CREDITS_PERCENT}% of the plan's"
        )
    subscription = await current_subscription(session=session, tenant_id=tenant_id, lock=True)
    if subscription.low_credits_threshold != threshold:
        before = subscription.low_credits_threshold
        subscription.low_credits_threshold = threshold
        await session.flush()
        await audit.record(
            session,
            tenant_id,
            actor,
            "billing.alerts_updated",
            target=("subscription", tenant_id),
            data={"low_credits_threshold": [before, threshold]},
        )
    return await low_credits(session=session, tenant_id=tenant_id)


# ---- seats and integrations ----------------------------------------------------------------


async def seats_used(*, session: AsyncSession, tenant_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.tenant_id == tenant_id, User.is_active.is_(True))
    )
    return int(count or 0)


async def integrations_used(*, session: AsyncSession, tenant_id: uuid.UUID) -> int:
    return sum([await count(session, tenant_id) for count in INTEGRATION_COUNTERS])


async def check_seat_available(*, session: AsyncSession, tenant_id: uuid.UUID) -> None:
    # Under the subscription lock (held until the caller commits), so two members added at
    # once cannot both take the last seat.
    subscription = await current_subscription(session=session, tenant_id=tenant_id, lock=True)
    terms = await plan_terms(session=session, subscription=subscription)
    if (
        terms.seats is not None
        and await seats_used(session=session, tenant_id=tenant_id) >= terms.seats
    ):
        raise Conflict(
            f"the {terms.name} plan includes {terms.seats} team seats and all are taken; "
            "upgrade the plan or remove a member first",
            code="seat_limit",
        )


async def check_integration_available(*, session: AsyncSession, tenant_id: uuid.UUID) -> None:
    subscription = await current_subscription(session=session, tenant_id=tenant_id, lock=True)
    terms = await plan_terms(session=session, subscription=subscription)
    if await integrations_used(session=session, tenant_id=tenant_id) >= terms.integrations:
        raise Conflict(
            f"the {terms.name} plan includes {terms.integrations} integrations and all are in "
            "use; upgrade the plan or remove one first",
            code="integration_limit",
        )


# ---- plan changes --------------------------------------------------------------------------


async def change_plan(
    *,
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    plan: str,
) -> Subscription:
    """Upgrades apply now (with the extra credits); downgrades wait for the renewal."""
    if plan not in PLAN_CODES:
        raise ValidationFailed(f"plan: must be one of {', '.join(PLAN_CODES)}")
    subscription = await current_subscription(session=session, tenant_id=tenant.id, lock=True)
    version = await get_version(session=session, version=subscription.pricebook_version)
    terms = terms_of(version)
    old, new = terms[subscription.plan], terms[plan]
    if plan == subscription.plan:
        if subscription.pending_plan is not None:
            subscription.pending_plan = None  # staying put cancels a scheduled downgrade
            await session.flush()
            await audit.record(
                session,
                tenant.id,
                actor,
                "billing.downgrade_cancelled",
                target=("subscription", tenant.id),
                data={"plan": plan},
            )
        return subscription
    if new.monthly_price_cents > old.monthly_price_cents:
        subscription.plan, subscription.pending_plan = plan, None
        tenant.plan = plan
        extra = new.included_credits - old.included_credits
        if extra > 0:
            session.add(
                CreditEntry(
                    tenant_id=tenant.id,
                    period_start=subscription.period_start,
                    kind="grant",
                    delta=extra,
                    reason=f"upgrade from {old.code} to {new.code}",
                    actor_label=actor.label,
                )
            )
        await session.flush()
        await audit.record(
            session,
            tenant.id,
            actor,
            "billing.plan_upgraded",
            target=("subscription", tenant.id),
            data={"from": old.code, "to": new.code},
        )
        return subscription
    seats = await seats_used(session=session, tenant_id=tenant.id)
    integrations = await integrations_used(session=session, tenant_id=tenant.id)
    over = []
    if new.seats is not None and seats > new.seats:
        over.append(f"{seats} team members (the {new.name} plan allows {new.seats})")
    if integrations > new.integrations:
        over.append(f"{integrations} integrations (the {new.name} plan allows {new.integrations})")
    if over:
        raise Conflict(
            f"cannot move to {new.name}: the business uses "
            + " and ".join(over)
            + "; remove some first",
            code="plan_limits",
        )
    subscription.pending_plan = plan
    await session.flush()
    await audit.record(
        session,
        tenant.id,
        actor,
        "billing.downgrade_scheduled",
        target=("subscription", tenant.id),
        data={"from": old.code, "to": new.code, "at": subscription.period_end.isoformat()},
    )
    return subscription


async def set_at_zero(
    *, session: AsyncSession, actor: Actor, tenant_id: uuid.UUID, at_zero: str
) -> Subscription:
    if at_zero not in AT_ZERO:
        raise ValidationFailed(f"at_zero: must be one of {', '.join(AT_ZERO)}")
    subscription = await current_subscription(session=session, tenant_id=tenant_id, lock=True)
    if subscription.at_zero != at_zero:
        before = subscription.at_zero
        subscription.at_zero = at_zero
        await session.flush()
        await audit.record(
            session,
            tenant_id,
            actor,
            "billing.settings_updated",
            target=("subscription", tenant_id),
            data={"at_zero": [before, at_zero]},
        )
    return subscription


async def adjust_credits(
    *,
    session: AsyncSession,
    actor: Actor,
    tenant_id: uuid.UUID,
    delta: int,
    reason: str,
) -> int:
    """A signed adjustment of the current period, kept in the ledger; returns the new balance."""
    if delta == 0:
        raise ValidationFailed("delta: must not be 0")
    if not reason.strip():
        raise ValidationFailed("reason: say why, it is kept in the ledger")
    subscription = await current_subscription(session=session, tenant_id=tenant_id, lock=True)
    now_balance = await balance(
        session=session, tenant_id=tenant_id, period_start=subscription.period_start
    )
    if now_balance + delta < 0:
        raise Conflict(
            f"the balance is {now_balance}; an adjustment of {delta} would take it below zero",
            code="negative_balance",
        )
    session.add(
        CreditEntry(
            tenant_id=tenant_id,
            period_start=subscription.period_start,
            kind="adjustment",
            delta=delta,
            reason=reason.strip(),
            actor_label=actor.label,
        )
    )
    await session.flush()
    await audit.record(
        session,
        tenant_id,
        actor,
        "billing.credits_adjusted",
        target=("subscription", tenant_id),
        data={"delta": delta, "reason": reason.strip()},
    )
    return now_balance + delta
