"""Customer Portal: the team. Members, invites within the plan's seats, roles, removal.

The pages call the same services as /api/customers/team with the same permission (team.manage);
the rules (seats, the last owner, only an owner touches owners) are the service's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response
from pydantic import ValidationError

from bob.accounts import service as accounts
from bob.accounts.schemas import MemberCreate
from bob.auth.models import User
from bob.auth.permissions import TENANT_ROLES, Permission, Role
from bob.billing import metering
from bob.deps import SessionDep
from bob.errors import BobError
from bob.pagination import Cursor
from bob.web import reveal
from bob.web.page import N_, Page, PortalPage, attempt

router = APIRouter(include_in_schema=False)
Manager = Annotated[Page, PortalPage(Permission.TEAM_MANAGE)]
HOME = "/portal/team"
PAGE_SIZE = 100

ROLE_LABELS = {
    "owner": N_("Owner"),
    "admin": N_("Admin"),
    "agent": N_("Agent"),
    "viewer": N_("Viewer"),
}
ROLE_HELP = {
    "owner": N_("Everything, including the plan and billing settings."),
    "admin": N_("Runs the front office: team, knowledge, persona, widget, webhooks; sees billing."),
    "agent": N_("Answers visitors and keeps the knowledge current."),
    "viewer": N_("Reads conversations, figures and billing; changes nothing."),
}


@dataclass(frozen=True)
class InviteForm:
    email: str = ""
    role: str = "agent"
    name: str = ""


async def _team_page(
    page: Page,
    session: SessionDep,
    *,
    status: int = 200,
    error: str | None = None,
    form: InviteForm | None = None,
    cursor: str | None = None,
) -> Response:
    tenant_id = page.principal_required.tenant_id
    members = await accounts.list_members(
        session=session,
        tenant_id=tenant_id,
        limit=PAGE_SIZE,
        cursor=Cursor.decode(cursor) if cursor else None,
    )
    pending = await accounts.pending_invites(
        session=session, user_ids=[u.id for u in members.items]
    )
    used = await metering.usage(session=session, tenant_id=tenant_id)
    shown = reveal.take(page) if status == 200 else {}
    response = page.render(
        "portal/team.html",
        status=status,
        members=members.items,
        next_cursor=members.next_cursor,
        pending=pending,
        seats_used=used.seats,
        seats_limit=used.terms.seats,
        plan_name=used.terms.name,
        # Only an owner may make someone an owner; the service refuses it to anyone else.
        roles=[
            (role.value, page.t(ROLE_LABELS[role.value]))
            for role in TENANT_ROLES
            if role != Role.OWNER or page.principal_required.user.role == Role.OWNER
        ],
        can_see_billing=page.can(Permission.BILLING_READ),
        role_labels=ROLE_LABELS,
        role_help=ROLE_HELP,
        form=form or InviteForm(),
        error=error,
        invite_url=shown.get("invite_url"),
        invite_email=shown.get("email"),
    )
    if shown:
        reveal.forget(page, response)
    return response


@router.get("/portal/team")
async def team_page(
    page: Manager,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return await _team_page(page, session, cursor=cursor)


@router.post("/portal/team")
async def invite_member(
    page: Manager,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    form = InviteForm(email, role, name)
    try:
        body = MemberCreate.model_validate({"email": email.strip(), "role": role, "name": name})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return await _team_page(
            page, session, status=422, error=f"{field}: {first['msg']}", form=form
        )
    principal = page.principal_required
    result = await attempt(
        session,
        accounts.add_member(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            actor_role=principal.user.role,
            email=body.email,
            role=body.role,
            name=body.name,
        ),
    )
    if isinstance(result, BobError):
        return await _team_page(
            page, session, status=result.status_code, error=result.message, form=form
        )
    user, token = result
    response = page.redirect(
        HOME,
        notice=page.t(
            "{email} was added as {role}.", email=user.email, role=page.t(ROLE_LABELS[user.role])
        ),
    )
    if token:
        reveal.remember(
            page,
            response,
            HOME,
            invite_url=accounts.invite_url(page.settings, token),
            email=user.email,
        )
    return response


async def _load(page: Page, session: SessionDep, user_id: uuid.UUID) -> User:
    """Another business's member is a 404 page, not a refusal on this one."""
    return await accounts.get_member(
        session=session, tenant_id=page.principal_required.tenant_id, user_id=user_id
    )


@router.post("/portal/team/{user_id}/role")
async def change_role(
    page: Manager,
    session: SessionDep,
    user_id: uuid.UUID,
    role: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    member = await _load(page, session, user_id)
    email = member.email
    if role not in ROLE_LABELS:
        return await _team_page(
            page,
            session,
            status=422,
            error=page.t("Choose one of the roles in the list."),
        )
    principal = page.principal_required
    result = await attempt(
        session,
        accounts.update_member(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            actor_role=principal.user.role,
            user_id=user_id,
            role=role,
        ),
    )
    if isinstance(result, BobError):
        return await _team_page(page, session, status=result.status_code, error=result.message)
    return page.redirect(
        HOME,
        notice=page.t("{email} is now {role}.", email=email, role=page.t(ROLE_LABELS[role])),
    )


@router.post("/portal/team/{user_id}/active")
async def set_active(
    page: Manager,
    session: SessionDep,
    user_id: uuid.UUID,
    is_active: Annotated[bool, Form()],
) -> Response:
    member = await _load(page, session, user_id)
    email = member.email
    principal = page.principal_required
    result = await attempt(
        session,
        accounts.update_member(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            actor_role=principal.user.role,
            user_id=user_id,
            is_active=is_active,
        ),
    )
    if isinstance(result, BobError):
        return await _team_page(page, session, status=result.status_code, error=result.message)
    notice = (
        page.t("{email} can log in again.", email=email)
        if is_active
        else page.t("{email} can no longer log in; their seat is free.", email=email)
    )
    return page.redirect(HOME, notice=notice)


@router.post("/portal/team/{user_id}/remove")
async def remove_member(page: Manager, session: SessionDep, user_id: uuid.UUID) -> Response:
    member = await _load(page, session, user_id)
    email = member.email
    principal = page.principal_required
    result = await attempt(
        session,
        accounts.remove_member(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            actor_role=principal.user.role,
            user_id=user_id,
        ),
    )
    if isinstance(result, BobError):
        return await _team_page(page, session, status=result.status_code, error=result.message)
    return page.redirect(HOME, notice=page.t("{email} was removed from the team.", email=email))
