from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep
from bob.openapi import problems
from bob.pagination import PageDep
from bob.personas import service as personas
from bob.personas.schemas import PersonaCreate, PersonaPage, PersonaRead, PersonaUpdate

router = APIRouter(tags=["personas"])
Reader = Annotated[Principal, Require(Permission.CHAT_READ)]
Manager = Annotated[Principal, Require(Permission.PERSONA_MANAGE)]


@router.get("/api/personas")
async def list_personas(principal: Reader, session: SessionDep, page: PageDep) -> PersonaPage:
    result = await personas.list_personas(
        session=session, tenant_id=principal.tenant_id, limit=page.limit, cursor=page.cursor
    )
    return PersonaPage(
        items=[PersonaRead.model_validate(p) for p in result.items],
        next_cursor=result.next_cursor,
    )


@router.post("/api/personas", status_code=status.HTTP_201_CREATED)
async def create_persona(
    body: PersonaCreate,
    principal: Manager,
    session: SessionDep,
) -> PersonaRead:
    persona = await personas.create_persona(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        name=body.name,
        description=body.description,
        tone=body.tone,
        system_prompt=body.system_prompt,
    )
    return PersonaRead.model_validate(persona)


@router.get("/api/personas/{persona_id}")
async def get_persona(persona_id: uuid.UUID, principal: Reader, session: SessionDep) -> PersonaRead:
    persona = await personas.get_persona(
        session=session, tenant_id=principal.tenant_id, persona_id=persona_id
    )
    return PersonaRead.model_validate(persona)


@router.patch("/api/personas/{persona_id}")
async def update_persona(
    persona_id: uuid.UUID,
    body: PersonaUpdate,
    principal: Manager,
    session: SessionDep,
) -> PersonaRead:
    persona = await personas.update_persona(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        persona_id=persona_id,
        changes=body.model_dump(exclude_none=True),
    )
    return PersonaRead.model_validate(persona)


@router.delete(
    "/api/personas/{persona_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(409),
)
async def delete_persona(
    persona_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
) -> Response:
    await personas.delete_persona(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        persona_id=persona_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/personas/{persona_id}/default")
async def make_default(
    persona_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
) -> PersonaRead:
    persona = await personas.make_default(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        persona_id=persona_id,
    )
    return PersonaRead.model_validate(persona)
