"""Analytics (seed paths): a business's metrics and dashboard, and the platform overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bob.analytics import reports
from bob.analytics import service as analytics
from bob.analytics.schemas import (
    BusinessMetrics,
    PlatformOverview,
)
from bob.auth.deps import CurrentPrincipal, Principal, Require, check_permission
from bob.auth.permissions import Permission
from bob.billing import subscriptions
from bob.db.types import utcnow
from bob.deps import SessionDep
from bob.errors import NotFound
from bob.tenants import service as tenants

router = APIRouter(tags=["analytics"])
Days = Annotated[
    int, Query(ge=1, le=analytics.MAX_DAYS, description="Whole UTC days, today included.")
]


@router.get(
    "/api/metrics/business",
    summary="The caller's business: conversations, how they ended, messages, credits, per day",
)
async def business_metrics(
    principal: Annotated[Principal, Require(Permission.ANALYTICS_READ)],
    session: SessionDep,
    days: Days = 30,
) -> BusinessMetrics:
    window = analytics.Window.last_days(days, utcnow())
    return await reports.business_metrics(session, principal.own_tenant, window)


@router.get(
    "/api/customers/dashboard/{business_id}",
    summary="A business's dashboard for its current billing period",
)
async def dashboard(
    business_id: str, principal: CurrentPrincipal, session: SessionDep
) -> BusinessMetrics:
    """Team members see their own business (another business_id is 404); platform admins any."""
    if Permission.PLATFORM_READ in principal.permissions:
        tenant = await tenants.get_tenant_by_business_id(session=session, business_id=business_id)
    else:
        check_permission(principal, Permission.ANALYTICS_READ)
        tenant = principal.own_tenant
        if tenant.business_id != business_id:
            raise NotFound(f"no business {business_id}")
    subscription = await subscriptions.current_subscription(session=session, tenant_id=tenant.id)
    window = analytics.Window.between(subscription.period_start, utcnow())
    return await reports.business_metrics(session, tenant, window)


@router.get(
    "/api/analytics/overview",
    tags=["admin"],
    summary="The whole installation: tenants, conversations, credits, webhook deliveries",
)
async def overview(
    _: Annotated[Principal, Require(Permission.PLATFORM_READ)],
    session: SessionDep,
    days: Days = 30,
) -> PlatformOverview:
    return await reports.overview(session, days)
