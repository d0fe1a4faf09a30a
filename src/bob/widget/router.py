"""Widget keys API (Widget Setup): list, create, change, rotate, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep, SettingsDep
from bob.widget import service as widget
from bob.widget.models import WidgetKey
from bob.widget.schemas import WidgetKeyCreate, WidgetKeyPage, WidgetKeyRead, WidgetKeyUpdate

router = APIRouter(prefix="/api/customer-portal/widget", tags=["widget"])
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


@router.get("/keys")
async def list_keys(principal: Manager, session: SessionDep) -> WidgetKeyPage:
    keys = await widget.list_keys(session=session, tenant_id=principal.tenant_id)
    return WidgetKeyPage(items=[_read(k) for k in keys])


@router.post("/keys", status_code=status.HTTP_201_CREATED)
async def create_key(
    body: WidgetKeyCreate, principal: Manager, session: SessionDep, settings: SettingsDep
) -> WidgetKeyRead:
    key = await widget.create_key(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        label=body.label,
        allowed_origins=body.allowed_origins,
    )
    return _read(key)


@router.patch("/keys/{key_id}")
async def update_key(
    key_id: uuid.UUID,
    body: WidgetKeyUpdate,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
) -> WidgetKeyRead:
    key = await widget.update_key(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        key_id=key_id,
        label=body.label,
        allowed_origins=body.allowed_origins,
    )
    return _read(key)


@router.post("/keys/{key_id}/rotate")
async def rotate_key(
    key_id: uuid.UUID, principal: Manager, session: SessionDep, settings: SettingsDep
) -> WidgetKeyRead:
    key = await widget.rotate_key(
        session=session,
        settings=settings,
        tenant=principal.own_tenant,
        actor=principal.actor,
        key_id=key_id,
    )
    return _read(key)


@router.delete("/keys/{key_id}")
async def revoke_key(
    key_id: uuid.UUID, principal: Manager, session: SessionDep, settings: SettingsDep
) -> WidgetKeyRead:
    key = await widget.revoke_key(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        key_id=key_id,
    )
    return _read(key)
