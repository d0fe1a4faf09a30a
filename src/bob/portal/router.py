"""The Customer Portal's front door: log in and out, sign up, the dashboard, and the invite page.

Each area of the portal is its domain's `pages.py` (chat, knowledge, personas, ...), included here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from bob.accounts import pages as team
from bob.accounts import service as accounts
from bob.accounts.schemas import SignupRequest
from bob.analytics import reports
from bob.analytics import service as analytics
from bob.auth import passwords
from bob.auth import service as auth
from bob.auth.cookies import set_session_cookies
from bob.auth.permissions import Permission
from bob.billing import pages as billing_pages
from bob.billing.pages import plan_options
from bob.chat import pages as conversations
from bob.db.types import utcnow
from bob.deps import LimiterDep, SessionDep, client_ip, request_id
from bob.errors import BobError, Forbidden
from bob.governance import pages as audit
from bob.knowledge import pages as knowledge_pages
from bob.knowledge import service as knowledge
from bob.personas import pages as persona
from bob.web.page import (
    PORTAL,
    Page,
    PortalPage,
    PublicPage,
    check_form_token,
    validation_message,
)
from bob.web.sessions import login_routes
from bob.webhooks import pages as webhooks
from bob.widget import pages as widget
from bob.widget import service as widget_service

router = APIRouter(include_in_schema=False)
for _area in (
    conversations,
    knowledge_pages,
    persona,
    widget,
    webhooks,
    team,
    billing_pages,
    audit,
):
    router.include_router(_area.router)
router.include_router(login_routes(PORTAL))

PERIODS = (7, 30, 90)


# ---- log in, log out, sign up -------------------------------------------------------------


def _signup_refused(page: Page) -> None:
    if not page.settings.allow_signup:
        raise Forbidden(
            page.t("Self-service signup is turned off on this installation."),
            code="signup_disabled",
        )


@router.get("/portal/signup")
async def signup_page(
    page: Annotated[Page, PublicPage], session: SessionDep, plan: str = "starter"
) -> Response:
    _signup_refused(page)
    return page.render(
        "portal/signup.html",
        plans=await plan_options(page, session),
        min_password=passwords.MIN_PASSWORD_LENGTH,
        form={"business_name": "", "email": "", "plan": plan},
        error=None,
    )


@router.post("/portal/signup")
async def signup_submit(
    page: Annotated[Page, PublicPage],
    session: SessionDep,
    limiter: LimiterDep,
    business_name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)] = "",
    plan: Annotated[str, Form(max_length=32)] = "starter",
) -> Response:
    _signup_refused(page)
    await check_form_token(page)
    settings = page.settings
    form = {"business_name": business_name, "email": email, "plan": plan}

    async def again(status: int, message: str) -> Response:
        return page.render(
            "portal/signup.html",
            status=status,
            plans=await plan_options(page, session),
            min_password=passwords.MIN_PASSWORD_LENGTH,
            form=form,
            error=message,
        )

    try:
        body = SignupRequest(
            business_name=business_name.strip(), email=email, password=password, plan=plan
        )
    except ValidationError as exc:
        return await again(422, validation_message(exc))
    ip = client_ip(page.request)
    try:
        await accounts.sign_up(
            session=session,
            settings=settings,
            limiter=limiter,
            request=body,
            ip=ip,
            request_id=request_id(page.request),
        )
        await session.flush()
        result = await auth.login(
            session=session,
            settings=settings,
            limiter=limiter,
            audience=auth.Audience.TENANT,
            email=body.email,
            password=body.password,
            cookie=True,
            ip=ip,
            user_agent=page.request.headers.get("user-agent"),
            request_id=request_id(page.request),
        )
    except BobError as exc:
        await session.rollback()
        return await again(exc.status_code, exc.message)
    response = page.redirect("/portal", notice=page.t("Welcome to Bob! Here is what to do first."))
    set_session_cookies(response, settings, result)
    return response


# ---- dashboard ----------------------------------------------------------------------------


async def _checklist(session: SessionDep, page: Page) -> list[dict[str, object]]:
    """A new business's first steps, ticked off as they are done."""
    tenant_id = page.principal_required.tenant_id
    items = await knowledge.list_items(session=session, tenant_id=tenant_id, limit=1, cursor=None)
    key = await widget_service.primary_key(session=session, tenant_id=tenant_id)
    return [
        {"label": page.t("Set your assistant's persona"), "href": "/portal/persona", "done": None},
        {
            "label": page.t("Add what Bob should know"),
            "href": "/portal/knowledge",
            "done": bool(items.items),
        },
        {
            "label": page.t("Allow your website's address"),
            "href": "/portal/widget",
            "done": bool(key and key.allowed_origins),
        },
        {
            "label": page.t("Copy the embed code to your site"),
            "href": "/portal/widget",
            "done": None,
        },
    ]


@router.get("/portal")
async def dashboard(
    page: Annotated[Page, PortalPage(Permission.ANALYTICS_READ)],
    session: SessionDep,
    days: Annotated[int, Query()] = 30,
) -> Response:
    days = days if days in PERIODS else 30
    tenant = page.principal_required.own_tenant
    metrics = await reports.business_metrics(
        session, tenant, analytics.Window.last_days(days, utcnow())
    )
    t = page.translator
    return page.render(
        "portal/dashboard.html",
        metrics=metrics,
        conversation_rows=[
            (d.day[5:], d.conversations, t.number(d.conversations)) for d in metrics.daily
        ],
        credit_rows=[(d.day[5:], d.credits, t.number(d.credits)) for d in metrics.daily],
        days=days,
        periods=PERIODS,
        checklist=await _checklist(session, page) if page.can(Permission.WIDGET_MANAGE) else [],
    )


# ---- invite (no login: the link is the credential) --------------------------------------


def _render_invite(page: Page, status: int, **context: object) -> HTMLResponse:
    response = page.render(
        "invite.html", status=status, min_length=passwords.MIN_PASSWORD_LENGTH, **context
    )
    # The token is in the URL: keep it out of Referer headers and caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/invite/{token}")
async def invite_page(page: Annotated[Page, PublicPage], token: str) -> HTMLResponse:
    return _render_invite(page, 200, token=token)


@router.post("/invite/{token}")
async def accept_invite_form(
    page: Annotated[Page, PublicPage],
    token: str,
    session: SessionDep,
    password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)],
    name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    # The link is the credential, yet another site could still post it a password of its
    # choosing: the form must come from the page Bob served.
    await check_form_token(page)
    request = page.request
    try:
        user = await accounts.accept_invite(
            session=session,
            token=token,
            password=password,
            name=name or None,
            ip=client_ip(request),
            request_id=request_id(request),
        )
    except BobError as exc:
        return _render_invite(page, exc.status_code, token=token, error=exc.message)
    return _render_invite(page, 200, done=True, email=user.email)
