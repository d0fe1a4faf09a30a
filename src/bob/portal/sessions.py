"""Logging in and out through the HTML forms of the Customer Portal and Mission Control."""

from __future__ import annotations

from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from bob.auth import service as auth
from bob.auth.deps import CSRF_COOKIE, SESSION_COOKIE
from bob.auth.router import set_session_cookies
from bob.deps import client_ip, request_id
from bob.errors import BobError, RateLimited, Unauthorized
from bob.portal.web import Area, Page, check_form_token, safe_next
from bob.ratelimit import RateLimiter


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
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
