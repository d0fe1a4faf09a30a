"""How much anonymous traffic a business accepts: ceilings per tenant and per visitor on doors 1
and 2 together, and the optional proof-of-work challenge for a new conversation.

Every message these doors accept counts against the tenant's ceilings, whether Bob or a person
answers it. The defaults come from the plan (PLAN_DEFAULTS, documented in docs/billing.md); a
tenant may set its own per minute and per day. Counters live in the rate limiter's storage:
memory in one process, Redis when BOB_REDIS_URL is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.anonymous.models import AnonymousDoorSettings
from bob.audit import Actor
from bob.errors import ValidationFailed
from bob.tenants.models import Tenant


@dataclass(frozen=True)
class Ceilings:
    per_minute: int
    per_day: int


# Published versions of the pricebook never change, so these live beside it rather than in it.
# A day's ceiling times the cheapest reply (1 credit) drains a month's credits in no less than
# two weeks.
PLAN_DEFAULTS: dict[str, Ceilings] = {
    "starter": Ceilings(per_minute=30, per_day=1_000),
    "pro": Ceilings(per_minute=120, per_day=5_000),
    "enterprise": Ceilings(per_minute=600, per_day=20_000),
}
MAX_PER_MINUTE = 10_000
MAX_PER_DAY = 10_000_000
_FIELDS = ("replies_per_minute", "replies_per_day", "challenge")


def plan_defaults(plan: str) -> Ceilings:
    return PLAN_DEFAULTS.get(plan, PLAN_DEFAULTS["starter"])


@dataclass(frozen=True)
class DoorLimits:
    """What applies to a tenant now: the plan's defaults, its own overrides, the challenge."""

    plan: str
    defaults: Ceilings
    per_minute_override: int | None
    per_day_override: int | None
    challenge: bool

    @property
    def per_minute(self) -> int:
        return self.per_minute_override or self.defaults.per_minute

    @property
    def per_day(self) -> int:
        return self.per_day_override or self.defaults.per_day


def _limits(tenant: Tenant, row: AnonymousDoorSettings | None) -> DoorLimits:
    return DoorLimits(
        plan=tenant.plan,
        defaults=plan_defaults(tenant.plan),
        per_minute_override=row.replies_per_minute if row else None,
        per_day_override=row.replies_per_day if row else None,
        challenge=bool(row and row.challenge),
    )


async def get_limits(*, session: AsyncSession, tenant: Tenant) -> DoorLimits:
    row = await session.get(AnonymousDoorSettings, tenant.id)
    return _limits(tenant, row)


def _check(field: str, value: Any, most: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        raise ValidationFailed(
            f"{field}: a whole number from 1 to {most:,}, or null for the plan's default",
            fields=[{"field": field, "message": f"from 1 to {most}, or null"}],
        )
    return value


async def update_limits(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    changes: dict[str, Any],
) -> DoorLimits:
    """Apply the fields present in `changes` (null ceilings go back to the plan's default)."""
    unknown = sorted(set(changes) - set(_FIELDS))
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown field; use {', '.join(_FIELDS)}")
    wanted: dict[str, Any] = {}
    if "replies_per_minute" in changes:
        wanted["replies_per_minute"] = _check(
            "replies_per_minute", changes["replies_per_minute"], MAX_PER_MINUTE
        )
    if "replies_per_day" in changes:
        wanted["replies_per_day"] = _check(
            "replies_per_day", changes["replies_per_day"], MAX_PER_DAY
        )
    if "challenge" in changes:
        if not isinstance(changes["challenge"], bool):
            raise ValidationFailed("challenge: true or false")
        wanted["challenge"] = changes["challenge"]
    row = await session.get(AnonymousDoorSettings, tenant.id)
    if row is None:
        row = AnonymousDoorSettings(
            tenant_id=tenant.id, replies_per_minute=None, replies_per_day=None, challenge=False
        )
        session.add(row)
    changed = {
        name: [getattr(row, name), value]
        for name, value in wanted.items()
        if getattr(row, name) != value
    }
    for name, value in wanted.items():
        setattr(row, name, value)
    await session.flush()
    if changed:
        await audit.record(
            session,
            tenant.id,
            actor,
            "widget.limits_updated",
            target=("tenant", tenant.id),
            data=changed,
        )
    return _limits(tenant, row)
