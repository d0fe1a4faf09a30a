"""Admin tenant API, self-service signup, and the team API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from bob.accounts import service as accounts
from bob.accounts.schemas import (
    InviteAccept,
    MemberCreate,
    MemberCreated,
    MemberPage,
    MemberRead,
    MemberUpdate,
    SignupRequest,
    TenantCreate,
    TenantCreated,
    TenantPage,
    TenantRead,
    TenantUpdate,
)
from bob.auth.deps import Principal, Require
from bob.auth.models import User
from bob.auth.permissions import Permission
from bob.deps import LimiterDep, SessionDep, SettingsDep, client_ip, request_id
from bob.openapi import problems
from bob.pagination import PageDep
from bob.tenants import service as tenants
from bob.tenants.models import TenantStatus

router = APIRouter()

TenantsManager = Annotated[Principal, Require(Permission.TENANTS_MANAGE)]
PlatformReader = Annotated[Principal, Require(Permission.PLATFORM_READ)]
TeamManager = Annotated[Principal, Require(Permission.TEAM_MANAGE)]


def _member(user: User, *, pending: bool = False) -> MemberRead:
    return MemberRead.model_validate(user).model_copy(update={"invite_pending": pending})


# ---- platform admin ----------------------------------------------------------------------


@router.get("/api/admin/tenants", tags=["admin"])
async def admin_list_tenants(
    _: PlatformReader,
    session: SessionDep,
    page: PageDep,
    status_filter: Annotated[Literal["active", "suspended"] | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> TenantPage:
    result = await tenants.list_tenants(
        session=session, limit=page.limit, cursor=page.cursor, status=status_filter, q=q
    )
    return TenantPage(
        items=[TenantRead.model_validate(t) for t in result.items], next_cursor=result.next_cursor
    )


@router.post(
    "/api/admin/tenants",
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    responses=problems(409),
)
async def admin_create_tenant(
    body: TenantCreate, principal: TenantsManager, session: SessionDep, settings: SettingsDep
) -> TenantCreated:
    created = await accounts.create_tenant(
        session=session,
        actor=principal.actor,
        name=body.name,
        business_id=body.business_id,
        plan=body.plan,
        owner_email=body.owner_email,
        owner_password=body.owner_password,
        owner_name=body.owner_name,
    )
    token = created.invite_token
    return TenantCreated(
        tenant=TenantRead.model_validate(created.tenant),
        owner=_member(created.owner, pending=token is not None),
        invite_url=accounts.invite_url(settings, token) if token else None,
    )


@router.get("/api/admin/tenants/{tenant_id}", tags=["admin"])
async def admin_get_tenant(
    tenant_id: uuid.UUID, _: PlatformReader, session: SessionDep
) -> TenantRead:
    return TenantRead.model_validate(await tenants.get_tenant(session=session, tenant_id=tenant_id))


@router.patch("/api/admin/tenants/{tenant_id}", tags=["admin"], responses=problems(409))
async def admin_update_tenant(
    tenant_id: uuid.UUID,
    body: TenantUpdate,
    principal: TenantsManager,
    session: SessionDep,
) -> TenantRead:
    tenant = await accounts.update_tenant(
        session=session,
        actor=principal.actor,
        tenant_id=tenant_id,
        name=body.name,
        plan=body.plan,
    )
    return TenantRead.model_validate(tenant)


@router.post("/api/admin/tenants/{tenant_id}/suspend", tags=["admin"], responses=problems(409))
async def admin_suspend_tenant(
    tenant_id: uuid.UUID, principal: TenantsManager, session: SessionDep, settings: SettingsDep
) -> TenantRead:
    tenant = await tenants.set_status(
        session=session,
        settings=settings,
        actor=principal.actor,
        tenant_id=tenant_id,
        status=TenantStatus.SUSPENDED,
    )
    return TenantRead.model_validate(tenant)


@router.post("/api/admin/tenants/{tenant_id}/resume", tags=["admin"])
async def admin_resume_tenant(
    tenant_id: uuid.UUID, principal: TenantsManager, session: SessionDep, settings: SettingsDep
) -> TenantRead:
    tenant = await tenants.set_status(
        session=session,
        settings=settings,
        actor=principal.actor,
        tenant_id=tenant_id,
        status=TenantStatus.ACTIVE,
    )
    return TenantRead.model_validate(tenant)


# ---- signup and invites ------------------------------------------------------------------


@router.post(
    "/api/customers/signup",
    status_code=status.HTTP_201_CREATED,
    tags=["tenants"],
    responses=problems(403, 409),
)
async def signup(
    body: SignupRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> TenantCreated:
    created = await accounts.sign_up(
        session=session,
        settings=settings,
        limiter=limiter,
        request=body,
        ip=client_ip(request),
        request_id=request_id(request),
    )
    return TenantCreated(
        tenant=TenantRead.model_validate(created.tenant), owner=_member(created.owner)
    )


@router.post("/api/customers/invites/{token}/accept", tags=["team"])
async def accept_invite(
    token: str,
    body: InviteAccept,
    request: Request,
    session: SessionDep,
) -> MemberRead:
    user = await accounts.accept_invite(
        session=session,
        token=token,
        password=body.password,
        name=body.name,
        ip=client_ip(request),
        request_id=request_id(request),
    )
    return _member(user)


# ---- team --------------------------------------------------------------------------------


@router.get("/api/customers/team", tags=["team"])
async def list_team(principal: TeamManager, session: SessionDep, page: PageDep) -> MemberPage:
    result = await accounts.list_members(
        session=session, tenant_id=principal.tenant_id, limit=page.limit, cursor=page.cursor
    )
    pending = await accounts.pending_invites(session=session, user_ids=[u.id for u in result.items])
    return MemberPage(
        items=[_member(u, pending=u.id in pending) for u in result.items],
        next_cursor=result.next_cursor,
    )


@router.post(
    "/api/customers/team",
    status_code=status.HTTP_201_CREATED,
    tags=["team"],
    responses=problems(409),
)
async def add_team_member(
    body: MemberCreate, principal: TeamManager, session: SessionDep, settings: SettingsDep
) -> MemberCreated:
    user, token = await accounts.add_member(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        actor_role=principal.user.role,
        email=body.email,
        role=body.role,
        name=body.name,
        password=body.password,
    )
    return MemberCreated(
        **_member(user, pending=token is not None).model_dump(),
        invite_url=accounts.invite_url(settings, token) if token else None,
    )


@router.patch("/api/customers/team/{user_id}", tags=["team"], responses=problems(409))
async def update_team_member(
    user_id: uuid.UUID,
    body: MemberUpdate,
    principal: TeamManager,
    session: SessionDep,
) -> MemberRead:
    user = await accounts.update_member(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        actor_role=principal.user.role,
        user_id=user_id,
        role=body.role,
        name=body.name,
        is_active=body.is_active,
    )
    return _member(user)


@router.delete(
    "/api/customers/team/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["team"],
    responses=problems(409),
)
async def remove_team_member(
    user_id: uuid.UUID,
    principal: TeamManager,
    session: SessionDep,
) -> Response:
    await accounts.remove_member(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        actor_role=principal.user.role,
        user_id=user_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
