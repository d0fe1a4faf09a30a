"""The public pricebook, the admin pricebook editor, and each tenant's billing and usage."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.billing import metering, subscriptions
from bob.billing import pricebook as pricebooks
from bob.billing.models import PricebookVersion
from bob.billing.schemas import (
    BillingRead,
    BillingSettings,
    Counter,
    CreditAdjusted,
    CreditAdjustment,
    CreditsRead,
    DailyUsage,
    LedgerEntry,
    LowCreditsRead,
    LowCreditsUpdate,
    PlanChange,
    PlanRead,
    PricebookDraft,
    PricebookDraftUpdate,
    PricebookPage,
    PricebookRead,
    UsageRead,
)
from bob.deps import SessionDep, SettingsDep
from bob.openapi import problems
from bob.pagination import Cursor, PageDep
from bob.tenants import service as tenants

router = APIRouter(tags=["billing"])
PricebookManager = Annotated[Principal, Require(Permission.PRICEBOOK_MANAGE)]
TenantsManager = Annotated[Principal, Require(Permission.TENANTS_MANAGE)]
BillingReader = Annotated[Principal, Require(Permission.BILLING_READ)]
BillingManager = Annotated[Principal, Require(Permission.BILLING_MANAGE)]


def _pricebook(version: PricebookVersion) -> PricebookRead:
    return PricebookRead(
        version=version.version,
        status=version.status,
        currency=version.currency,
        published_at=version.published_at,
        plans=[PlanRead(**p) for p in version.plans],
    )


@router.get("/api/pricebook", summary="The published pricebook: the source of truth for prices")
async def pricebook(session: SessionDep) -> PricebookRead:
    return _pricebook(await pricebooks.published_version(session=session))


@router.get("/api/admin/pricebook/versions", tags=["admin"])
async def list_versions(_: PricebookManager, session: SessionDep) -> PricebookPage:
    return PricebookPage(
        items=[_pricebook(v) for v in await pricebooks.list_versions(session=session)]
    )


@router.post("/api/admin/pricebook/versions", status_code=status.HTTP_201_CREATED, tags=["admin"])
async def create_draft(
    body: PricebookDraft, principal: PricebookManager, session: SessionDep, settings: SettingsDep
) -> PricebookRead:
    draft = await pricebooks.create_draft(
        session=session,
        settings=settings,
        actor=principal.actor,
        plans=body.plans,
        currency=body.currency,
    )
    return _pricebook(draft)


@router.patch("/api/admin/pricebook/versions/{version}", tags=["admin"], responses=problems(409))
async def update_draft(
    version: int,
    body: PricebookDraftUpdate,
    principal: PricebookManager,
    session: SessionDep,
    settings: SettingsDep,
) -> PricebookRead:
    draft = await pricebooks.update_draft(
        session=session,
        settings=settings,
        actor=principal.actor,
        version=version,
        plans=body.plans,
    )
    return _pricebook(draft)


@router.post(
    "/api/admin/pricebook/versions/{version}/publish", tags=["admin"], responses=problems(409)
)
async def publish(
    version: int, principal: PricebookManager, session: SessionDep, settings: SettingsDep
) -> PricebookRead:
    published = await pricebooks.publish(
        session=session, settings=settings, actor=principal.actor, version=version
    )
    return _pricebook(published)


async def _billing(session: SessionDep, tenant_id: uuid.UUID) -> BillingRead:
    used = await metering.usage(session=session, tenant_id=tenant_id)
    subscription = used.subscription
    return BillingRead(
        plan=subscription.plan,
        plan_name=used.terms.name,
        pending_plan=subscription.pending_plan,
        pricebook_version=subscription.pricebook_version,
        period_start=subscription.period_start,
        period_end=subscription.period_end,
        credits=CreditsRead(
            included=used.included,
            used=used.used,
            adjustments=used.adjustments,
            remaining=used.remaining,
            overage=used.overage,
        ),
        seats=Counter(used=used.seats, limit=used.terms.seats),
        integrations=Counter(used=used.integrations, limit=used.terms.integrations),
        at_zero=subscription.at_zero,
    )


@router.get("/api/customers/billing")
async def get_billing(principal: BillingReader, session: SessionDep) -> BillingRead:
    return await _billing(session, principal.tenant_id)


@router.post("/api/customers/billing/plan", responses=problems(409))
async def change_plan(
    body: PlanChange,
    principal: BillingManager,
    session: SessionDep,
) -> BillingRead:
    await subscriptions.change_plan(
        session=session,
        actor=principal.actor,
        tenant=await tenants.get_tenant(session=session, tenant_id=principal.tenant_id),
        plan=body.plan,
    )
    return await _billing(session, principal.tenant_id)


@router.put("/api/customers/billing/settings")
async def billing_settings(
    body: BillingSettings,
    principal: BillingManager,
    session: SessionDep,
) -> BillingRead:
    await subscriptions.set_at_zero(
        session=session,
        actor=principal.actor,
        tenant_id=principal.tenant_id,
        at_zero=body.at_zero,
    )
    return await _billing(session, principal.tenant_id)


def _low_credits(state: subscriptions.LowCredits) -> LowCreditsRead:
    return LowCreditsRead(
        low_credits_threshold=state.custom,
        default_threshold=state.default,
        threshold=state.threshold,
        remaining=state.remaining,
        low=state.low,
    )


@router.get("/api/customers/billing/alerts", summary="The low-credits alert (credits.low)")
async def get_alerts(principal: BillingReader, session: SessionDep) -> LowCreditsRead:
    return _low_credits(
        await subscriptions.low_credits(session=session, tenant_id=principal.tenant_id)
    )


@router.put("/api/customers/billing/alerts", summary="Set the low-credits alert's threshold")
async def put_alerts(
    body: LowCreditsUpdate,
    principal: BillingManager,
    session: SessionDep,
) -> LowCreditsRead:
    state = await subscriptions.set_low_credits_threshold(
        session=session,
        actor=principal.actor,
        tenant_id=principal.tenant_id,
        threshold=body.low_credits_threshold,
    )
    return _low_credits(state)


@router.get("/api/customers/usage")
async def usage(principal: BillingReader, session: SessionDep, page: PageDep) -> UsageRead:
    subscription = await subscriptions.current_subscription(
        session=session, tenant_id=principal.tenant_id
    )
    rows = await metering.ledger(
        session=session,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        before_id=page.cursor.as_int("id") if page.cursor else None,
    )
    items = rows[: page.limit]
    more = len(rows) > page.limit
    daily = await metering.daily_usage(
        session=session, tenant_id=principal.tenant_id, period_start=subscription.period_start
    )
    return UsageRead(
        period_start=subscription.period_start,
        period_end=subscription.period_end,
        daily=[DailyUsage(day=day, credits=credits) for day, credits in daily],
        items=[
            LedgerEntry(
                id=e.id,
                kind=e.kind,
                delta=e.delta,
                reason=e.reason,
                period_start=e.period_start,
                message_id=str(e.message_id) if e.message_id else None,
                created_at=e.created_at,
            )
            for e in items
        ],
        next_cursor=Cursor({"id": items[-1].id}).encode() if more and items else None,
    )


@router.get("/api/admin/tenants/{tenant_id}/billing", tags=["admin"])
async def admin_billing(
    tenant_id: uuid.UUID,
    _: Annotated[Principal, Require(Permission.PLATFORM_READ)],
    session: SessionDep,
) -> BillingRead:
    await tenants.get_tenant(session=session, tenant_id=tenant_id)
    return await _billing(session, tenant_id)


@router.post("/api/admin/tenants/{tenant_id}/credits", tags=["admin"], responses=problems(409))
async def adjust_credits(
    tenant_id: uuid.UUID,
    body: CreditAdjustment,
    principal: TenantsManager,
    session: SessionDep,
) -> CreditAdjusted:
    await tenants.get_tenant(session=session, tenant_id=tenant_id)
    new_balance = await subscriptions.adjust_credits(
        session=session,
        actor=principal.actor,
        tenant_id=tenant_id,
        delta=body.delta,
        reason=body.reason,
    )
    return CreditAdjusted(balance=new_balance)
