"""Plans and credits: the versioned pricebook, subscriptions, the credit ledger, seats.

Money and credits are integers. A period's balance is the sum of its ledger entries (overage
entries are billed separately and never count against it). Charging a reply happens in the
transaction that stores the reply, under a lock on the subscription row (PostgreSQL) or the
single SQLite writer, so two visitors writing at once can never take a balance below zero.
"""

from __future__ import annotations

import calendar
import math
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob.auth.models import User
from bob.billing.models import CreditEntry, PricebookVersion, Subscription
from bob.db.types import utcnow
from bob.engines.base import EngineResult
from bob.errors import Conflict, NotFound, ValidationFailed
from bob.governance import audit
from bob.governance.audit import Actor
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks import outbox

PLAN_CODES = ("starter", "pro", "enterprise")
AT_ZERO = ("handoff", "message_only", "overage")
THRESHOLD_PERCENT = 80  # credits.threshold_reached once this share of the credits is used
LOW_CREDITS_PERCENT = 10  # credits.low, unless the tenant set its own threshold
MAX_LOW_CREDITS_THRESHOLD = 10_000_000
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

# What counts as an integration (webhook endpoints; later, channel connectors). Each domain
# supplies its own count, and the plan's limit applies to their sum.
IntegrationCounter = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]
INTEGRATION_COUNTERS: list[IntegrationCounter] = [outbox.count_endpoints]


@dataclass(frozen=True)
class PlanTerms:
    code: str
    name: str
    monthly_price_cents: int
    included_credits: int
    seats: int | None  # None: unlimited
    integrations: int
    support: str


def terms_of(version: PricebookVersion) -> dict[str, PlanTerms]:
    return {p["code"]: PlanTerms(**p) for p in version.plans}


# ---- the pricebook -------------------------------------------------------------------------


MAX_VERSION = 2**31 - 1  # pricebook_versions.version is an INTEGER


def check_plans(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A version lists exactly the plans Bob sells, each with whole, non-negative numbers."""
    if not isinstance(plans, list) or not plans:
        raise ValidationFailed("plans: a non-empty list is required")
    cleaned: list[dict[str, Any]] = []
    for index, plan in enumerate(plans):
        where = f"plans[{index}]"
        if not isinstance(plan, dict):
            raise ValidationFailed(f"{where}: must be an object")
        code = plan.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValidationFailed(f"{where}.code: a lowercase plan code is required")
        name = plan.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 60:
            raise ValidationFailed(f"{where}.name: 1 to 60 characters")
        numbers = {}
        for field in ("monthly_price_cents", "included_credits", "integrations"):
            value = plan.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationFailed(f"{where}.{field}: a whole number of at least 0")
            numbers[field] = value
        seats = plan.get("seats")
        if seats is not None and (
            not isinstance(seats, int) or isinstance(seats, bool) or seats < 1
        ):
            raise ValidationFailed(f"{where}.seats: a whole number of at least 1, or null")
        support = plan.get("support")
        if not isinstance(support, str) or not support.strip() or len(support) > 40:
            raise ValidationFailed(f"{where}.support: 1 to 40 characters")
        cleaned.append(
            {
                "code": code,
                "name": name.strip(),
                **numbers,
                "seats": seats,
                "support": support.strip(),
            }
        )
    codes = [p["code"] for p in cleaned]
    if sorted(codes) != sorted(PLAN_CODES) or len(set(codes)) != len(codes):
        raise ValidationFailed(
            f"plans: must list each of {', '.join(PLAN_CODES)} exactly once "
            f"(got {', '.join(codes)})"
        )
    by_code = {p["code"]: p for p in cleaned}
    return [by_code[code] for code in PLAN_CODES]


async def published_version(*, session: AsyncSession) -> PricebookVersion:
    version = await session.scalar(
        select(PricebookVersion).where(PricebookVersion.status == "published")
    )
    if version is None:
        raise NotFound("no pricebook version is published")
    return version


async def get_version(*, session: AsyncSession, version: int) -> PricebookVersion:
    # A number past the column's range names no version, and the database would refuse it.
    in_range = 1 <= version <= MAX_VERSION
    row = await session.get(PricebookVersion, version) if in_range else None
    if row is None:
        raise NotFound(f"no pricebook version {version}")
    return row


async def list_versions(*, session: AsyncSession) -> list[PricebookVersion]:
    rows = await session.scalars(select(PricebookVersion).order_by(PricebookVersion.version.desc()))
    return list(rows)


async def _platform_tenant(session: AsyncSession, settings: Settings) -> Tenant:
    tenant = await session.scalar(
        select(Tenant).where(Tenant.business_id == settings.platform_business_id)
    )
    if tenant is None:
        raise NotFound("the platform tenant is missing; run `bob migrate`")
    return tenant


async def _record_platform(
    session: AsyncSession, settings: Settings, actor: Actor, action: str, version: int, **data: Any
) -> None:
    platform = await _platform_tenant(session, settings)
    await audit.record(
        session, platform.id, actor, action, target=("pricebook_version", str(version)), data=data
    )


async def create_draft(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    plans: list[dict[str, Any]],
    currency: str = "USD",
) -> PricebookVersion:
    cleaned = check_plans(plans)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValidationFailed("currency: a three-letter ISO code such as USD")
    latest = await session.scalar(select(func.max(PricebookVersion.version)))
    draft = PricebookVersion(
        version=(latest or 0) + 1, status="draft", currency=currency, plans=cleaned
    )
    session.add(draft)
    await session.flush()
    await _record_platform(session, settings, actor, "pricebook.draft_created", draft.version)
    return draft


async def update_draft(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    version: int,
    plans: list[dict[str, Any]],
) -> PricebookVersion:
    draft = await get_version(session=session, version=version)
    if draft.status != "draft":
        raise Conflict(
            f"pricebook version {version} is {draft.status}; published versions never change, "
            "create a new draft instead",
            code="pricebook_immutable",
        )
    draft.plans = check_plans(plans)
    await session.flush()
    await _record_platform(session, settings, actor, "pricebook.draft_updated", version)
    return draft


async def publish(
    *, session: AsyncSession, settings: Settings, actor: Actor, version: int
) -> PricebookVersion:
    """Publish a draft: it prices new subscriptions now and every tenant at its next renewal."""
    draft = await get_version(session=session, version=version)
    if draft.status != "draft":
        raise Conflict(f"pricebook version {version} is {draft.status}, not a draft")
    now = utcnow()
    current = await session.scalar(
        select(PricebookVersion).where(PricebookVersion.status == "published").with_for_update()
    )
    if current is not None:
        current.status, current.archived_at = "archived", now
        await session.flush()  # the one-published index must see the old one go first
    draft.status, draft.published_at = "published", now
    await session.flush()
    await _record_platform(
        session,
        settings,
        actor,
        "pricebook.published",
        version,
        replaced=current.version if current else None,
    )
    await outbox.emit(
        session=session,
        tenant=await _platform_tenant(session, settings),
        type="pricebook.published",
        data={"pricebook": {"version": version, "plans": draft.plans}},
    )
    return draft


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
