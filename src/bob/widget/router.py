"""Widget keys API (Widget Setup): list, create, change, rotate, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep, SettingsDep
from bob.openapi import problems
from bob.widget import service as widget
from bob.widget.models import WidgetKey
from bob.widget.schemas import (
    WidgetAppearanceRead,
    WidgetAppearanceUpdate,
    WidgetCode,
    WidgetKeyCreate,
    WidgetKeyPage,
    WidgetKeyRead,
    WidgetKeyUpdate,
)

router = APIRouter(prefix="/api/customer-portal", tags=["widget"])
Manager = Annotated[Principal, Require(Permission.WIDGET_MANAGE)]


def _read(key: WidgetKey) -> WidgetKeyRead:
    return WidgetKeyRead(
        id=key.id,
        key=key.key,
        label=key.label,
        allowed_origins=key.allowed_origins,
        is_primary=key.is_primary,
        status=key.status,
        created_at=key.created_at,
        rotated_at=key.rotated_at,
        revoked_at=key.revoked_at,
    )


@router.get("/widget/keys")
async def list_keys(principal: Manager, session: SessionDep) -> WidgetKeyPage:
    keys = await widget.list_keys(session=session, tenant_id=principal.tenant_id)
    return WidgetKeyPage(items=[_read(k) for k in keys])


@router.post("/widget/keys", status_code=status.HTTP_201_CREATED)
async def create_key(
    body: WidgetKeyCreate,
    principal: Manager,
    session: SessionDep,
) -> WidgetKeyRead:
    key = await widget.create_key(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        label=body.label,
        allowed_origins=body.allowed_origins,
    )
    return _read(key)


@router.patch("/widget/keys/{key_id}", responses=problems(409))
async def update_key(
    key_id: uuid.UUID,
    body: WidgetKeyUpdate,
    principal: Manager,
    session: SessionDep,
) -> WidgetKeyRead:
    key = await widget.update_key(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        key_id=key_id,
        label=body.label,
        allowed_origins=body.allowed_origins,
    )
    return _read(key)


@router.post("/widget/keys/{key_id}/rotate", responses=problems(409))
async def rotate_key(
    key_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
) -> WidgetKeyRead:
    key = await widget.rotate_key(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        key_id=key_id,
    )
    return _read(key)


@router.delete("/widget/keys/{key_id}", responses=problems(409))
async def revoke_key(
    key_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
) -> WidgetKeyRead:
    key = await widget.revoke_key(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        key_id=key_id,
    )
    return _read(key)


def _appearance(look: widget.Appearance) -> WidgetAppearanceRead:
    return WidgetAppearanceRead(
        position=look.position,
        color=look.color,
        greeting=look.greeting,
        language=look.language,
        launcher_label=look.launcher_label,
        open_on_load=look.open_on_load,
    )


@router.get("/widget")
async def get_appearance(principal: Manager, session: SessionDep) -> WidgetAppearanceRead:
    look = await widget.get_appearance(session=session, tenant_id=principal.tenant_id)
    return _appearance(look)


@router.put("/widget")
async def put_appearance(
    body: WidgetAppearanceUpdate,
    principal: Manager,
    session: SessionDep,
) -> WidgetAppearanceRead:
    look = await widget.update_appearance(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        changes=body.model_dump(exclude_unset=True),
    )
    return _appearance(look)


@router.get("/widget-code")
async def widget_code(principal: Manager, session: SessionDep, settings: SettingsDep) -> WidgetCode:
    """The tag to paste: it names the tenant's bundle and carries no key."""
    key = await widget.primary_key(session=session, tenant_id=principal.tenant_id)
    look = await widget.get_appearance(session=session, tenant_id=principal.tenant_id)
    return WidgetCode(
        tenant_id=principal.tenant_id,
        script_tag=widget.script_tag(settings.public_url, principal.tenant_id),
        bundle_url=widget.bundle_url(settings.public_url, principal.tenant_id),
        widget_key=key.key if key else None,
        allowed_origins=key.allowed_origins if key else [],
        loader_tag=widget.loader_tag(settings.public_url, key.key, look.position) if key else None,
    )
