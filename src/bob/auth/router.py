"""Login, logout and who-am-I for platform admins and tenant users."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from bob.auth import service as auth
from bob.auth.cookies import clear_session_cookies, set_session_cookies
from bob.auth.deps import CurrentPrincipal
from bob.auth.schemas import LoginRequest, LoginResponse, MeResponse, UserRead
from bob.deps import LimiterDep, SessionDep, SettingsDep, client_ip, request_id
from bob.openapi import problems
from bob.settings import Settings
from bob.tenants.schemas import TenantBrief

router = APIRouter(tags=["auth"])
# A wrong password, or the other door's kind of user: 401; a suspended business: 403.
LOGIN_REFUSALS = problems(401, 403)


async def _login(
    *,
    audience: auth.Audience,
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: Settings,
    limiter: LimiterDep,
) -> LoginResponse:
    result = await auth.login(
        session=session,
        settings=settings,
        limiter=limiter,
        audience=audience,
        email=body.email,
        password=body.password,
        cookie=body.cookie,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        request_id=request_id(request),
    )
    if body.cookie:
        set_session_cookies(response, settings, result)
    tenant = result.user.tenant
    return LoginResponse(
        access_token=None if body.cookie else result.token,
        token_type="cookie" if body.cookie else "bearer",
        expires_in=result.expires_in,
        user=UserRead.of(result.user),
        tenant=TenantBrief.model_validate(tenant) if tenant else None,
        csrf_token=result.csrf_token,
    )


@router.post("/api/auth/login", summary="Platform admin login", responses=LOGIN_REFUSALS)
async def admin_login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> LoginResponse:
    return await _login(
        audience=auth.Audience.PLATFORM,
        body=body,
        request=request,
        response=response,
        session=session,
        settings=settings,
        limiter=limiter,
    )


@router.post("/api/customers/auth/login", summary="Tenant user login", responses=LOGIN_REFUSALS)
@router.post(
    "/api/customer/auth/login", summary="Tenant user login (alias)", responses=LOGIN_REFUSALS
)
async def customer_login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> LoginResponse:
    return await _login(
        audience=auth.Audience.TENANT,
        body=body,
        request=request,
        response=response,
        session=session,
        settings=settings,
        limiter=limiter,
    )


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    principal: CurrentPrincipal, response: Response, session: SessionDep, settings: SettingsDep
) -> Response:
    await auth.logout(
        session=session,
        settings=settings,
        auth_session=principal.auth_session,
        actor=principal.actor,
    )
    response.status_code = status.HTTP_204_NO_CONTENT
    clear_session_cookies(response)
    return response


@router.get("/api/auth/me")
async def me(principal: CurrentPrincipal) -> MeResponse:
    tenant = principal.tenant
    return MeResponse(
        user=UserRead.of(principal.user),
        tenant=TenantBrief.model_validate(tenant) if tenant else None,
        auth=principal.via,
        expires_at=principal.auth_session.expires_at,
    )
