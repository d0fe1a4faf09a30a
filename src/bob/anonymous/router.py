"""The anonymous doors' ceilings and challenge switch (Widget Setup), and the challenges the
doors hand out: one for the widget (key and origin rules as /api/widget/chat) and one for Bob's
own chat page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from bob.anonymous import service as anonymous
from bob.anonymous.schemas import AnonymousLimitsRead, AnonymousLimitsUpdate, Ceiling
from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep

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
