"""A tenant's choice of engine: which one, which model, which OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep, SettingsDep
from bob.engines import service as engines
from bob.engines.models import TenantEngineSettings
from bob.governance import service as audit

router = APIRouter(prefix="/api/customers/engine", tags=["engine"])
Manager = Annotated[Principal, Require(Permission.PERSONA_MANAGE)]


class EngineSettingsRead(BaseModel):
    engine: str = Field(description="The engine replies use now (the override or the default).")
    overridden: bool
    model: str | None
    base_url: str | None
    has_api_key: bool = Field(description="Keys are never shown back.")


class EngineSettingsUpdate(BaseModel):
    engine: Literal["extractive", "openai"] | None = None
    model: str | None = Field(None, max_length=200)
    base_url: str | None = Field(None, max_length=500)
    api_key: str | None = Field(
        None, max_length=500, description='Omit to keep the stored key; "" removes it.'
    )


def _read(settings: SettingsDep, row: TenantEngineSettings | None) -> EngineSettingsRead:
    return EngineSettingsRead(
        engine=(row.engine if row and row.engine else settings.engine),
        overridden=bool(row and (row.engine or row.model or row.base_url)),
        model=row.model if row else None,
        base_url=row.base_url if row else None,
        has_api_key=bool(row and row.api_key_encrypted),
    )


@router.get("")
async def get_engine(
    principal: Manager, session: SessionDep, settings: SettingsDep
) -> EngineSettingsRead:
    row = await engines.get_overrides(session=session, tenant_id=principal.tenant_id)
    return _read(settings, row)


@router.put("")
async def put_engine(
    body: EngineSettingsUpdate, principal: Manager, session: SessionDep, settings: SettingsDep
) -> EngineSettingsRead:
    row = await engines.set_overrides(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        engine=body.engine,
        model=body.model,
        base_url=body.base_url,
        api_key=body.api_key,
    )
    await audit.record(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="engine.updated",
        target_type="tenant",
        target_id=principal.tenant_id,
        # Which fields were sent, never the key itself.
        data={
            "engine": row.engine,
            "model": row.model,
            "base_url": row.base_url,
            "api_key": "changed" if body.api_key else ("removed" if body.api_key == "" else None),
        },
    )
    return _read(settings, row)
