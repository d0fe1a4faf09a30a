"""Personas: how each tenant's assistant presents itself. Exactly one is the default."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.errors import Conflict, NotFound
from bob.events import outbox
from bob.pagination import Cursor, Page
from bob.personas.models import Persona
from bob.tenants.models import Tenant

DEFAULT_PERSONA = {
    "name": "Bob",
    "description": "The front-office assistant.",
    "tone": "friendly and concise",
    "system_prompt": (
        "You are the front-office assistant of this business. Answer visitors' questions "
        "from the business's own information, briefly and warmly. When you do not know, "
        "say so and offer to connect the visitor with a person from the team."
    ),
}
_FIELDS = ("name", "description", "tone", "system_prompt")


async def create_default(*, session: AsyncSession, tenant_id: uuid.UUID) -> Persona:
    persona = Persona(tenant_id=tenant_id, is_default=True, **DEFAULT_PERSONA)
    session.add(persona)
    await session.flush()
    return persona


async def get_persona(
    *, session: AsyncSession, tenant_id: uuid.UUID, persona_id: uuid.UUID
) -> Persona:
    persona = await session.scalar(
        select(Persona).where(Persona.id == persona_id, Persona.tenant_id == tenant_id)
    )
    if persona is None:
        raise NotFound(f"no persona {persona_id}")
    return persona


async def get_default(*, session: AsyncSession, tenant_id: uuid.UUID) -> Persona | None:
    return await session.scalar(
        select(Persona).where(Persona.tenant_id == tenant_id, Persona.is_default.is_(True))
    )


async def list_personas(
    *, session: AsyncSession, tenant_id: uuid.UUID, limit: int, cursor: Cursor | None
) -> Page[Persona]:
    query = select(Persona).where(Persona.tenant_id == tenant_id)
    if cursor is not None:
        query = query.where(Persona.id > cursor.as_uuid("id"))
    rows = list((await session.scalars(query.order_by(Persona.id).limit(limit + 1))).all())
    return Page.of(rows, limit=limit, cursor_for=lambda p: {"id": str(p.id)})


async def _changed(
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    action: str,
    persona: Persona,
    **data: object,
) -> None:
    await audit.record(session, tenant.id, actor, action, target=("persona", persona.id), data=data)
    await outbox.emit(
        session=session,
        tenant=tenant,
        type="persona.updated",
        data={
            "persona": {
                "id": str(persona.id),
                "name": persona.name,
                "is_default": persona.is_default,
                "change": action.removeprefix("persona."),
            }
        },
    )


async def create_persona(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    name: str,
    description: str,
    tone: str,
    system_prompt: str,
) -> Persona:
    persona = Persona(
        tenant_id=tenant.id,
        name=name.strip(),
        description=description,
        tone=tone,
        system_prompt=system_prompt,
        is_default=False,
    )
    session.add(persona)
    await session.flush()
    await _changed(session, tenant, actor, "persona.created", persona, name=persona.name)
    return persona


async def update_persona(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    persona_id: uuid.UUID,
    changes: dict[str, str],
) -> Persona:
    persona = await get_persona(session=session, tenant_id=tenant.id, persona_id=persona_id)
    changed = {k: v for k, v in changes.items() if k in _FIELDS and getattr(persona, k) != v}
    if not changed:
        return persona
    for key, value in changed.items():
        setattr(persona, key, value.strip() if key == "name" else value)
    await session.flush()
    await _changed(session, tenant, actor, "persona.updated", persona, fields=sorted(changed))
    return persona


async def make_default(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    persona_id: uuid.UUID,
) -> Persona:
    persona = await get_persona(session=session, tenant_id=tenant.id, persona_id=persona_id)
    if persona.is_default:
        return persona
    # Clear the old default first: the partial unique index allows one per tenant at any moment.
    await session.execute(
        update(Persona)
        .where(Persona.tenant_id == tenant.id, Persona.is_default.is_(True))
        .values(is_default=False)
    )
    persona.is_default = True
    await session.flush()
    await _changed(session, tenant, actor, "persona.default_set", persona)
    return persona


async def delete_persona(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    persona_id: uuid.UUID,
) -> None:
    persona = await get_persona(session=session, tenant_id=tenant.id, persona_id=persona_id)
    if persona.is_default:
        raise Conflict(
            "the default persona cannot be deleted; make another one the default first",
            code="default_persona",
        )
    await _changed(session, tenant, actor, "persona.deleted", persona)
    await session.delete(persona)
    await session.flush()
