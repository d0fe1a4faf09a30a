"""Logging in and out through the HTML forms of the Customer Portal and Mission Control."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from bob.auth import passwords
from bob.auth import service as auth
from bob.auth.cookies import clear_session_cookies, set_session_cookies
from bob.deps import LimiterDep, SessionDep, client_ip, request_id
from bob.errors import BobError, RateLimited, Unauthorized
from bob.ratelimit import RateLimiter
from bob.web.page import Area, Page, area_page, check_form_token, public_page, safe_next


def show_login(
    page: Page, area: Area, *, next_path: str | None, status: int = 200, **context: object
) -> Response:
    return page.render(
        "login.html",
        status=status,
        login_area=area,
        next=safe_next(next_path, area),
        signup_allowed=page.settings.allow_signup and not area.for_platform_admins,
        **{"email": "", "error": None, **context},
    )


async def submit_login(
    *,
    page: Page,
    area: Area,
    session: AsyncSession,
    limiter: RateLimiter,
    email: str,
    password: str,
    next_path: str | None,
) -> Response:
    await check_form_token(page)
    request = page.request
    try:
        result = await auth.login(
            session=session,
            settings=page.settings,
            limiter=limiter,
            audience=auth.Audience.PLATFORM if area.for_platform_admins else auth.Audience.TENANT,
            email=email,
            password=password,
            cookie=True,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            request_id=request_id(request),
        )
    except BobError as exc:
        await session.rollback()
        if isinstance(exc, Unauthorized):
            message = page.t("Wrong email or password.")
        elif isinstance(exc, RateLimited):
            message = page.t("Too many failed attempts. Wait a few minutes and try again.")
        else:
            message = exc.message
        response = show_login(
            page, area, next_path=next_path, status=exc.status_code, email=email, error=message
        )
        response.headers.update(exc.headers())
        return response
    response = page.redirect(safe_next(next_path, area))
    set_session_cookies(response, page.settings, result)
    return response


async def submit_logout(*, page: Page, area: Area, session: AsyncSession) -> Response:
    principal = page.principal_required
    await auth.logout(
        session=session,
        settings=page.settings,
        auth_session=principal.auth_session,
        actor=principal.actor,
    )
    response = page.redirect(area.login_path, notice=page.t("You are logged out."))
    clear_session_cookies(response)
    return response


def login_routes(area: Area) -> APIRouter:
    """GET and POST {login_path} and POST {home}/logout for an area.

    The dependencies are defaults, not Annotated: annotations are strings here, and a closure's
    names cannot be resolved from them."""
    router = APIRouter(include_in_schema=False)
    login_page: Any = public_page(area)
    logged_in: Any = area_page(area)

    @router.get(area.login_path)
    async def login_form(page: Page = login_page, next: str | None = None) -> Response:
        return show_login(page, area, next_path=next)

    @router.post(area.login_path)
    async def login(
        session: SessionDep,
        limiter: LimiterDep,
        email: Annotated[str, Form(max_length=320)] = "",
        password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)] = "",
        next: Annotated[str | None, Form(max_length=2000)] = None,
        page: Page = login_page,
    ) -> Response:
        return await submit_login(
            page=page,
            area=area,
            session=session,
            limiter=limiter,
            email=email,
            password=password,
            next_path=next,
        )

    @router.post(f"{area.home}/logout")
    async def logout(session: SessionDep, page: Page = logged_in) -> Response:
        return await submit_logout(page=page, area=area, session=session)

    return router
