"""Customer Portal: billing. The plan, the period's credits, seats and integrations, usage per
day, the published plans side by side, what Bob does when the credits run out, and the
low-credits alert (credits.low).

Anyone with billing.read sees the page; changing the plan or the at-zero setting needs
billing.manage (the owner), exactly as /api/customers/billing/plan and /settings do.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from bob.auth.permissions import Permission
from bob.billing import metering, pricebook, subscriptions
from bob.db.types import utcnow
from bob.deps import SessionDep
from bob.errors import BobError
from bob.tenants import service as tenants
from bob.web.page import N_, Page, PortalPage, attempt

router = APIRouter(include_in_schema=False)


async def plan_options(page: Page, session: SessionDep) -> list[tuple[str, str]]:
    """The published plans as choices for a form (signup, a new tenant)."""
    version = await pricebook.published_version(session=session)
    return [
        (
            plan.code,
            page.t(
                "{name} — {price} a month, {credits} credits",
                name=plan.name,
                price=page.translator.money(plan.monthly_price_cents / 100, version.currency),
                credits=page.translator.number(plan.included_credits),
            ),
        )
        for plan in pricebook.terms_of(version).values()
    ]


Reader = Annotated[Page, PortalPage(Permission.BILLING_READ)]
Manager = Annotated[Page, PortalPage(Permission.BILLING_MANAGE)]
HOME = "/portal/billing"

AT_ZERO_LABELS = {
    "handoff": N_("Hand the conversation to your team"),
    "message_only": N_("Tell the visitor Bob cannot answer right now"),
    "overage": N_("Keep answering, billed as overage"),
}
AT_ZERO_HELP = {
    "handoff": N_(
        "Bob says politely that a person will take over, and the conversation waits for your "
        "team. Nothing is charged."
    ),
    "message_only": N_(
        "Bob says it cannot answer new questions right now and suggests contacting you "
        "directly. The conversation stays with Bob. Nothing is charged."
    ),
    "overage": N_(
        "Bob keeps giving normal answers; what they cost beyond the included credits is "
        "billed as overage."
    ),
}


def _daily_rows(
    page: Page, start: date, end: date, used: list[tuple[str, int]]
) -> list[tuple[str, int, str]]:
    """One bar per day of the period so far, days without usage included."""
    by_day = dict(used)
    today = min(utcnow().date(), end - timedelta(days=1))
    rows: list[tuple[str, int, str]] = []
    day = start
    while day <= today:
        text = day.isoformat()
        credits = by_day.get(text, 0)
        rows.append((text[5:], credits, page.translator.number(credits)))
        day += timedelta(days=1)
    return rows


async def _billing_page(
    page: Page,
    session: SessionDep,
    *,
    status: int = 200,
    error: str | None = None,
    alert_error: str | None = None,
    alert_typed: str | None = None,
) -> Response:
    tenant_id = page.principal_required.tenant_id
    used = await metering.usage(session=session, tenant_id=tenant_id)
    alert = await subscriptions.low_credits(session=session, tenant_id=tenant_id)
    subscription = used.subscription
    published = await pricebook.published_version(session=session)
    plans = list(pricebook.terms_of(published).values())
    daily = await metering.daily_usage(
        session=session, tenant_id=tenant_id, period_start=subscription.period_start
    )
    pending = (
        pricebook.terms_of(published).get(subscription.pending_plan)
        if subscription.pending_plan
        else None
    )
    return page.render(
        "portal/billing.html",
        status=status,
        error=error,
        usage=used,
        subscription=subscription,
        terms=used.terms,
        pending=pending,
        published=published,
        plans=plans,
        currency=published.currency,
        daily_rows=_daily_rows(
            page,
            subscription.period_start.date(),
            subscription.period_end.date(),
            daily,
        ),
        can_manage=page.can(Permission.BILLING_MANAGE),
        at_zero_labels=AT_ZERO_LABELS,
        at_zero_help=AT_ZERO_HELP,
        alert=alert,
        alert_error=alert_error,
        alert_typed=alert_typed if alert_typed is not None else _text(alert.custom),
    )


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


@router.get("/portal/billing")
async def billing_page(page: Reader, session: SessionDep) -> Response:
    return await _billing_page(page, session)


@router.post("/portal/billing/plan")
async def change_plan(
    page: Manager,
    session: SessionDep,
    plan: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    principal = page.principal_required
    tenant = await tenants.get_tenant(session=session, tenant_id=principal.tenant_id)
    result = await attempt(
        session,
        subscriptions.change_plan(
            session=session,
            actor=principal.actor,
            tenant=tenant,
            plan=plan,
        ),
    )
    if isinstance(result, BobError):
        return await _billing_page(page, session, status=result.status_code, error=result.message)
    terms = await subscriptions.plan_terms(session=session, subscription=result)
    if result.pending_plan == plan:
        published = pricebook.terms_of(await pricebook.published_version(session=session))
        notice = page.t(
            "You move to {plan} when this period ends, on {date}. Until then you keep {current}.",
            plan=published[plan].name,
            date=page.translator.day(result.period_end),
            current=terms.name,
        )
    else:
        notice = page.t("Your plan is now {plan}.", plan=terms.name)
    return page.redirect(HOME, notice=notice)


@router.post("/portal/billing/settings")
async def at_zero_setting(
    page: Manager,
    session: SessionDep,
    at_zero: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    principal = page.principal_required
    result = await attempt(
        session,
        subscriptions.set_at_zero(
            session=session,
            actor=principal.actor,
            tenant_id=principal.tenant_id,
            at_zero=at_zero,
        ),
    )
    if isinstance(result, BobError):
        return await _billing_page(page, session, status=result.status_code, error=result.message)
    return page.redirect(
        HOME,
        notice=page.t(
            "Saved. When the credits run out: {choice}.",
            choice=page.t(AT_ZERO_LABELS[result.at_zero]),
        ),
    )


@router.post("/portal/billing/alerts")
async def low_credits_alert(
    page: Manager,
    session: SessionDep,
    low_credits_threshold: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    principal = page.principal_required
    typed = low_credits_threshold.strip().replace(",", "").replace(" ", "")
    if typed and not typed.isdigit():
        return await _billing_page(
            page,
            session,
            status=422,
            alert_error=page.t(
                "The alert needs a whole number of credits, or nothing for the default."
            ),
            alert_typed=low_credits_threshold,
        )
    result = await attempt(
        session,
        subscriptions.set_low_credits_threshold(
            session=session,
            actor=principal.actor,
            tenant_id=principal.tenant_id,
            threshold=int(typed) if typed else None,
        ),
    )
    if isinstance(result, BobError):
        return await _billing_page(
            page,
            session,
            status=result.status_code,
            alert_error=result.message,
            alert_typed=low_credits_threshold,
        )
    return page.redirect(
        HOME,
        notice=page.t(
            "Saved. You are alerted when {n} credits or fewer are left.",
            n=page.translator.number(result.threshold),
        ),
    )
