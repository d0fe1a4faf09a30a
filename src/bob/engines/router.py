"""A tenant's choice of engine: which one, which model, which OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bob import audit
from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep, SettingsDep
from bob.engines import service as engines
from bob.engines.models import TenantEngineSettings
from bob.schemas import WriteModel
from bob.text.grounding import Strictness

router = APIRouter(prefix="/api/customers/engine", tags=["engine"])
Manager = Annotated[Principal, Require(Permission.PERSONA_MANAGE)]


class EngineSettingsRead(BaseModel):
    engine: str = Field(description="The engine replies use now (the override or the default).")
    overridden: bool
    model: str | None
    base_url: str | None
    has_api_key: bool = Field(description="Keys are never shown back.")
    strictness: Strictness = Field(
        description="How sure Bob must be before it answers from the knowledge: `strict` hands "
        "more questions to the team, `helpful` answers more of them."
    )


class EngineSettingsUpdate(WriteModel):
    engine: Literal["extractive", "openai"] | None = None
    model: str | None = Field(None, max_length=200)
    base_url: str | None = Field(None, max_length=500)
    api_key: str | None = Field(
        None, max_length=500, description='Omit to keep the stored key; "" removes it.'
    )
    strictness: Strictness | None = Field(
        None, description="Omit to keep the current choice; null restores `balanced`."
    )


def _read(settings: SettingsDep, row: TenantEngineSettings | None) -> EngineSettingsRead:
    return EngineSettingsRead(
        engine=(row.engine if row and row.engine else settings.engine),
        overridden=bool(row and (row.engine or row.model or row.base_url)),
        model=row.model if row else None,
        base_url=row.base_url if row else None,
        has_api_key=bool(row and row.api_key_encrypted),
        strictness=engines.strictness_of(row),
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
    if "strictness" in body.model_fields_set:
        row = await engines.set_strictness(
            session=session, tenant_id=principal.tenant_id, strictness=body.strictness
        )
    await audit.record(
        session,
        principal.tenant_id,
        principal.actor,
        "engine.updated",
        target=("tenant", principal.tenant_id),
        data={
            "engine": row.engine,
            "model": row.model,
            "base_url": row.base_url,
            "api_key": "changed" if body.api_key else ("removed" if body.api_key == "" else None),
            "strictness": row.strictness,
        },
    )
    return _read(settings, row)
