"""The anonymous doors' ceilings and challenge switch (Widget Setup), and the challenges the
doors hand out: one for the widget (key and origin rules as /api/widget/chat) and one for Bob's
own chat page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from bob.anonymous import challenge
from bob.anonymous import service as anonymous
from bob.anonymous.schemas import AnonymousLimitsRead, AnonymousLimitsUpdate, Ceiling, ChallengeRead
from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep, SettingsDep
from bob.openapi import problems
from bob.tenants import service as tenants
from bob.widget import door

router = APIRouter()
Manager = Annotated[Principal, Require(Permission.WIDGET_MANAGE)]
LIMITS = "/api/customer-portal/widget/limits"


def _read(limits: anonymous.DoorLimits) -> AnonymousLimitsRead:
    return AnonymousLimitsRead(
        plan=limits.plan,
        replies_per_minute=Ceiling(
            limit=limits.per_minute,
            override=limits.per_minute_override,
            plan_default=limits.defaults.per_minute,
        ),
        replies_per_day=Ceiling(
            limit=limits.per_day,
            override=limits.per_day_override,
            plan_default=limits.defaults.per_day,
        ),
        challenge=limits.challenge,
    )


@router.get(LIMITS, tags=["widget"], summary="Ceilings on anonymous replies (doors 1 and 2)")
async def get_limits(principal: Manager, session: SessionDep) -> AnonymousLimitsRead:
    limits = await anonymous.get_limits(session=session, tenant=principal.own_tenant)
    return _read(limits)


@router.put(
    LIMITS,
    tags=["widget"],
    summary="Set the ceilings (null: the plan's default) and the challenge switch",
)
async def put_limits(
    body: AnonymousLimitsUpdate,
    principal: Manager,
    session: SessionDep,
) -> AnonymousLimitsRead:
    limits = await anonymous.update_limits(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        changes=body.model_dump(exclude_unset=True),
    )
    return _read(limits)


@router.options("/api/widget/challenge", include_in_schema=False)
async def widget_challenge_preflight(request: Request) -> Response:
    return await door.preflight(request)


@router.get(
    "/api/widget/challenge",
    tags=["chat"],
    response_model=ChallengeRead,
    responses=problems(401, 403),
    summary="Door 2: a proof-of-work challenge for a new widget conversation",
)
async def widget_challenge(caller: door.WidgetCaller, settings: SettingsDep) -> Response:
    issued = challenge.issue(settings=settings, tenant_id=caller.access.tenant.id, door="widget")
    return JSONResponse(issued, headers={**caller.cors, "Cache-Control": "no-store"})


@router.get(
    "/api/chat/challenge",
    tags=["chat"],
    responses=problems(403, 404),
    summary="Door 1: a proof-of-work challenge for a new conversation on Bob's own site",
)
async def public_challenge(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    business_id: Annotated[str | None, Query(max_length=63)] = None,
) -> ChallengeRead:
    tenant = await tenants.get_tenant_by_business_id(
        session=session, business_id=business_id or settings.platform_business_id
    )
    tenant.ensure_serving()
    response.headers["Cache-Control"] = "no-store"
    return ChallengeRead(**challenge.issue(settings=settings, tenant_id=tenant.id, door="public"))
