"""What the platform's own Bob says about the plans: knowledge items of the platform tenant
written from a pricebook version, so the chat page at / quotes the published prices.

`bob demo` writes them; publishing a version rewrites them wherever the platform tenant has
them (items tagged `plans`), so no number is ever copied by hand. An admin who deletes them
turns this off.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncSession

from bob.audit import Actor
from bob.billing.models import PricebookVersion
from bob.knowledge import service as knowledge
from bob.settings import Settings
from bob.tenants.models import Tenant

PLANS_TAG = "plans"
TAGS = ("about-bob", PLANS_TAG)
MAX_ITEMS = 100


@dataclass(frozen=True)
class PlanItem:
    title: str
    content: str


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


def _seats(seats: int | None) -> str:
    return "unlimited team seats" if seats is None else f"{seats} team seats"


def plan_items(version: PricebookVersion) -> list[PlanItem]:
    """One item per plan and one overview, titled as visitors ask."""
    # The version's own plan rows, as check_plans keeps them (every field, in plan order).
    terms = [SimpleNamespace(**plan) for plan in version.plans]
    lines = [
        f"{plan.name}: {_money(plan.monthly_price_cents, version.currency)} a month, "
        f"{plan.included_credits:,} AI credits a month, {_seats(plan.seats)}, "
        f"{plan.integrations} integrations, {plan.support} support."
        for plan in terms
    ]
    overview = PlanItem(
        "How much does Bob cost? What plans are there?",
        f"Bob has {len(terms)} plans, paid monthly. "
        + " ".join(lines)
        + " An upgrade applies at once with the extra credits; a downgrade waits for the next "
        "renewal.",
    )
    each = [
        PlanItem(
            f"How much is the {plan.name} plan?",
            f"The {plan.name} plan costs {_money(plan.monthly_price_cents, version.currency)} a "
            f"month. It includes {plan.included_credits:,} AI credits every month, "
            f"{_seats(plan.seats)}, {plan.integrations} integrations and {plan.support} support.",
        )
        for plan in terms
    ]
    return [overview, *each]


async def refresh(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    tenant: Tenant,
    version: PricebookVersion,
    create: bool,
) -> None:
    """Make the tenant's plan items say what `version` says. With `create` false (a publish),
    only where it has plan items already."""
    listed = await knowledge.list_items(
        session=session, tenant_id=tenant.id, limit=MAX_ITEMS, cursor=None, tag=PLANS_TAG
    )
    if not listed.items and not create:
        return
    existing = {item.title: item for item in listed.items}
    wanted = plan_items(version)
    for item in wanted:
        found = existing.pop(item.title, None)
        if found is None:
            await knowledge.create_item(
                session=session,
                settings=settings,
                tenant_id=tenant.id,
                actor=actor,
                title=item.title,
                content=item.content,
                tags=list(TAGS),
            )
        elif found.content != item.content:
            await knowledge.update_item(
                session=session,
                settings=settings,
                tenant_id=tenant.id,
                actor=actor,
                item_id=found.id,
                content=item.content,
            )
    for stale in existing.values():  # a plan that was renamed
        await knowledge.delete_item(
            session=session, settings=settings, tenant_id=tenant.id, actor=actor, item_id=stale.id
        )
